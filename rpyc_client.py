#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["rpyc==6.0.2"]
# ///
"""Pass a file object and a callback function to an RPyC server.

Start rpyc_server.py first. The server reads the file through a proxy and
calls `noisy()` back for each line, so the "Noisy:" lines are printed here,
by the client. Counts a five-line text held in memory, or the UTF-8 text
file named on the command line.
"""

import argparse
import io

import rpyc

TEXT = 'Simple\nis\nbetter\nthan\ncomplex.\n'


def noisy(line):
    print('Noisy:', repr(line))


def open_text(path):
    return open(path, encoding='utf-8') if path else io.StringIO(TEXT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('path', nargs='?', help='a UTF-8 text file to count instead')
    args = parser.parse_args()
    # Let the server use every public attribute of what we pass, such as the
    # file's readlines(); by default rpyc allows only a safe few.
    config = {'allow_public_attrs': True}
    with rpyc.connect('localhost', 18861, config=config) as conn, open_text(args.path) as fileobj:
        count = conn.root.line_counter(fileobj, noisy)
    print('The number of lines in the file was', count)


if __name__ == '__main__':
    main()

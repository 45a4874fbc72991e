#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["rpyc==6.0.2"]
# ///
"""Pass a file object and a callback function to an RPyC server.

Start rpyc_server.py first. The server reads the file through a proxy and
calls `noisy()` back for each line, so the "Noisy:" lines are printed here,
by the client. It counts the lines of the book's testfile.txt, held here in
memory, or of the UTF-8 text file named on the command line.
"""

import io
import sys

import rpyc

TESTFILE = 'Simple\nis\nbetter\nthan\ncomplex.\n'


def main():
    # Let the server use every public attribute of what we pass, such as the
    # file's readlines(); by default rpyc allows only the few it deems safe.
    config = {'allow_public_attrs': True}
    with rpyc.connect('localhost', 18861, config=config) as proxy, testfile() as fileobj:
        linecount = proxy.root.line_counter(fileobj, noisy)
    print('The number of lines in the file was', linecount)


def noisy(string):
    print('Noisy:', repr(string))


def testfile():
    """The UTF-8 text file named on the command line, else the book's testfile.txt, in memory."""
    if len(sys.argv) > 1:
        return open(sys.argv[1], encoding='utf-8')
    return io.StringIO(TESTFILE)


if __name__ == '__main__':
    main()

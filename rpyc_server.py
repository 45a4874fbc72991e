#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["rpyc==6.0.2"]
# ///
"""An RPyC server whose service calls back into the client that invoked it.

It listens on localhost:18861, with a thread for each client.
"""

import rpyc


def main():
    from rpyc.utils.server import ThreadedServer

    t = ThreadedServer(MyService, hostname='localhost', port=18861)  # this machine only
    t.start()


class MyService(rpyc.Service):
    def exposed_line_counter(self, fileobj, function):
        """Call `function(line)` for each line of `fileobj`, and return how many lines it has."""
        print('Client has invoked exposed_line_counter()', flush=True)
        linenum = -1  # an empty file never enters the loop: it counts 0 lines
        # fileobj is a proxy: readlines() runs on the client, which keeps the list
        # and sends each line as the loop asks for it
        for linenum, line in enumerate(fileobj.readlines()):
            function(line)  # a call back to the client
        return linenum + 1


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""An RPyC server whose service calls back into the client that invoked it.

It listens on localhost:18861 (reachable from this machine only) and serves
each client in a thread of its own. Clients reach only the `exposed_` methods.
"""

import rpyc
from rpyc.utils.server import ThreadedServer


class LineCounter(rpyc.Service):
    def exposed_line_counter(self, fileobj, function):
        """Call `function(line)` for each line of `fileobj`; return how many."""
        print('Client has invoked exposed_line_counter()', flush=True)
        # fileobj is a proxy: readlines() runs on the client, and the list it
        # returns stays there, each line fetched as the loop asks for it.
        lines = fileobj.readlines()
        for line in lines:
            function(line)  # a call back to the client
        return len(lines)


def main():
    server = ThreadedServer(LineCounter, hostname='localhost', port=18861)
    server.start()  # Ctrl-C: rpyc prints "keyboard interrupt!" and returns


if __name__ == '__main__':
    main()

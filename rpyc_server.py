#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["rpyc==6.0.2"]
# ///
"""An RPyC server whose service calls back into the client that invoked it.

It listens on localhost:18861 (this machine only), a thread for each client.
A client may call the service's `exposed_` method, what every rpyc.Service
offers (its name and aliases), and the few special methods rpyc deems safe.
Out of file descriptors or threads, it logs why and goes on."""

import os
import time

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


class PatientServer(ThreadedServer):
    def accept(self):
        # rpyc turns a failed accept() (EMFILE: no file descriptor left; ECONNABORTED
        # on BSD and macOS) into EOFError, which makes start() return without a word.
        try:
            super().accept()
        except EOFError as error:  # its __context__: the OSError rpyc was handling
            print('accept() failed:', error.__context__, flush=True)
            time.sleep(0.1)  # then start() calls accept() again

    def _accept_method(self, sock):
        # rpyc starts the client's thread here; an error, if it cannot, would end start()
        try:
            super()._accept_method(sock)
        except (RuntimeError, MemoryError) as error:  # "can't start new thread", or no memory
            print('client turned away:', str(error) or 'out of memory', flush=True)
            self.clients.discard(sock)  # the connections rpyc closes on exit
            sock.close()  # and on to the next client at once


def main():
    server = PatientServer(LineCounter, hostname='localhost', port=18861)
    server.start()  # Ctrl-C: rpyc logs "keyboard interrupt!" and returns
    # Python's own exit can abort while a daemon thread writes stdout or stderr.
    os._exit(0)  # so leave at once (the empty line rpyc printed may go unwritten)


if __name__ == '__main__':
    main()

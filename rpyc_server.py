#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["rpyc==6.0.2"]
# ///
"""An RPyC server whose service calls back into the client that invoked it.

It listens on localhost:18861 (this machine only), a thread per client. A client may call
the `exposed_` method, get_service_name(), get_service_aliases() and what rpyc deems safe."""

import os
import signal
import time

import rpyc
from rpyc.utils.server import ThreadedServer


class LineCounter(rpyc.Service):
    def exposed_line_counter(self, fileobj, function):
        """Call `function(line)` for each line of `fileobj`; return how many."""
        print('Client has invoked exposed_line_counter()', flush=True)
        # fileobj is a proxy: readlines() runs on the client, which keeps the list
        lines = fileobj.readlines()  # and sends each line as the loop asks for it
        for line in lines:
            function(line)  # a call back to the client
        return len(lines)


class PatientServer(ThreadedServer):
    def accept(self):  # rpyc makes a failed accept() an EOFError, which would end start()
        try:
            super().accept()
        except EOFError as error:  # its __context__: the OSError rpyc was handling
            print('accept() failed:', error.__context__, flush=True)
            time.sleep(0.1)  # then start() calls accept() again

    def _accept_method(self, sock):  # starts the client's thread; an error would end start()
        try:
            super()._accept_method(sock)
        except (RuntimeError, MemoryError) as error:  # "can't start new thread", or no memory
            print('client turned away:', str(error) or 'out of memory', flush=True)
            self.clients.discard(sock)  # rpyc's set of the sockets it serves
            sock.close()  # and on to the next client at once


def stop(signum, frame):
    # Ctrl-C. rpyc's own stop would close each client's socket under its thread, which
    # then logs a traceback, and Python's own exit can abort while a thread writes a log.
    os.write(2, b'Server stopped\n')  # to stderr, past Python's buffers and their locks
    os._exit(0)  # and out at once


def main():
    signal.signal(signal.SIGINT, stop)
    PatientServer(LineCounter, hostname='localhost', port=18861).start()


if __name__ == '__main__':
    main()

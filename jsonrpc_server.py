#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["jsonrpclib-pelix==1.2.0"]
# ///
"""A JSON-RPC server built with the third-party jsonrpclib-pelix package.

It offers one function at http://localhost:7002 (reachable from this machine
only), answering each connection in a thread of its own.
"""

import os
import socketserver
import time

from jsonrpclib.SimpleJSONRPCServer import SimpleJSONRPCServer


class ThreadingJSONRPCServer(socketserver.ThreadingMixIn, SimpleJSONRPCServer):
    daemon_threads = True  # a client that never hangs up cannot block the exit
    request_queue_size = 64  # many clients may connect at the same moment

    def get_request(self):  # socketserver ignores a failed accept() and tries again at once
        try:
            return super().get_request()
        except OSError as error:  # no file descriptor left for the client, say
            print('accept() failed:', error, flush=True)
            time.sleep(0.1)  # a rest before the next try, rather than a busy loop
            raise


def lengths(*args):
    """Return `[len(arg), arg]` for each argument, or `[None, arg]` if it has no length."""
    results = []
    for arg in args:
        try:
            results.append([len(arg), arg])
        except TypeError:
            results.append([None, arg])
    return results


def main():
    server = ThreadingJSONRPCServer(('localhost', 7002))
    server.register_function(lengths)
    print('Starting server', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print('Server stopped', flush=True)
        os._exit(0)  # Python's own exit can abort while a daemon thread writes stderr


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["jsonrpclib-pelix==1.2.0"]
# ///
"""A JSON-RPC server built with the third-party jsonrpclib-pelix package, on localhost:7002."""

import socketserver

from jsonrpclib.SimpleJSONRPCServer import SimpleJSONRPCServer


class ThreadingJSONRPCServer(socketserver.ThreadingMixIn, SimpleJSONRPCServer):
    daemon_threads = True  # a thread for each connection; Ctrl-C waits for none of them


def lengths(*args):
    """Pair each argument with its length: `(len(arg), arg)`, or `(None, arg)` if it has none."""
    results = []
    for arg in args:
        try:
            arglen = len(arg)
        except TypeError:
            arglen = None
        results.append((arglen, arg))
    return results


def main():
    server = ThreadingJSONRPCServer(('localhost', 7002))
    server.register_function(lengths)
    print('Starting server', flush=True)  # now: in a file, a buffered line is lost to kill
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
        print('Server stopped')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""The Standard Library's XML-RPC server, with introspection and multicall, on 127.0.0.1:7001."""

import functools
import math
import operator
import os
import socketserver
import time
from xmlrpc.server import SimpleXMLRPCServer


class ThreadingXMLRPCServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True  # a client that never hangs up cannot block the exit
    request_queue_size = 64  # many clients may connect at the same moment

    def get_request(self):  # socketserver ignores a failed accept() and tries again at once
        try:
            return super().get_request()
        except OSError as error:  # no file descriptor left for the client, say
            print('accept() failed:', error, flush=True)
            time.sleep(0.1)  # a rest before the next try, rather than a busy loop
            raise


def addtogether(*things):
    """Add together everything in the list `things`."""
    return functools.reduce(operator.add, things)


def quadratic(a, b, c):
    """Determine `x` values satisfying: `a` * x*x + `b` * x + c == 0"""
    if b * b < 4 * a * c:  # no real roots: the chapter's error, which 3.14 reworded
        raise ValueError('math domain error')
    # No nearly equal numbers are subtracted, which loses digits: q / a, c / q are the roots.
    q = -(b + math.copysign(math.sqrt(b * b - 4 * a * c), b)) / 2
    return sorted({q / a + 0.0, c / q + 0.0 if q else 0.0})  # + 0.0 turns -0.0 into 0.0


def remote_repr(arg):
    """Return the `repr()` rendering of the supplied `arg`."""
    return repr(arg)


def main():
    server = ThreadingXMLRPCServer(('127.0.0.1', 7001))
    server.register_introspection_functions()
    server.register_multicall_functions()
    for function in (addtogether, quadratic, remote_repr):
        server.register_function(function)
    print('Server ready', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print('Server stopped', flush=True)
        os._exit(0)  # Python's own exit can abort while a daemon thread writes stderr


if __name__ == '__main__':
    main()

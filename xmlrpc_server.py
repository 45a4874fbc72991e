#!/usr/bin/env python3
"""An XML-RPC server built on the Standard Library's xmlrpc.server.

It offers three functions, plus the introspection and multicall functions
under `system.`, at http://127.0.0.1:7001 (reachable from this machine only).
Each connection is answered in a thread of its own, so a slow or idle client
cannot keep the others waiting.
"""

import functools
import math
import operator
import socketserver
from xmlrpc.server import SimpleXMLRPCServer


class ThreadingXMLRPCServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True  # a client that never hangs up cannot block the exit
    request_queue_size = 64  # many clients may connect at the same moment


def addtogether(*things):
    """Add together everything in the list `things`."""
    return functools.reduce(operator.add, things)


def quadratic(a, b, c):
    """Determine `x` values satisfying: `a` * x*x + `b` * x + c == 0"""
    discriminant = b * b - 4 * a * c
    if discriminant < 0:
        # No real roots. math.sqrt() of a negative number raises ValueError,
        # worded differently since Python 3.14: raise the chapter's wording.
        raise ValueError('math domain error')
    root = math.sqrt(discriminant)
    return sorted({(-b - root) / (2 * a), (-b + root) / (2 * a)})


def remote_repr(arg):
    """Return the `repr()` rendering of the supplied `arg`."""
    return repr(arg)


def main():
    with ThreadingXMLRPCServer(('127.0.0.1', 7001)) as server:
        server.register_introspection_functions()
        server.register_multicall_functions()
        server.register_function(addtogether)
        server.register_function(quadratic)
        server.register_function(remote_repr)
        print('Server ready', flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print('Server stopped')


if __name__ == '__main__':
    main()

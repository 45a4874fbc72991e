#!/usr/bin/env python3
"""The Standard Library's XML-RPC server, with introspection and multicall, on 127.0.0.1:7001."""

import math
import operator
import socketserver
from functools import reduce
from xmlrpc.server import SimpleXMLRPCServer


class ThreadingXMLRPCServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True  # a thread for each connection; Ctrl-C waits for none of them


def main():
    server = ThreadingXMLRPCServer(('127.0.0.1', 7001))
    server.register_introspection_functions()
    server.register_multicall_functions()
    server.register_function(addtogether)
    server.register_function(quadratic)
    server.register_function(remote_repr)
    print('Server ready', flush=True)  # now: in a file, a buffered line is lost to kill
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
        print('Server stopped')


def addtogether(*things):
    """Add together everything in the list `things`."""
    return reduce(operator.add, things)


def quadratic(a, b, c):
    """Determine `x` values satisfying: `a` * x*x + `b` * x + c == 0"""
    if b * b < 4.0 * a * c:  # no real roots: in math.sqrt()'s words before Python 3.14
        raise ValueError('math domain error')
    b24ac = math.sqrt(b * b - 4.0 * a * c)
    return list({(-b - b24ac) / (2.0 * a), (-b + b24ac) / (2.0 * a)})  # each root once


def remote_repr(arg):
    """Return the `repr()` rendering of the supplied `arg`."""
    return repr(arg)


if __name__ == '__main__':
    main()

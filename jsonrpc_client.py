#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["jsonrpclib-pelix==1.2.0"]
# ///
"""Call the JSON-RPC server's `lengths()` with several kinds of argument.

Start jsonrpc_server.py first. JSON has no tuples, so (1, 2, 3) comes back as
a list; a dict keeps the order in which it was written.
"""

from jsonrpclib import Server


def main():
    proxy = Server('http://localhost:7002')
    print(proxy.lengths((1, 2, 3), 27, {'Rigel': 0.12, 'Sirius': -1.46}))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Call the XML-RPC server's functions as if they were local Python functions.

Start xmlrpc_server.py first. The last call asks for something impossible:
the server's exception comes back as an xmlrpc.client.Fault, raised here.
"""

import xmlrpc.client


def main():
    proxy = xmlrpc.client.ServerProxy('http://127.0.0.1:7001')
    print(proxy.addtogether('x', 'ÿ', 'z'))
    print(proxy.addtogether(20, 30, 4, 1))
    print(proxy.quadratic(2, -16, 0))  # 2x² - 16x = 0: the roots 0 and 8
    print(proxy.quadratic(1, 2, 1))
    print(proxy.remote_repr((1, 2.0, 'three')))  # a tuple arrives as a list
    print(proxy.remote_repr([1, 2.0, 'three']))
    print(proxy.remote_repr({'data': {'age': 42, 'sex': 'M'}, 'name': 'Arthur'}))
    print(proxy.quadratic(1, 0, 1))  # x² + 1 = 0 has no real roots: a Fault


if __name__ == '__main__':
    main()

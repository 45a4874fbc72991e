#!/usr/bin/env python3
"""Send several XML-RPC calls to the server in a single HTTP request.

Start xmlrpc_server.py first. The calls are queued on a MultiCall object and
travel together when it is called; the answers come back in the same order.
"""

import xmlrpc.client


def main():
    proxy = xmlrpc.client.ServerProxy('http://127.0.0.1:7001')
    multicall = xmlrpc.client.MultiCall(proxy)
    multicall.addtogether('a', 'b', 'c')
    multicall.quadratic(2, -16, 0)  # 2x² - 16x = 0: the roots 0 and 8
    multicall.remote_repr([1, 2.0, 'three'])
    for answer in multicall():
        print(answer)


if __name__ == '__main__':
    main()

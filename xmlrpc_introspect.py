#!/usr/bin/env python3
"""Ask the XML-RPC server which functions it offers, and what each one does.

Start xmlrpc_server.py first. The `system.` functions answer the questions.
"""

import xmlrpc.client


def main():
    proxy = xmlrpc.client.ServerProxy('http://127.0.0.1:7001')

    print('Here are the functions supported by this server:')
    for method_name in proxy.system.listMethods():
        if method_name.startswith('system.'):
            continue

        signatures = proxy.system.methodSignature(method_name)
        if isinstance(signatures, list) and signatures:
            for signature in signatures:
                print(f'{method_name}({signature})')
        else:  # the Standard Library's server says 'signatures not supported'
            print(f'{method_name}(...)')

        method_help = proxy.system.methodHelp(method_name)
        if method_help:  # a function without a docstring has none
            print('  ', method_help)


if __name__ == '__main__':
    main()

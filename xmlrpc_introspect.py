#!/usr/bin/env python3
"""Ask the XML-RPC server which functions it offers, and what each one does.

Start xmlrpc_server.py first. The `system.` functions answer the questions.
"""

import xmlrpc.client


def main():
    proxy = xmlrpc.client.ServerProxy('http://127.0.0.1:7001')
    print('Here are the functions supported by this server:')
    for name in proxy.system.listMethods():
        if name.startswith('system.'):
            continue
        signatures = proxy.system.methodSignature(name)
        if isinstance(signatures, list) and signatures:  # each: [return type, *arg types]
            for types in signatures:
                print(f'{name}({", ".join(types[1:])}) -> {types[0]}')
        else:  # none given: the Standard Library's server says 'signatures not supported'
            print(f'{name}(...)')
        help_text = proxy.system.methodHelp(name)
        if help_text:  # a function without a docstring has none
            print('  ', help_text)


if __name__ == '__main__':
    main()

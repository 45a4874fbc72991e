"""What the tests share: the servers, how to call them, raw or not, and servers of a test's own."""

import contextlib
import io
import json
import os
import re
import socket
import threading
import time
import typing
import xmlrpc.client
from pathlib import Path

import jsonrpclib
import jsonrpclib.jsonrpc
import rpyc
from jsonrpclib import jsonlib

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = Path(__file__).resolve().parent / 'transcripts'
README = ROOT / 'README.md'
LINUX = os.uname().sysname == 'Linux'

# jsonrpclib-pelix writes JSON with the first of orjson, ujson, simplejson and cjson it can
# import, else with json (jsonrpclib/jsonlib.py: OrJsonHandler...); README says what each changes.
JSON_LIBRARY = type(jsonlib.get_handler()).__name__.replace('Handler', '').lower()
_SAMPLE = {'result': [0.12, None], 'id': 1}
STANDARD_JSON = jsonrpclib.jsonrpc.jdumps(_SAMPLE) == json.dumps(_SAMPLE)


class Protocol(typing.NamedTuple):
    """A server script, its port, and the line it logs as it starts (None: it prints none)."""

    name: str
    script: str
    port: int
    startup_line: typing.Optional[str]

    def __repr__(self):
        return self.name


PROTOCOLS = {
    'xmlrpc': Protocol('xmlrpc', 'xmlrpc_server.py', 7001, 'Server ready'),
    'jsonrpc': Protocol('jsonrpc', 'jsonrpc_server.py', 7002, 'Starting server'),
    'rpyc': Protocol('rpyc', 'rpyc_server.py', 18861, None),
}
XMLRPC_URL = 'http://127.0.0.1:7001'
JSONRPC_URL = 'http://localhost:7002'
EACH_PROTOCOL = {'argnames': 'protocol', 'argvalues': PROTOCOLS.values(), 'ids': repr}


def protocol_of(script):
    """The protocol whose server a script is, or talks to: 'rpyc_client.py' -> rpyc."""
    return PROTOCOLS[script.split('_')[0]]


# The request lines of http.server's log, as the transcripts show them.
TIMESTAMP = re.compile(r'\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\]')
XMLRPC_LOG_LINE = re.compile(rf'127\.0\.0\.1 - - {TIMESTAMP.pattern} "POST /RPC2 HTTP/1\.1" 200 -')


def rpyc_connect(port=PROTOCOLS['rpyc'].port, **config):
    """Connect as rpyc_client.py does: the server may read our file objects."""
    config = {'allow_public_attrs': True, 'sync_request_timeout': 10, **config}
    return rpyc.connect('localhost', port, config=config)


def ordinary_call(name, n=3):
    """Make one call like the clients' to the named server; check the answer."""
    if name == 'xmlrpc':
        assert xmlrpc.client.ServerProxy(XMLRPC_URL).addtogether(n, 1) == n + 1
    elif name == 'jsonrpc':
        assert jsonrpclib.ServerProxy(JSONRPC_URL).lengths('x' * n) == [[n, 'x' * n]]
    else:
        lines = []
        with rpyc_connect() as conn:
            assert conn.root.line_counter(io.StringIO(f'call {n}\nends\n'), lines.append) == 2
        assert lines == [f'call {n}\n', 'ends\n']


def port_accepts(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(condition, what, timeout=2, then=lambda: None):
    """Poll until condition() is true, calling then() between tries; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'{what} after {timeout} s'
        then()
        time.sleep(0.01)


def wait_for_port(port, alive=lambda: True, timeout=10):
    """Wait for the port to take connections; fail if alive() turns false meanwhile."""

    def listening():
        assert alive(), f'what was to listen on port {port} has ended'
        return port_accepts(port)

    wait_until(listening, f'nothing listens on port {port}', timeout)


# Raw requests: bytes as a client in another language would send them ----------


def http_request(path, body, method='POST', **headers):
    """An HTTP/1.1 request as bytes; header names from keywords: Content_Type=..."""
    headers = {'Host': '127.0.0.1', **headers}
    lines = [f'{method} {path} HTTP/1.1']
    lines += [f'{name.replace("_", "-")}: {value}' for name, value in headers.items()]
    return '\r\n'.join(lines).encode() + b'\r\n\r\n' + body


def post(path, body, content_type, **headers):
    """A POST of the body, with its Content-Type and Content-Length."""
    return http_request(path, body, Content_Type=content_type, Content_Length=len(body), **headers)


def xml_call(method, *params):
    """An XML-RPC call, as a POST, of values written out: xml_call('f', '<int>1</int>')."""
    values = ''.join(f'<param><value>{param}</value></param>' for param in params)
    text = f'<methodCall><methodName>{method}</methodName><params>{values}</params></methodCall>'
    return post('/RPC2', text.encode(), 'text/xml')


def json_call(params, method='lengths', **request):
    """A JSON-RPC 2.0 call of `method` with `params`, as a POST."""
    body = {'jsonrpc': '2.0', 'method': method, 'params': params, 'id': 1, **request}
    return post('/', json.dumps(body).encode(), 'application/json')


def exchange(port, data, timeout=10):
    """Send raw bytes to a port, stop sending, and return all that comes back."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return b''.join(iter(lambda: sock.recv(65536), b''))


def http_answer(answer):
    """(status, {header: value}, body) of a raw HTTP answer."""
    head, _, body = answer.partition(b'\r\n\r\n')
    status_line, *header_lines = head.decode('latin-1').split('\r\n')
    headers = dict(line.split(': ', 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


# Servers of a test's own ------------------------------------------------------


@contextlib.contextmanager
def serving(server):
    """Run a socketserver or rpyc server in a thread for the block, then close it:
    `with serving(SimpleXMLRPCServer(('127.0.0.1', 0))) as port: ...`"""
    rpyc_server = isinstance(server, rpyc.utils.server.Server)
    if rpyc_server:  # it listens once start() runs
        thread = threading.Thread(target=server.start)
        stop, port = server.close, server.port
    else:  # it listens already
        thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.01})
        stop, port = server.shutdown, server.server_address[1]
    thread.start()
    try:
        if rpyc_server:
            wait_for_port(port, thread.is_alive)
        yield port
    finally:
        stop()
        thread.join(timeout=10)
        if not rpyc_server:
            server.server_close()

"""Whom the servers and clients trust, as README's "Who else can call" and "What these
teaching servers leave out" say. Fake servers are the test's own, on loopback, closed after."""

import copy
import errno
import importlib
import io
import socket
import sys
import time
import xmlrpc.client

import pytest
import rpyc
from helpers import (
    PROTOCOLS,
    ROOT,
    exchange,
    http_answer,
    http_request,
    json_call,
    ordinary_call,
    post,
    rpyc_connect,
    serving,
    wait_until,
)
from jsonrpclib.SimpleJSONRPCServer import SimpleJSONRPCServer
from processes import run_script
from rpyc.utils.server import ThreadedServer

pytestmark = pytest.mark.slow

# One call to each HTTP server, with the headers a web page's script may send unasked.
PAGE = {'Origin': 'http://example.com'}
CALLS = {
    'xmlrpc': ('/RPC2', xmlrpc.client.dumps((2, 3), 'addtogether').encode(), b'<int>5</int>'),
    'jsonrpc': ('/', b'{"jsonrpc": "2.0", "id": 1, "method": "lengths", "params": ["abc"]}', b'3'),
}


@pytest.mark.parametrize('name', CALLS)
def test_a_web_page_can_make_a_call_but_not_read_its_answer(servers, name):
    """README: "Neither HTTP server checks `Content-Type`, `Origin` or `Host`: each runs the
    call and answers, with no `Access-Control-Allow-Origin` header" ... "which both servers
    refuse with a 501"."""
    port = servers[name].protocol.port
    path, body, result = CALLS[name]
    for host in ('127.0.0.1', 'rebound.example'):  # a name a page's site may point here
        status, headers, answer = http_answer(
            exchange(port, post(path, body, 'text/plain', Host=host, **PAGE))
        )
        assert (status, result in answer) == (200, True)
        assert not [header for header in headers if header.lower().startswith('access-control')]
    preflight = http_request(path, b'', 'OPTIONS', Access_Control_Request_Method='POST', **PAGE)
    assert http_answer(exchange(port, preflight))[0] == 501


@pytest.fixture
def localhost_is_ipv6_first(monkeypatch):
    """Resolve 'localhost' as where /etc/hosts names ::1 too: ::1 first, where IPv6 is asked."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, *args):
        found = real(host, port, family, *args)
        if host == 'localhost' and family in (0, socket.AF_INET6):
            ipv6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, '', ('::1', port, 0, 0))
            found = [ipv6] + [info for info in found if info[0] != socket.AF_INET6]
        return found

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    monkeypatch.syspath_prepend(str(ROOT))  # the clients, imported as modules


class Impostor(SimpleJSONRPCServer):
    """A JSON-RPC server with a `lengths()` of its own; it notes who comes."""

    def verify_request(self, request, client_address):
        self.came.append(client_address)
        return True


@pytest.mark.parametrize('script', ['jsonrpc_client', 'xmlrpc_multicall', 'rpyc_client'])
def test_where_localhost_is_ipv6_too_only_the_json_rpc_client_goes_there(
    servers, localhost_is_ipv6_first, capsys, monkeypatch, script
):
    """README: "`jsonrpc_client.py` tries `[::1]:7002` first, where `jsonrpc_server.py` does
    not listen: any user's program listening there gets the call, and answers it. The XML-RPC
    scripts name 127.0.0.1, and rpyc asks for IPv4 addresses only"."""
    name = script.split('_')[0]
    servers[name]  # the real server, on 127.0.0.1
    try:
        impostor = Impostor(
            ('::1', PROTOCOLS[name].port), logRequests=False, address_family=socket.AF_INET6
        )
    except OSError as error:
        if error.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise
        pytest.skip(f'[::1] cannot be bound here ({error}): no IPv6 loopback to try')
    impostor.came = []
    impostor.register_function(lambda *args: 'not yours', 'lengths')
    monkeypatch.setattr(sys, 'argv', [f'{script}.py'])
    with serving(impostor):
        importlib.import_module(script).main()
    printed = capsys.readouterr().out
    assert (bool(impostor.came), printed == 'not yours\n') == ((name == 'jsonrpc',) * 2)


def fake_line_counter(act):
    """A service whose line_counter(fileobj, function) is act(fileobj, function)."""

    class MyService(rpyc.Service):
        def exposed_line_counter(self, fileobj, function):
            return act(fileobj, function)

    return MyService


def attempt(what):
    """What `what()` gives, or its exception's first line."""
    try:
        return what()
    except Exception as error:
        return str(error).splitlines()[0]


class ShownAs:
    def __init__(self, text):
        self.text = text

    def __repr__(self):  # made where the object is: here, the fake server
        return self.text


RED, PLAIN = '\x1b[31m', '\x1b[0m'
CODE = ('__globals__', '__code__', '__closure__')  # the ways to a function's code, and beyond


@pytest.mark.stops_server
def test_a_fake_rpyc_server_reads_and_prints_but_reaches_no_further(servers, tmp_path):
    """README: "At rpyc's defaults it cannot reach the client's other files or run code there,
    but it reads the text it is handed, chooses what the client prints, escape sequences
    included, and can end it"."""
    servers.stop('rpyc')  # rpyc_client.py calls port 18861: the fake takes it first
    notes = tmp_path / 'notes.txt'
    notes.write_text('mine\n', encoding='utf-8')
    tried = {}

    def act(fileobj, function):
        for name in CODE:
            tried[name] = attempt(lambda name=name: getattr(function, name))
        tried['read'] = list(fileobj.readlines())
        tried['write'] = attempt(lambda: fileobj.write('rewritten\n'))
        function(ShownAs(f'{RED}red{PLAIN}'))  # noisy() prints its repr(), made here
        raise SystemExit(3)  # rebuilt and raised in the client

    server = ThreadedServer(fake_line_counter(act), hostname='localhost', port=18861)
    with serving(server):
        run = run_script('rpyc_client.py', str(notes), cwd=tmp_path)
    refused = {name: f"cannot access '{name}'" for name in CODE}
    assert tried == {**refused, 'read': ['mine\n'], 'write': 'not writable'}
    assert notes.read_text(encoding='utf-8') == 'mine\n'
    printed = f'Noisy: {RED}red{PLAIN}\n'.encode()
    assert (run.returncode, run.stdout, run.stderr) == (3, printed, b'')


class Payload:
    def __reduce__(self):  # what unpickling it does, on the side that copies a proxy of it
        return print, ('run on the copying side',)


def test_copying_a_proxy_runs_code_the_other_side_chose(capsys):
    """README: "Never `copy.copy()` or `copy.deepcopy()` a proxy from a side you do not trust:
    rpyc 6.0.2 then unpickles what that side sends, whatever `allow_pickle` says"."""
    service = fake_line_counter(lambda fileobj, function: Payload())
    config = {'allow_pickle': True}  # on the fake's side: what it sends is its choice
    fake = ThreadedServer(service, hostname='127.0.0.1', port=0, protocol_config=config)
    with serving(fake) as port, rpyc.connect('127.0.0.1', port) as conn:
        proxy = conn.root.line_counter(io.StringIO('one\n'), print)
        assert conn._config['allow_pickle'] is False  # this side's, rpyc's default
        copy.copy(proxy), copy.deepcopy(proxy)
    assert capsys.readouterr().out == 'run on the copying side\n' * 2


FORGED = '127.0.0.1 - - [01/Jan/2000 00:00:00] "POST / HTTP/1.1" 200 -'
CLEAR_SCREEN = '\x1b[2J'


def wait_for_a_log_line(server, ending):
    logged = server.log_lines
    wait_until(
        lambda: any(line.endswith(ending) for line in logged()), f'no {ending!r} in the log'
    )


def test_a_client_writes_what_it_likes_into_server_log(servers):
    """README: "jsonrpclib-pelix logs an unknown method's name as it came: a name holding a
    newline adds a request line that never happened, and an escape sequence acts on your
    terminal ... `http.server`'s own lines escape such characters"; and, of the errors it
    sends back, "`server.log` notes `Unknown method: <Fault -32601: ...>`"."""
    server = servers['jsonrpc']
    port = server.protocol.port
    exchange(port, json_call([], method=f'x\n{FORGED}\n{CLEAR_SCREEN}x'))
    wait_for_a_log_line(server, FORGED)
    assert 'Unknown method: <Fault -32601: Method x' in server.log_lines()
    assert f'\n{CLEAR_SCREEN}x' in server.log()  # raw: `cat server.log` clears the screen
    exchange(port, http_request(f'/{CLEAR_SCREEN}', b'', 'GET'))
    wait_for_a_log_line(server, r'"GET /\x1b[2J HTTP/1.1" 501 -')  # escaped


def test_an_rpyc_call_must_end_within_the_timeout_callbacks_included(servers):
    """README: "The call, callbacks included, must end within rpyc's `sync_request_timeout` of
    30 seconds, or it raises `TimeoutError: result expired`"; here 0.3 s, and the server at
    work meanwhile."""
    assert rpyc.core.protocol.DEFAULT_CONFIG['sync_request_timeout'] == 30
    assert 'sync_request_timeout' not in (ROOT / 'rpyc_client.py').read_text()
    servers['rpyc']
    timeout, called = 0.3, []

    def slow(line):
        called.append(line)
        if len(called) == 1:  # the window: this first callback outlasts the call's time
            time.sleep(timeout)

    with rpyc_connect(sync_request_timeout=timeout) as conn:
        with pytest.raises(TimeoutError, match='^result expired$'):
            conn.root.line_counter(io.StringIO('one\ntwo\nthree\n'), slow)
        assert called == ['one\n']  # the server has two lines to go
        # It goes on asking for them: serve its requests.
        wait_until(lambda: len(called) == 3, 'the server still calls back', 5, conn.serve)
    ordinary_call('rpyc')  # and it answers the next client

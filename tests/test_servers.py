"""The servers as a reader runs them: who can reach them, what bad input and
silent clients do to them, and how they stop."""

import contextlib
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import rpyc
from helpers import (
    EACH_PROTOCOL,
    LINUX,
    PROTOCOLS,
    exchange,
    http_answer,
    http_request,
    json_call,
    ordinary_call,
    post,
    xml_call,
)
from processes import Server, run_script, script_env
from readme import assert_matches
from rpyc.utils.server import ThreadedServer
from sessions import TRACEBACK, without_readers_warnings

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not LINUX, reason='only Linux answers on all of 127.0.0.0/8')
@pytest.mark.parametrize(**EACH_PROTOCOL)
def test_a_server_listens_on_this_machine_alone(protocol, servers):
    """README: "listen on this machine alone"; 127.0.0.2 is loopback too, where a server
    listening on every interface (0.0.0.0) would answer."""
    servers[protocol.name]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.2', protocol.port), timeout=1).close()
    socket.create_connection(('127.0.0.1', protocol.port), timeout=1).close()


def test_rpyc_listens_on_every_interface_unless_told():
    """README: the book's RPyC server listened on "every network interface"."""
    server = ThreadedServer(rpyc.VoidService, port=0)
    try:
        assert server.listener.getsockname()[0] in ('0.0.0.0', '::')
    finally:
        server.close()


NOISE = random.Random(18).randbytes(4096)
LAUGHS = ''.join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10 if n else "lol"}">' for n in range(10))
BAD_INPUT = {  # what each server answers: any HTTP error, a fault, a JSON-RPC error code
    'xmlrpc': {
        'random bytes': (NOISE, 'HTTP error'),
        'no Content-Length': (http_request('/RPC2', b'<x/>'), 'HTTP error'),
        'invalid XML': (post('/RPC2', b'<methodCall><methodName>', 'text/xml'), 'fault'),
        'wrong types': (xml_call('quadratic', *['<string>a</string>'] * 3), 'fault'),
        'billion laughs': (
            post('/RPC2', f'<!DOCTYPE x [{LAUGHS}]><x>&l9;</x>'.encode(), 'text/xml'),
            'fault',
        ),
    },
    'jsonrpc': {
        'random bytes': (NOISE, 'HTTP error'),
        'no Content-Length': (http_request('/', b'{}'), 'HTTP error'),
        'invalid JSON': (post('/', b'{"jsonrpc": "2.0", "method"', 'application/json'), -32700),
        'params of the wrong type': (json_call(5), -32600),
    },
    'rpyc': {
        'random bytes': (NOISE, 'closed'),
        'a frame of random bytes': (struct.pack('!LB', 40, 0) + NOISE[:40], 'closed'),
    },
}


def outcome(answer):
    """What a raw answer amounts to: 'closed', 'HTTP error', 'fault', a JSON-RPC error code.
    (Which HTTP error is http.server's business, and no promise of these scripts.)"""
    if not answer:
        return 'closed'
    if not answer.startswith(b'HTTP/'):  # http.server's answer to an unparsable request line
        assert re.search(rb'Error code: [45]\d\d', answer), answer
        return 'HTTP error'
    status, _, body = http_answer(answer)
    if status != 200:
        return 'HTTP error' if status >= 400 else status
    if body.startswith(b'<?xml'):
        return 'fault' if b'<fault>' in body else 'result'
    return json.loads(body).get('error', {}).get('code', 'result')


@pytest.mark.parametrize(
    'name, request_bytes, expected',
    [
        pytest.param(name, request, expected, id=f'{name}: {case}')
        for name, cases in BAD_INPUT.items()
        for case, (request, expected) in cases.items()
    ],
)
def test_bad_input_gets_an_error_and_the_server_answers_the_next_call(
    servers, name, request_bytes, expected
):
    """README: "sends each server malformed requests, which must get an error"."""
    assert outcome(exchange(servers[name].protocol.port, request_bytes)) == expected
    started = time.monotonic()
    ordinary_call(name)
    assert time.monotonic() - started < 2


SILENT = {  # a connection that says nothing, stops mid-line, or sends half a request
    'xmlrpc': [b'', b'POST /RPC2 HT', http_request('/RPC2', b'<methodCall>', Content_Length=100)],
    'jsonrpc': [b'', b'POST / HT', http_request('/', b'{"jsonrpc"', Content_Length=100)],
    'rpyc': [b'', b'\x00\x00', struct.pack('!LB', 100, 0) + b'x' * 10],
}


@pytest.mark.parametrize(**EACH_PROTOCOL)
def test_silent_clients_hold_up_no_one(protocol, servers):
    """README: in the book's HTTP servers "a client that connects and says nothing holds up
    all others"; here "a thread for each"; and "silent clients, which must hold up no one"."""
    servers[protocol.name]
    with contextlib.ExitStack() as stack:
        for sent in SILENT[protocol.name]:
            address = ('127.0.0.1', protocol.port)
            stack.enter_context(socket.create_connection(address)).sendall(sent)
        started = time.monotonic()
        ordinary_call(protocol.name)
        assert time.monotonic() - started < 0.5


STOPPED = {  # what Ctrl-C leaves in the log, warnings unset and as errors: all of it, or its end
    'xmlrpc': (['Server stopped'], ['Server stopped']),
    'jsonrpc': (['Server stopped'], ['Server stopped']),
    'rpyc': (['keyboard interrupt!', ''], ['', TRACEBACK, '...', 'DeprecationWarning: The ...']),
}


def stop_with(signum, server, silent_client=True):
    """Send `signum` to a server (a silent client connected, which must not keep it from
    stopping, or none, to hide nothing left unclosed); return its status and later log."""
    with contextlib.ExitStack() as connected:
        if silent_client:
            connected.enter_context(socket.create_connection(('127.0.0.1', server.protocol.port)))
        ordinary_call(server.protocol.name)  # answered: the silent client has been taken on
        logged_before = len(server.log_lines())
        started = time.monotonic()
        server.process.send_signal(signum)
        returncode = server.process.wait(timeout=5)
        assert time.monotonic() - started < 1, 'the server took a second or more to stop'
    return returncode, server.log_lines()[logged_before:]


@pytest.mark.stops_server
@pytest.mark.parametrize('warnings', ['', 'error'], ids=['warnings unset', 'warnings as errors'])
@pytest.mark.parametrize('silent_client', [True, False], ids=['a silent client', 'no client'])
@pytest.mark.parametrize(**EACH_PROTOCOL)
def test_ctrl_c_stops_a_server_with_what_readme_says(
    protocol, silent_client, warnings, servers, tmp_path
):
    """README: "Ctrl-C stops the HTTP servers with `Server stopped`, and rpyc's server with
    `keyboard interrupt!` and an empty line, or, with warnings as errors, a traceback"."""
    servers.stop(protocol.name)  # its port is this test's
    server = Server(protocol, tmp_path, env={**script_env(), 'PYTHONWARNINGS': warnings})
    try:
        server.wait_until_ready()
        returncode, logged = stop_with(signal.SIGINT, server, silent_client)
    finally:
        server.stop()
    assert_matches(STOPPED[protocol.name][bool(warnings)], logged, 'the log after Ctrl-C')
    assert returncode == (1 if warnings and protocol.name == 'rpyc' else 0)


@pytest.mark.stops_server
@pytest.mark.parametrize(**EACH_PROTOCOL)
def test_kill_stops_a_server_at_once_and_frees_its_port(protocol, servers):
    """README: "`kill` stops each at once, and silently"."""
    assert stop_with(signal.SIGTERM, servers[protocol.name]) == (-signal.SIGTERM, [])
    with socket.socket() as sock:  # as a new server would: fails if the port is held
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', protocol.port))


@pytest.mark.parametrize(**EACH_PROTOCOL)
def test_a_second_copy_exits_and_says_why(protocol, servers, tmp_path):
    """README: "the next fails with `OSError: [Errno 98] Address already in use`"."""
    servers[protocol.name]
    second = run_script(protocol.script, cwd=tmp_path)
    assert second.returncode == 1
    last = without_readers_warnings(second.stderr.decode().splitlines())[-1]
    assert last == f'OSError: [Errno {errno.EADDRINUSE}] {os.strerror(errno.EADDRINUSE)}'
    ordinary_call(protocol.name)  # the first copy still answers


def test_pgrep_af_lists_each_server_with_its_process_id(servers):
    """README: "`pgrep -af _server.py` ... lists the servers with their process IDs"."""
    if shutil.which('pgrep') is None:
        pytest.skip('pgrep is not installed here (Debian and Ubuntu: the procps package)')
    running = [servers[name].process for name in PROTOCOLS]
    found = subprocess.run(['pgrep', '-af', '_server.py'], capture_output=True, text=True)
    for server in running:
        assert f'{server.pid} {" ".join(server.args)}' in found.stdout.splitlines()


def test_a_line_left_in_pythons_buffer_is_lost_to_kill(tmp_path):
    """README: "the servers' own lines stayed in Python's buffer, which `kill` threw away";
    here a stand-in for the book's server, whose stdout is a file: it prints, then is killed."""
    book_like = 'import os, signal; print("Server ready"); os.kill(os.getpid(), signal.SIGTERM)'
    with open(tmp_path / 'server.log', 'wb') as log:
        command = [sys.executable, '-c', book_like]
        killed = subprocess.run(command, stdout=log, env=script_env(), timeout=10)
    assert (killed.returncode, (tmp_path / 'server.log').read_text()) == (-signal.SIGTERM, '')

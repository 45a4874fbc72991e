"""What the tests share: the servers and how to call them, running scripts
the way a reader does, and comparing shell sessions with real output."""

import difflib
import io
import os
import re
import socket
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

import jsonrpclib
import pytest
import rpyc

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = Path(__file__).resolve().parent / 'transcripts'


class Protocol:
    """A server script, its port, and the lines it logs on start and on Ctrl-C."""

    def __init__(self, name, script, port, startup_line, stop_line):
        self.name = name
        self.script = script
        self.port = port
        self.startup_line = startup_line  # None: the server prints nothing
        self.stop_line = stop_line  # the last line a Ctrl-C leaves in its log

    def __repr__(self):
        return self.name


PROTOCOLS = {
    p.name: p
    for p in [
        Protocol('xmlrpc', 'xmlrpc_server.py', 7001, 'Server ready', 'Server stopped'),
        Protocol('jsonrpc', 'jsonrpc_server.py', 7002, 'Starting server', 'Server stopped'),
        Protocol('rpyc', 'rpyc_server.py', 18861, None, 'keyboard interrupt!'),
    ]
}
XMLRPC_URL = 'http://127.0.0.1:7001'
JSONRPC_URL = 'http://localhost:7002'

# The request lines of http.server's log, as the transcripts show them.
TIMESTAMP = re.compile(r'\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\]')
XMLRPC_LOG_LINE = re.compile(rf'127\.0\.0\.1 - - {TIMESTAMP.pattern} "POST /RPC2 HTTP/1\.1" 200 -')
JSONRPC_LOG_LINE = re.compile(rf'127\.0\.0\.1 - - {TIMESTAMP.pattern} "POST / HTTP/1\.1" 200 -')


def rpyc_connect():
    """Connect as rpyc_client.py does: the server may read our file objects."""
    config = {'allow_public_attrs': True, 'sync_request_timeout': 10}
    return rpyc.connect('localhost', PROTOCOLS['rpyc'].port, config=config)


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


def reader_env():
    """This machine's environment without PYTHONUNBUFFERED, which readers lack."""
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    return env


def run_script(script, *args, cwd):
    """Run one of the project's scripts as a reader would, from the directory `cwd`."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        check=False,
        capture_output=True,
        cwd=cwd,
        env=reader_env(),
        timeout=30,
    )


def port_accepts(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def peak_rss_mb(pid):
    """The most memory the process has held at once (Linux's VmHWM), in MB."""
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    raise AssertionError(f'no VmHWM in /proc/{pid}/status')


# Shell sessions, as in the transcripts and README.md -----------------------


def parse_session(text):
    """Split a shell session into [(command, [output lines]), ...]."""
    steps = []
    for line in text.splitlines():
        if line.startswith('$ '):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f'output before any command: {line!r}')
    return steps


def _normalize(line):
    return TIMESTAMP.sub('[<time>]', line)


def lines_match(expected, actual):
    """Equal line by line, but for timestamps; a line `...` stands for one or more lines."""
    if not expected:
        return not actual
    if expected[0] == '...':
        return any(lines_match(expected[1:], actual[i:]) for i in range(1, len(actual) + 1))
    return (
        bool(actual)
        and _normalize(expected[0]) == _normalize(actual[0])
        and lines_match(expected[1:], actual[1:])
    )


def assert_lines(expected, actual, what):
    """Fail, showing expected against actual, unless the lines match."""
    if not lines_match(expected, actual):
        diff = difflib.unified_diff(expected, actual, 'expected', 'actual', lineterm='')
        pytest.fail(f'{what} is not what was expected:\n' + '\n'.join(diff), pytrace=False)

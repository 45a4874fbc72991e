"""What the tests share: the servers and how to call them, running scripts
the way a reader does, and comparing shell sessions with real output."""

import io
import json
import os
import re
import socket
import threading
import time
import xmlrpc.client
from pathlib import Path

import jsonrpclib
import jsonrpclib.jsonrpc
import psutil
import pytest
import rpyc
from jsonrpclib import jsonlib

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = Path(__file__).resolve().parent / 'transcripts'
README = ROOT / 'README.md'


CI = os.environ.get('CI') == 'true'

# jsonrpclib-pelix writes and reads JSON with the first of orjson, ujson,
# simplejson and cjson it can import, and with the json module only when it
# finds none (jsonrpclib/jsonlib.py); README says what each changes. The
# scripts are left as the chapter has them, rather than made to choose.
JSON_LIBRARY = {
    'OrJsonHandler': 'orjson',
    'UJsonHandler': 'ujson',
    'SimpleJsonHandler': 'simplejson',
    'CJsonHandler': 'cjson',
}.get(type(jsonlib.get_handler()).__name__, 'json')
_SAMPLE = {'result': [0.12, None], 'id': 1}
STANDARD_JSON = jsonrpclib.jsonrpc.jdumps(_SAMPLE) == json.dumps(_SAMPLE)
# What README's JSON-RPC prompt sessions show that each library changes.
JSON_CHANGES = {
    'orjson': {
        '2**100': 'refuses integers over 64 bits',
        "{1: 'H'": 'refuses integer dict keys',
        "b'\\x00": 'words its error about bytes otherwise',
        'verbose=True': 'writes JSON without spaces',
    },
    'ujson': {
        "b'\\x00": 'words its error about bytes otherwise',
        'verbose=True': 'writes JSON without spaces',
    },
    'simplejson': {"b'\\x00": 'words its error about bytes otherwise (it sends UTF-8 as text)'},
}


def json_library_changes(session):
    """Why this environment's JSON library makes a README session print otherwise, or None."""
    if 'jsonrpclib' not in session:
        return None
    changes = [
        why for shown, why in JSON_CHANGES.get(JSON_LIBRARY, {}).items() if shown in session
    ]
    if not changes:
        return None
    return f'jsonrpclib-pelix uses {JSON_LIBRARY} here, which ' + ', and '.join(changes)


def json_as_written_here(text):
    """README's text, with each line that is a JSON object written as jsonrpclib writes it."""
    if STANDARD_JSON:
        return text
    return re.sub(
        r'(?m)^\{".*\}$', lambda line: jsonrpclib.jsonrpc.jdumps(json.loads(line.group())), text
    )


def skip_unless_ci(reason):
    """Skip the test, saying why; under CI=true, where everything must run, fail it."""
    if CI:
        pytest.fail(f'{reason}, and CI=true: every test must run', pytrace=False)
    pytest.skip(reason)


class Protocol:
    """A server script, its port, and the lines it logs on start and on Ctrl-C."""

    def __init__(self, name, script, port, startup_line, stop_lines):
        self.name = name
        self.script = script
        self.port = port
        self.startup_line = startup_line  # None: the server prints nothing
        self.stop_lines = stop_lines  # what a Ctrl-C leaves in its log

    def __repr__(self):
        return self.name


PROTOCOLS = {
    p.name: p
    for p in [
        Protocol('xmlrpc', 'xmlrpc_server.py', 7001, 'Server ready', ['Server stopped']),
        Protocol('jsonrpc', 'jsonrpc_server.py', 7002, 'Starting server', ['Server stopped']),
        Protocol('rpyc', 'rpyc_server.py', 18861, None, ['Server stopped']),
    ]
}
XMLRPC_URL = 'http://127.0.0.1:7001'
JSONRPC_URL = 'http://localhost:7002'


def protocol_of(script):
    """The protocol whose server a script is, or talks to: 'rpyc_client.py' -> rpyc."""
    return PROTOCOLS[script.split('_')[0]]


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


def port_accepts(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(port, alive=lambda: True, timeout=10):
    """Wait for the port to take connections; fail if alive() turns false meanwhile."""
    deadline = time.monotonic() + timeout
    while not port_accepts(port):
        assert alive(), f'what was to listen on port {port} has ended'
        assert time.monotonic() < deadline, f'nothing listens on port {port} after {timeout} s'
        time.sleep(0.01)  # poll the port, not a guess at how long startup takes


def open_descriptors(pid):
    """How many files and sockets the process holds open."""
    return psutil.Process(pid).num_fds()


def cpu_seconds(pid):
    """The CPU time the process has used so far, user and system."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class PeakMemory:
    """The most resident memory a process is seen to hold, in MB, while in use.

        with PeakMemory(pid) as memory:
            ...                  # send the server something
        memory.peak_mb

    No portable call reads another process's peak (Linux keeps it in /proc
    only), so a thread samples the process's memory every millisecond. A
    spike that matters, hundreds of MB, takes far longer than that to fill.
    """

    def __init__(self, pid):
        self._process = psutil.Process(pid)
        self._done = threading.Event()
        self.peak_mb = self._rss_mb()

    def _rss_mb(self):
        return self._process.memory_info().rss / 2**20

    def _sample(self):
        while not self._done.wait(0.001):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())

"""What the tests share: the servers and how to call them, running scripts
the way a reader does, and comparing shell sessions with real output."""

import io
import os
import re
import socket
import xmlrpc.client
from pathlib import Path

import jsonrpclib
import rpyc

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = Path(__file__).resolve().parent / 'transcripts'
README = ROOT / 'README.md'


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


def open_descriptors(pid):
    """The numbers of the files and sockets the process holds open (Linux's /proc)."""
    return {int(fd) for fd in os.listdir(f'/proc/{pid}/fd')}


def peak_rss_mb(pid):
    """The most memory the process has held at once (Linux's VmHWM), in MB."""
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    raise AssertionError(f'no VmHWM in /proc/{pid}/status')


def cpu_seconds(pid):
    """The CPU time the process has used so far, user and system (Linux's /proc)."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

"""Fixtures that run the scripts the way a reader's shell runs them.

Each server starts as `python3 <script> &>server.log &` would start it: a
process of its own, stdout and stderr to a server.log, no PYTHONUNBUFFERED.
The three servers start together, once, and are shared by every test; a test
that stops one (marked `stops_server`) runs after the others, and the next
test that needs that server starts it again.
"""

import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

import jsonrpclib
import pytest
from helpers import (
    JSONRPC_URL,
    PROTOCOLS,
    ROOT,
    XMLRPC_URL,
    port_accepts,
    reader_env,
    rpyc_connect,
    run_script,
)

TEST_TIMEOUT = 60  # seconds: no single test may hang the run longer than this
START_TIMEOUT = 10  # seconds for a server to listen after it is launched
STARTUP_LINE_TIMEOUT = 2  # seconds for its startup line to reach server.log


def pytest_configure(config):
    socket.setdefaulttimeout(10)  # a call to a server that hangs fails, not waits
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A script's background job (as under CI) starts with SIGINT ignored,
        # and the servers we start would inherit that. A reader's server takes
        # Ctrl-C: catching SIGINT here hands the servers its default instead.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line('markers', 'slow: robustness tests; -m "not slow" skips them')
    config.addinivalue_line('markers', 'stops_server: ends the shared server; runs last')


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT, method='signal'))
    items.sort(key=lambda item: item.get_closest_marker('stops_server') is not None)


class Server:
    """A server script running in its own process, logging to server.log."""

    def __init__(self, protocol, directory):
        self.protocol = protocol
        self.log_path = directory / 'server.log'
        self.log_path.touch()
        self.process = None
        self.ready = False
        self.failure = None  # why it did not become ready, if it did not
        if port_accepts(protocol.port):
            port = protocol.port
            self.failure = f'port {port} is in use: is a server from an earlier run still going?'
            return
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / protocol.script)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
                env=reader_env(),
            )

    def stopped(self):
        """True once a server that was ready has exited (a test stopped it)."""
        return self.ready and self.process.poll() is not None

    def log(self):
        return self.log_path.read_bytes().decode('utf-8', 'backslashreplace')

    def log_lines(self):
        return self.log().splitlines()

    def wait_until_ready(self):
        """Wait for the port to accept and the startup line to reach the log."""
        if self.failure is None:
            self.failure = self._wait()
        if self.failure is not None:  # once is enough: later tests fail at once
            pytest.fail(self.failure, pytrace=False)

    def _wait(self):
        """Return None once the server is ready, or else what went wrong."""
        name, port = self.protocol.script, self.protocol.port
        deadline = time.monotonic() + START_TIMEOUT
        while not port_accepts(port):
            if self.process.poll() is not None:
                return (
                    f'{name} exited with status {self.process.returncode} before it '
                    f'listened on port {port}; {self.describe_log()}'
                )
            if time.monotonic() > deadline:
                return f'{name} did not listen on port {port} within {START_TIMEOUT} s'
            time.sleep(0.01)  # poll the port, not a guess at how long startup takes
        if self.protocol.startup_line is not None:
            deadline = time.monotonic() + STARTUP_LINE_TIMEOUT
            while self.protocol.startup_line not in self.log_lines():
                if time.monotonic() > deadline:
                    return (
                        f'{name} listens on port {port}, but {self.protocol.startup_line!r} '
                        f'did not reach server.log (is it flushed?); {self.describe_log()}'
                    )
                time.sleep(0.01)
        self.startup_log = self.log_lines()
        self.ready = True
        return None

    def describe_log(self):
        log = self.log()
        return f'its log:\n{log}' if log else 'its log is empty'

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Servers:
    """The running servers by protocol name; one is (re)started when needed."""

    def __init__(self, tmp_path_factory):
        self._tmp_path_factory = tmp_path_factory
        self._servers = {}

    def _launch(self, name):
        directory = self._tmp_path_factory.mktemp(f'{name}-server')
        self._servers[name] = Server(PROTOCOLS[name], directory)

    def __getitem__(self, name):
        if not self._servers:  # the first request launches all three at once
            for other in PROTOCOLS:
                if other != name:
                    self._launch(other)
        server = self._servers.get(name)
        if server is None or server.stopped():
            self._launch(name)
            server = self._servers[name]
        if not server.ready:
            server.wait_until_ready()
        return server

    def stop(self, name):
        """Stop the named server if it runs, so that a test may use its port."""
        if name in self._servers:
            self._servers[name].stop()

    def stop_all(self):
        for server in self._servers.values():
            server.stop()


@pytest.fixture(scope='session')
def servers(tmp_path_factory):
    running = Servers(tmp_path_factory)
    try:
        yield running
    finally:
        running.stop_all()


class ClientRun:
    """What one run of a client script printed, and what its server logged."""

    def __init__(self, completed, log_lines):
        self.returncode = completed.returncode
        self.stdout = completed.stdout.decode('utf-8').splitlines()
        self.stderr = completed.stderr.decode('utf-8').splitlines()
        self.log_lines = log_lines


@pytest.fixture(scope='session')
def run_client(servers, tmp_path_factory):
    """Run a client script once from a directory other than the project's.

    Runs are remembered: the transcripts and README.md show the same sessions,
    and both are checked against the one real run.
    """
    workdir = tmp_path_factory.mktemp('client-workdir')
    runs = {}

    def run(script, *args):
        if (script, args) not in runs:
            server = servers[script.split('_')[0]]
            logged_before = len(server.log_lines())
            completed = run_script(script, *args, cwd=workdir)
            # Each server logs a request before it answers it, so the log is
            # complete once the client has exited.
            runs[script, args] = ClientRun(completed, server.log_lines()[logged_before:])
        return runs[script, args]

    return run


@pytest.fixture
def xmlrpc_proxy(servers):
    servers['xmlrpc']
    return xmlrpc.client.ServerProxy(XMLRPC_URL)


@pytest.fixture
def jsonrpc_proxy(servers):
    servers['jsonrpc']
    return jsonrpclib.ServerProxy(JSONRPC_URL)


@pytest.fixture
def rpyc_conn(servers):
    servers['rpyc']
    with rpyc_connect() as conn:
        yield conn

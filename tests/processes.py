"""The scripts as processes: run the way a reader's shell runs them.

A server starts as `python3 <script> &>server.log &` would start it: a
process of its own, stdout and stderr to a server.log, no PYTHONUNBUFFERED.
A client runs from a directory other than the project's. A launcher other
than python3 (`uv run`, say) may start either.
"""

import concurrent.futures
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict

import psutil
import pytest
from helpers import PROTOCOLS, ROOT, ordinary_call, port_accepts, protocol_of

START_TIMEOUT = 10  # seconds for a server to listen after it is launched
STARTUP_LINE_TIMEOUT = 2  # seconds for its startup line to reach server.log

PYTHON = (sys.executable,)  # runs a script as `python3 script.py` does


def script_env():
    """The environment a reader's shell gives a script, plus one guard.

    This machine sets PYTHONUNBUFFERED, which readers' machines do not: it is
    removed. A DeprecationWarning, from the scripts or the libraries they use,
    becomes an error, so that the suite meets it before a reader's Python
    does; the reader's own PYTHONWARNINGS (`error`, say) is kept before it.
    """
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    warnings = [env.get('PYTHONWARNINGS'), 'error::DeprecationWarning']  # the last one wins
    env['PYTHONWARNINGS'] = ','.join(filter(None, warnings))
    return env


def with_the_scripts(directory):
    """Link the project's files into a directory, as into a reader's clone of it."""
    directory.mkdir(exist_ok=True)
    for path in [
        *ROOT.glob('*.py'),
        ROOT / 'tests',
        ROOT / 'requirements.txt',
        ROOT / 'README.md',
    ]:
        (directory / path.name).symlink_to(path)
    return directory


def shell_env(bin_directory):
    """script_env() for a shell, whose `python3` is the Python that runs the tests.

    As in a reader's activated virtual environment: the shell finds `python3`
    first in a directory of its own.
    """
    bin_directory.mkdir(exist_ok=True)
    python3 = bin_directory / 'python3'
    python3.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python3.chmod(0o755)
    env = script_env()
    env['PATH'] = f'{bin_directory}{os.pathsep}{env["PATH"]}'
    return env


def script_command(script, *args, launcher=PYTHON):
    return [*launcher, str(ROOT / script), *args]


def run_script(script, *args, cwd, launcher=PYTHON, timeout=30, **env):
    """Run one of the project's scripts as a reader would, from the directory `cwd`,
    with any variables given set in its environment."""
    return subprocess.run(
        script_command(script, *args, launcher=launcher),
        check=False,
        capture_output=True,
        cwd=cwd,
        env={**script_env(), **env},
        timeout=timeout,
    )


def port_is_free(port):
    """Whether a server could listen on the port now, bound as ours bind: to 127.0.0.1."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as all three set it
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:  # EADDRINUSE: another socket listens there
            return False
    return True


def listeners(port):
    """The processes this user may look into that listen on the TCP port."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):  # ended meanwhile, or not ours to look into
            if any(
                connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
                for connection in process.net_connections('tcp')
            ):
                found.append(process)
    return found


def who_holds(protocol):
    """Tell a reader what holds the port a server needs, and how to stop it."""
    port, script = protocol.port, protocol.script
    lines = []
    for process in listeners(port):
        with contextlib.suppress(psutil.Error):  # ended meanwhile: nothing to say of it
            lines += [
                f'Port {port} ({script}) is held by PID {process.pid}, a server left running?',
                f'    {shlex.join(process.cmdline())}',
                f'    Stop it with: kill {process.pid}',
            ]
    return lines or [
        f'Port {port} ({script}) is held by a process this user cannot look into.',
        f'    `lsof -i :{port}` names it, or on Linux `ss -ltnp "sport = {port}"`',
        "    (as root, if it is another user's).",
    ]


class Server:
    """A server script running in its own process, logging to server.log.

    Its directory holds the scripts too, as a reader's does.
    """

    def __init__(self, protocol, directory, launcher=PYTHON):
        self.protocol = protocol
        self.log_path = with_the_scripts(directory) / 'server.log'
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
                script_command(protocol.script, launcher=launcher),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
                env=script_env(),
                start_new_session=True,  # like a shell's background job: a group of its own
            )

    def stopped(self):
        """True once a server that was ready has exited."""
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
                return f'{self.describe_exit()} before it listened on port {port}'
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

    def describe_exit(self):
        status = self.process.returncode
        return f'{self.protocol.script} exited with status {status}; {self.describe_log()}'

    def assert_running(self):
        """Fail, with the exit status and the log, if the server has exited."""
        if self.process.poll() is not None:
            pytest.fail(self.describe_exit(), pytrace=False)

    def stop(self):
        """Stop the server and anything it started (uv's child, say), as `kill` would."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # an empty group is gone
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of its group


def wait_until(server, condition, what, timeout=2):
    """Wait for the condition to hold; fail at once if the server exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        server.assert_running()
        if condition():
            return
        assert time.monotonic() < deadline, f'waited {timeout} s in vain for {what}'
        time.sleep(0.01)


@contextlib.contextmanager
def idle_clients(server, count):
    """Hold `count` idle connections, each with its thread in the server.

    They connect a batch at a time: a burst larger than the HTTP servers'
    listen queue (64) would have connection attempts dropped, and retried a
    second later.
    """
    process = psutil.Process(server.process.pid)
    with contextlib.ExitStack() as held:
        clients = []
        while len(clients) < count:
            for _ in range(min(32, count - len(clients))):
                address = ('127.0.0.1', server.protocol.port)
                clients.append(held.enter_context(socket.create_connection(address)))
            # the main thread, and one for each client
            wait_until(server, lambda: process.num_threads() == 1 + len(clients), 'the threads')
        yield


class CallingClients:
    """Clients calling a server over and over, each in a thread, until it stops answering."""

    def __init__(self, name, count):
        self.answered = 0  # calls answered so far, by all the clients together
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._call, args=(name,)) for _ in range(count)]

    def _call(self, name):
        while not self._stop.is_set():
            try:
                ordinary_call(name)
            except Exception:  # refused, reset or cut short: the server has stopped
                return
            with self._lock:
                self.answered += 1

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)  # bounded, though a call to a hung server may outlast it


class Servers:
    """Running servers by protocol name; one is (re)started when needed."""

    def __init__(self, tmp_path_factory, launcher=PYTHON, start=PROTOCOLS):
        self._tmp_path_factory = tmp_path_factory
        self._launcher = launcher
        self._servers = {}
        for name in start:  # all at once: each starts while the others do
            self._launch(name)

    def _launch(self, name):
        directory = self._tmp_path_factory.mktemp(f'{name}-server')
        self._servers[name] = Server(PROTOCOLS[name], directory, self._launcher)

    def __getitem__(self, name):
        server = self._servers.get(name)
        if server is None or server.stopped():
            self._launch(name)
            server = self._servers[name]
        if not server.ready:
            server.wait_until_ready()
        return server

    def died(self):
        """The servers that were ready and have exited since; each is named once."""
        dead = [server for server in self._servers.values() if server.stopped()]
        for server in dead:
            self.stop(server.protocol.name)  # and the next test starts a new one
        return dead

    def stop(self, name):
        """Stop the named server if it runs, so that a test may use its port."""
        if name in self._servers:
            self._servers.pop(name).stop()

    def stop_all(self):
        """Stop every server; they end at the same time, as each of them takes a moment."""
        with concurrent.futures.ThreadPoolExecutor(max(1, len(self._servers))) as pool:
            for server in self._servers.values():
                pool.submit(server.stop)


class ClientRun:
    """What one run of a client script printed, and what its server logged."""

    def __init__(self, completed, log_lines):
        self.returncode = completed.returncode
        self.stdout = completed.stdout.decode('utf-8').splitlines()
        self.stderr = completed.stderr.decode('utf-8').splitlines()
        self.log_lines = log_lines


class ClientRuns:
    """Runs client scripts from a directory other than the project's.

    Runs are remembered: the transcripts and README.md show the same sessions,
    and both are checked against the one real run.
    """

    def __init__(self, servers, workdir, launcher=PYTHON):
        self._servers = servers
        self._workdir = workdir
        self._launcher = launcher
        self._runs = {}

    def __call__(self, script, *args):
        command = (script, *args)
        if command not in self._runs:
            server = self._servers[protocol_of(script).name]
            logged_before = len(server.log_lines())
            completed = run_script(*command, cwd=self._workdir, launcher=self._launcher)
            # Each server logs a request before it answers it, so the log is
            # complete once the client has exited.
            self._runs[command] = ClientRun(completed, server.log_lines()[logged_before:])
        return self._runs[command]

    def run_together(self, commands):
        """Run the commands, each server's in turn, but the servers' at the same time.

        A command that fails here is simply run again when a test asks for it.
        """
        by_server = defaultdict(list)
        for command in commands:
            by_server[protocol_of(command[0]).name].append(command)

        def run_in_turn(commands):
            for command in commands:
                self(*command)

        with concurrent.futures.ThreadPoolExecutor(len(by_server)) as pool:
            for commands_of_one_server in by_server.values():
                pool.submit(run_in_turn, commands_of_one_server)  # errors stay in the future

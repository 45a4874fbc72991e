"""The scripts as processes, run as a reader's shell runs them: a server as `python3 <script>
&>server.log &` would (a process group of its own, stdout and stderr to server.log, no
PYTHONUNBUFFERED), a client from a directory other than the project's; either perhaps by
another launcher (`uv run`, say)."""

import concurrent.futures
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from helpers import PROTOCOLS, ROOT, port_accepts, protocol_of

START_TIMEOUT = 10  # seconds for a server to listen, and log its first line, once launched
PYTHON = (sys.executable,)  # runs a script as `python3 script.py` does


def script_env(warnings='error::DeprecationWarning'):
    """The environment a reader's shell gives a script, but PYTHONUNBUFFERED, which this
    machine sets and readers' do not; and a DeprecationWarning, from the scripts or their
    libraries, an error, after the reader's own PYTHONWARNINGS (`error`, say)."""
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    env['PYTHONWARNINGS'] = ','.join(filter(None, [env.get('PYTHONWARNINGS'), warnings]))
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
    """script_env() for a shell whose `python3` is the Python that runs the tests, first on
    the PATH, as in a reader's activated virtual environment."""
    bin_directory.mkdir(exist_ok=True)
    python3 = bin_directory / 'python3'
    python3.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python3.chmod(0o755)
    env = script_env()
    env['PATH'] = f'{bin_directory}{os.pathsep}{env["PATH"]}'
    return env


def run_script(script, *args, cwd, launcher=PYTHON, timeout=30, **env):
    """Run one of the project's scripts as a reader would, from `cwd`, with any variables
    given set in its environment."""
    command = [*launcher, str(ROOT / script), *args]
    return subprocess.run(
        command, capture_output=True, cwd=cwd, env={**script_env(), **env}, timeout=timeout
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


def who_holds(protocol):
    """Tell a reader what holds the port a server needs, and how to stop it."""
    port, script = protocol.port, protocol.script
    lines = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):  # ended meanwhile, or not ours to look into
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in process.net_connections('tcp')
            ):
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
    """A server script in a process of its own, logging to server.log in a directory that
    holds the scripts too, as a reader's does."""

    def __init__(self, protocol, directory, launcher=PYTHON, env=None):
        self.protocol, self.ready, self.failure, self.process = protocol, False, None, None
        self.log_path = with_the_scripts(directory) / 'server.log'
        if port_accepts(protocol.port):  # or another process's answers would pass for ours
            self.failure = f'port {protocol.port} is in use: a server from an earlier test?'
            return
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen(
                [*launcher, str(ROOT / protocol.script)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=directory,
                env=env or script_env(),
                start_new_session=True,  # like a shell's background job: a group of its own
            )

    def log(self):
        return self.log_path.read_bytes().decode('utf-8', 'backslashreplace')

    def log_lines(self):
        return self.log().splitlines()

    def stopped(self):
        """True once a server that was ready has exited."""
        return self.ready and self.process.poll() is not None

    def describe_exit(self):
        log = self.log()
        status = self.process.returncode
        return f'{self.protocol.script} exited with status {status}; its log:\n{log or "(empty)"}'

    def wait_until_ready(self):
        """Wait for the port to take connections and the startup line to reach the log;
        fail saying why not, then and in every later test that asks for this server."""
        script, port, line = self.protocol.script, self.protocol.port, self.protocol.startup_line
        deadline = time.monotonic() + START_TIMEOUT
        while not self.failure and not self.ready:
            if self.process.poll() is not None:
                self.failure = f'{self.describe_exit()}\nbefore it listened on port {port}'
            elif time.monotonic() > deadline:
                self.failure = f'{script} is not ready after {START_TIMEOUT} s (is {line!r} '
                self.failure += f'flushed?); its log:\n{self.log()}'
            elif port_accepts(port) and (line is None or line in self.log_lines()):
                self.startup_log, self.ready = self.log_lines(), True
            else:
                time.sleep(0.01)  # poll, rather than guess how long startup takes
        if self.failure:
            pytest.fail(self.failure, pytrace=False)

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


class Servers:
    """Running servers by protocol name; one is (re)started when a test needs it."""

    def __init__(self, tmp_path_factory, launcher=PYTHON, start=PROTOCOLS):
        self._tmp_path_factory, self._launcher, self._servers = tmp_path_factory, launcher, {}
        for name in start:  # all at once: each starts while the others do
            self._launch(name)

    def _launch(self, name):
        directory = self._tmp_path_factory.mktemp(f'{name}-server')
        self._servers[name] = Server(PROTOCOLS[name], directory, self._launcher)

    def __getitem__(self, name):
        if name not in self._servers or self._servers[name].stopped():
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
        """Stop every server, side by side, as each takes a moment."""
        with concurrent.futures.ThreadPoolExecutor(max(1, len(self._servers))) as pool:
            pool.map(Server.stop, self._servers.values())


class ClientRuns:
    """Runs of client scripts, from a directory other than the project's, each remembered:
    the transcripts and README.md show the same sessions, checked against one real run."""

    def __init__(self, servers, workdir, launcher=PYTHON):
        self._servers, self._workdir, self._launcher, self._runs = servers, workdir, launcher, {}

    def __call__(self, script, *args):
        """What the run printed (stdout, stderr: lists of lines) and its server logged."""
        command = (script, *args)
        if command not in self._runs:
            server = self._servers[protocol_of(script).name]
            logged_before = len(server.log_lines())
            run = run_script(script, *args, cwd=self._workdir, launcher=self._launcher)
            run.stdout, run.stderr = (
                run.stdout.decode().splitlines(),
                run.stderr.decode().splitlines(),
            )
            # Each server logs a request before it answers: the log is whole once the client exits.
            run.log_lines = server.log_lines()[logged_before:]
            self._runs[command] = run
        return self._runs[command]

    def run_together(self, commands):
        """Run the commands, each server's in turn, the servers' side by side; a command that
        fails here is run again when a test asks for it."""
        by_server = {}
        for command in commands:
            by_server.setdefault(protocol_of(command[0]).name, []).append(command)
        with concurrent.futures.ThreadPoolExecutor(len(by_server)) as pool:
            for in_turn in by_server.values():
                pool.submit(lambda in_turn: [self(*command) for command in in_turn], in_turn)

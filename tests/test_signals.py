"""Stopping the servers: Ctrl-C, kill, and a second copy started by mistake."""

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import PROTOCOLS, README, ordinary_call, wait_for_port
from processes import CallingClients, Server, run_script, script_command, script_env
from sessions import without_readers_warnings

pytestmark = pytest.mark.slow

EACH_SERVER = pytest.mark.parametrize('protocol', PROTOCOLS.values(), ids=repr)


def stop_with(signum, server):
    """Send `signum` to a server that is answering calls.

    Return its exit status and the lines it logged from then on.

    A client that never hangs up is connected meanwhile: it must not keep the
    server from stopping. Connections are accepted in order, so once the call
    made after it is answered, the server has taken that client on.
    """
    with socket.create_connection(('127.0.0.1', server.protocol.port)):
        ordinary_call(server.protocol.name)
        logged_before = len(server.log_lines())
        started = time.monotonic()
        server.process.send_signal(signum)
        returncode = server.process.wait(timeout=5)
        assert time.monotonic() - started < 1, 'the server took a second or more to stop'
    logged = server.log_lines()[logged_before:]
    assert 'Traceback (most recent call last):' not in logged
    return returncode, logged


@pytest.mark.stops_server
@EACH_SERVER
def test_ctrl_c_stops_the_server_with_a_short_line(protocol, servers, tmp_path, monkeypatch):
    # Also with warnings as errors, as some readers run Python: rpyc's own
    # Ctrl-C would then fail, as it logs with its deprecated logger.warn().
    servers.stop(protocol.name)  # its port is ours
    monkeypatch.setenv('PYTHONWARNINGS', 'error')
    server = Server(protocol, tmp_path)
    try:
        server.wait_until_ready()
        assert stop_with(signal.SIGINT, server) == (0, protocol.stop_lines)
    finally:
        server.stop()


HELD_STREAM = {  # where a client's thread writes as its call is served
    'xmlrpc': 'stderr',  # http.server's line for each request
    'jsonrpc': 'stderr',
    'rpyc': 'stdout',  # the service's line for each call
}
CALLING_CLIENTS = 20


def test_readme_says_how_many_clients_call():
    said = f'also while {CALLING_CLIENTS} clients call and one of its threads'
    assert said in ' '.join(README.read_text(encoding='utf-8').split())  # lines joined


def full_pipe():
    """A pipe with no room left: a write to it waits until somebody reads."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b'x' * 4096)
    except BlockingIOError:
        os.set_blocking(write_end, True)
    return read_end, write_end


def waiting_places(pid):
    """Where in the kernel each thread of the process waits (Linux's wchan)."""
    return [(task / 'wchan').read_text() for task in Path(f'/proc/{pid}/task').iterdir()]


def interrupt_once_its_log_is_held(server):
    """Press Ctrl-C once a thread of the server waits to write to a pipe.

    Return the exit status and how long the server took to stop. The server
    is killed if it is still running, which ends the calls it holds.
    """
    try:
        seen, deadline = set(), time.monotonic() + 5
        while not any('pipe' in place for place in seen):
            if time.monotonic() > deadline:
                if seen == {'0'}:  # 0: running, or a kernel that does not tell
                    pytest.skip('this kernel does not tell where a thread waits (wchan)')
                pytest.fail(f'no thread of the server waits to write its log: {sorted(seen)}')
            time.sleep(0.01)
            seen.update(waiting_places(server.pid))
        started = time.monotonic()
        server.send_signal(signal.SIGINT)
        try:
            return server.wait(timeout=5), time.monotonic() - started
        except subprocess.TimeoutExpired:
            return 'none (still running)', time.monotonic() - started
    finally:
        server.kill()


@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='only Linux tells where a thread waits (/proc/PID/task/TID/wchan)',
)
@pytest.mark.stops_server
@EACH_SERVER
def test_ctrl_c_stops_a_server_while_a_client_thread_writes_its_log(protocol, servers, tmp_path):
    # Under load, Ctrl-C may come while a client's thread is writing the log;
    # Python's own exit would then wait for that thread, or abort ("could not
    # acquire lock ... at interpreter shutdown, possibly due to daemon
    # threads"), in up to 7 of 30 tries with 20 clients calling (README). Here
    # it comes so every time: the log is a pipe with no room left, so the
    # first thread that writes to it waits there until the test ends.
    servers.stop(protocol.name)  # its port is ours
    read_end, write_end = full_pipe()
    log_path = tmp_path / 'server.log'
    with open(log_path, 'wb') as log:
        streams = {'stdout': log, 'stderr': log, HELD_STREAM[protocol.name]: write_end}
        server = subprocess.Popen(
            script_command(protocol.script),
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env=script_env(),
            start_new_session=True,
            **streams,
        )
    os.close(write_end)
    try:
        wait_for_port(protocol.port, alive=lambda: server.poll() is None)
        with CallingClients(protocol.name, CALLING_CLIENTS):
            returncode, took = interrupt_once_its_log_is_held(server)
    finally:
        server.kill()
        server.wait()
        os.close(read_end)
    assert (returncode, took < 1) == (0, True), (
        f'{protocol.script} stopped with exit status {returncode} after {took:.1f} s'
    )
    logged = log_path.read_text().splitlines()
    assert logged[-len(protocol.stop_lines) :] == protocol.stop_lines, f'its log: {logged}'


@pytest.mark.stops_server
@EACH_SERVER
def test_sigterm_stops_the_server_and_frees_the_port(protocol, servers):
    server = servers[protocol.name]
    assert stop_with(signal.SIGTERM, server) == (-signal.SIGTERM, [])
    with socket.socket() as sock:  # as a new server would, at once: fails if the port is held
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', protocol.port))


@EACH_SERVER
def test_a_second_copy_exits_and_says_why(protocol, servers, tmp_path):
    servers[protocol.name]
    started = time.monotonic()
    second = run_script(protocol.script, cwd=tmp_path)
    assert time.monotonic() - started < 2
    assert second.returncode != 0
    in_use = errno.EADDRINUSE  # 98 on Linux, as README shows
    assert without_readers_warnings(second.stderr.decode().splitlines())[-1] == (
        f'OSError: [Errno {in_use}] {os.strerror(in_use)}'
    )
    ordinary_call(protocol.name)  # the first copy still answers


def test_pgrep_af_finds_each_server_by_its_command_line(servers):
    # README: `pgrep -af _server.py` finds a server left running, from any shell.
    if shutil.which('pgrep') is None:
        pytest.skip('pgrep is not installed here (Debian and Ubuntu: the procps package)')
    running = [servers[name].process for name in PROTOCOLS]
    found = subprocess.run(['pgrep', '-af', '_server.py'], capture_output=True, text=True)
    for server in running:
        assert f'{server.pid} {" ".join(server.args)}' in found.stdout.splitlines()


def test_a_line_left_in_pythons_buffer_is_lost_to_kill_and_written_on_ctrl_c(tmp_path):
    # README: the book's servers left their lines in a buffer, which `kill`
    # threw away, and which Ctrl-C wrote only as the server ended.
    listing = (
        'import sys, time; print("Server ready"); sys.stderr.write("printed\\n"); time.sleep(60)'
    )
    logged = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        log_path = tmp_path / f'{signum.name}.log'
        with open(log_path, 'wb') as log:
            book_like = subprocess.Popen(
                [sys.executable, '-c', listing],
                stdout=log,
                stderr=subprocess.PIPE,
                env=script_env(),
                start_new_session=True,
            )
        try:
            assert book_like.stderr.readline() == b'printed\n'  # the line is in the buffer
            book_like.send_signal(signum)
            book_like.wait(timeout=5)
        finally:
            book_like.kill()
            book_like.wait()
            book_like.stderr.close()
        logged[signum.name] = log_path.read_text().splitlines()
    assert logged == {'SIGTERM': [], 'SIGINT': ['Server ready']}

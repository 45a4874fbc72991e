"""What runs out: file descriptors, threads, memory. No server dies of it,
and each serves again once the clients that held it are gone.

Every connected client holds a file descriptor and a thread in the server,
and a process may hold only so many. Rather than open thousands of
connections, the tests lower a running server's limits (Linux only, as
`prlimit` does) and restore them afterwards. The figures too slow to take
here are measured by tests/measure.py, which lists its commands.
"""

import contextlib
import importlib.util
import resource
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest
import rpyc.utils.server
from helpers import PROTOCOLS, README, ROOT, cpu_seconds, open_descriptors, ordinary_call
from processes import idle_clients, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith('linux'),
        reason='only Linux can change the limits of a running process (resource.prlimit)',
    ),
]

REST = 0.1  # seconds each server rests after a failed accept()
WINDOW = 0.2  # seconds over which its tries and its CPU time are counted
ACCEPT_FAILED = 'accept() failed: [Errno 24] Too many open files'
THREAD_ROOM_MB = 80  # address space left for new threads: about 10 stacks of 8 MB
THREAD_FAILED = {  # what each server logs when a client's thread cannot start
    'xmlrpc': "RuntimeError: can't start new thread",  # socketserver's traceback
    'jsonrpc': "RuntimeError: can't start new thread",
    'rpyc': "client turned away: can't start new thread",
}
TURNED_AWAY = 200  # clients turned away while no thread can start, BATCH at a time
BATCH = 25
TURN_AWAY_TIME = 2  # seconds they may take: 10 ms each, where a rest of 0.1 s each would take 20
WAITING = 2000  # connections a connect loop leaves in the listen queue (rpyc's holds 4,096)
IDLE_CLIENTS = 300
MAX_KB_PER_IDLE_CLIENT = 100  # measured: 22-35 KB (README)
MAX_SILENCE = 2  # seconds after a flood ends: the cost of one dropped connection attempt


@contextlib.contextmanager
def soft_limit(pid, which, soft):
    """Lower a running process's soft limit (resource.RLIMIT_*), for a while.

    Only the soft limit: a hard limit lowered may not be raised again.
    """
    before = resource.prlimit(pid, which)
    resource.prlimit(pid, which, (soft, before[1]))
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test says if it died
            resource.prlimit(pid, which, before)


def answers_within(name, seconds):
    started = time.monotonic()
    ordinary_call(name)
    waited = time.monotonic() - started
    assert waited < seconds, f'answered after {waited:.2f} s, not within {seconds} s'


# File descriptors -------------------------------------------------------------


@pytest.mark.parametrize('name', PROTOCOLS)
def test_out_of_descriptors_a_server_says_why_rests_and_serves_again(servers, name):
    # Left to themselves, socketserver tries a failed accept() again at once, a
    # busy loop, and rpyc's server takes it for "closed" and exits in silence.
    server = servers[name]
    pid, port = server.process.pid, server.protocol.port
    logged_before = len(server.log_lines())

    def failed_accepts():
        return server.log_lines()[logged_before:].count(ACCEPT_FAILED)

    # Two descriptors left: two clients are taken, and the rest wait. (The
    # connections of earlier tests, closing still, may free a few more.)
    with soft_limit(pid, resource.RLIMIT_NOFILE, open_descriptors(pid) + 2):
        with contextlib.ExitStack() as held:
            for _ in range(16):
                held.enter_context(socket.create_connection(('127.0.0.1', port)))
            wait_until(server, lambda: failed_accepts() > 0, f'{ACCEPT_FAILED!r} in the log')
            tries_before, cpu_before = failed_accepts(), cpu_seconds(pid)
            started = time.monotonic()
            time.sleep(WINDOW)  # a window to count in, not a wait for something
            elapsed = time.monotonic() - started
            tries = failed_accepts() - tries_before
            cpu = cpu_seconds(pid) - cpu_before
        answers_within(name, MAX_SILENCE)
    server.assert_running()
    # Upper bounds, which a busy machine cannot break: it only slows the server.
    assert tries <= elapsed / REST + 1, f'{tries} failed accept() in {elapsed:.2f} s: no rest'
    assert cpu < elapsed / 4, f'{cpu:.2f} s of CPU in {elapsed:.2f} s, out of descriptors'


# Threads ----------------------------------------------------------------------


@pytest.mark.parametrize('name', PROTOCOLS)
def test_out_of_threads_a_server_turns_clients_away_and_serves_again(servers, name):
    # A thread's stack is address space: with little left, no new thread can
    # start, as under a container's limit on tasks or a low `ulimit -u`.
    server = servers[name]
    pid, port = server.process.pid, server.protocol.port

    def turned_away():
        return server.log_lines().count(THREAD_FAILED[name])

    turned_away_before = turned_away()
    room = psutil.Process(pid).memory_info().vms + THREAD_ROOM_MB * 2**20
    with contextlib.ExitStack() as held:
        with soft_limit(pid, resource.RLIMIT_AS, room):

            def a_thread_could_not_start():
                held.enter_context(socket.create_connection(('127.0.0.1', port)))  # idle: a thread
                return turned_away() > turned_away_before

            wait_until(server, a_thread_could_not_start, 'a thread that could not start', 5)
            # Each client turned away costs the server a moment, and no more.
            started, expected = time.monotonic(), turned_away()
            for _ in range(TURNED_AWAY // BATCH):
                for _ in range(BATCH):  # a batch the HTTP servers' listen queue (64) holds
                    socket.create_connection(('127.0.0.1', port)).close()
                expected += BATCH
                wait_until(server, lambda n=expected: turned_away() >= n, 'clients turned away', 5)
            took = time.monotonic() - started
            # A connect loop, then threads again: the server takes what waits
            # in its listen queue, and serves. (A call made while the queue is
            # full would wait a second more, for its client to try again.)
            connect_loop(port, WAITING)
        lifted = time.monotonic()
        wait_until(server, lambda: in_listen_queue(port) == 0, 'its listen queue', MAX_SILENCE)
        ordinary_call(name)
        waited = time.monotonic() - lifted
    server.assert_running()
    assert waited < MAX_SILENCE, f'answered {waited:.2f} s after threads could start again'
    assert took < TURN_AWAY_TIME, f'{TURNED_AWAY} clients turned away in {took:.2f} s'


@pytest.mark.parametrize(
    'error, logged',
    [
        (RuntimeError("can't start new thread"), "can't start new thread"),
        (MemoryError(), 'out of memory'),
    ],
)
def test_rpyc_server_turns_a_client_away_whichever_error_its_thread_meets(
    monkeypatch, capsys, error, logged
):
    # Short of address space, a thread may fail to start with MemoryError, not
    # RuntimeError (seen in a connect loop): rpyc_server.py takes either alike.
    spec = importlib.util.spec_from_file_location('rpyc_server', ROOT / 'rpyc_server.py')
    listing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(listing)

    def spawn(*args):
        raise error

    monkeypatch.setattr(rpyc.utils.server, 'spawn', spawn)
    server = listing.PatientServer(listing.LineCounter, hostname='127.0.0.1', port=0)
    client, sock = socket.socketpair()
    with client, contextlib.closing(server):
        server.clients.add(sock)  # as rpyc's accept() does
        server._accept_method(sock)
        assert (sock.fileno(), server.clients) == (-1, set()), 'the client is not let go'
    assert capsys.readouterr().out == f'client turned away: {logged}\n'


def test_readme_says_what_the_thread_test_tries():
    said = ' '.join(README.read_text(encoding='utf-8').split())  # lines joined
    assert f'tested: {TURNED_AWAY} clients turned away in under {TURN_AWAY_TIME} s' in said
    assert f'after a connect loop of {WAITING:,}' in said


def in_listen_queue(port):
    """How many connections wait in the port's listen queue to be taken (/proc/net/tcp)."""
    for line in Path('/proc/net/tcp').read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = line.split()  # sl, local, remote, st, tx:rx queues
        if int(local.rpartition(':')[2], 16) == port and state == '0A':  # 0A: listening
            return int(queues.partition(':')[2], 16)  # a listener's rx_queue: those waiting
    raise AssertionError(f'nothing listens on port {port}')


def connect_loop(port, count):
    """Connect and hang up, `count` times, without waiting for a connection to be taken."""
    for _ in range(count):
        with socket.socket() as sock:
            sock.setblocking(False)
            sock.connect_ex(('127.0.0.1', port))  # in progress, or refused by a full queue


# Idle clients -------------------------------------------------------------------


@pytest.mark.parametrize('name', PROTOCOLS)
def test_idle_clients_cost_little_memory_and_leave_no_silence(servers, name):
    server = servers[name]
    process = psutil.Process(server.process.pid)
    # Clients of earlier tests may still be leaving: start from the main thread alone.
    wait_until(server, lambda: process.num_threads() == 1, 'the server to be idle')
    rss_before = process.memory_info().rss
    with idle_clients(server, IDLE_CLIENTS):
        kb_each = (process.memory_info().rss - rss_before) / 1024 / IDLE_CLIENTS
        answers_within(name, 0.5)
    answers_within(name, MAX_SILENCE)  # the moment they all hang up
    assert kb_each < MAX_KB_PER_IDLE_CLIENT, f'{kb_each:.0f} KB for each idle client'

"""Out of file descriptors: no server dies of it, and each serves again after.

Every connected client holds a file descriptor in the server, and a process
may hold only so many (`ulimit -n`). Rather than open a thousand connections,
the tests lower a running server's limit, as `prlimit` would, and restore it
afterwards.
"""

import contextlib
import resource
import socket
import time

import pytest
from helpers import PROTOCOLS, cpu_seconds, open_descriptors, ordinary_call

pytestmark = pytest.mark.slow

LOW_LIMIT = 64  # descriptors
WINDOW = 0.5  # seconds of flood over which CPU use is measured
ACCEPT_FAILED = 'accept() failed: [Errno 24] Too many open files'


@contextlib.contextmanager
def descriptor_limit(pid, soft):
    """Lower a running process's soft limit on open files, for a while."""
    before = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test says if it died
            resource.prlimit(pid, resource.RLIMIT_NOFILE, before)


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
def idle_connections(port, at_most):
    """Connect, send nothing, and hold on, until a connection is not taken in 0.2 s."""
    with contextlib.ExitStack() as held:
        for _ in range(at_most):
            try:
                held.enter_context(socket.create_connection(('127.0.0.1', port), timeout=0.2))
            except socket.timeout:  # the server's listen queue is full
                break
        yield


@pytest.mark.parametrize('name', PROTOCOLS)
def test_out_of_descriptors_a_server_waits_then_serves_again(servers, name):
    server = servers[name]
    pid, port = server.process.pid, server.protocol.port
    logged_before = len(server.log_lines())
    with descriptor_limit(pid, LOW_LIMIT):
        with idle_connections(port, at_most=2 * LOW_LIMIT):
            wait_until(
                server, lambda: len(open_descriptors(pid)) == LOW_LIMIT, 'every descriptor in use'
            )
            cpu_before, started = cpu_seconds(pid), time.monotonic()
            time.sleep(WINDOW)  # a window to measure in, not a wait for something
            cpu_share = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started)
            server.assert_running()
        started = time.monotonic()
        ordinary_call(name)
        assert time.monotonic() - started < 2, 'not answering within 2 s of the flood'
    server.assert_running()
    said_why = ACCEPT_FAILED in server.log_lines()[logged_before:]
    if name == 'rpyc':  # it says why it does not serve, and rests between tries
        assert said_why, f'no {ACCEPT_FAILED!r} in the log'
        assert cpu_share < 0.1, f'{cpu_share:.0%} of a CPU while flooded'
    else:  # socketserver tries again at once and in silence: the spin README states
        assert not said_why, 'socketserver logs nothing of a failed accept()'
        assert cpu_share > 0.5, f'{cpu_share:.0%} of a CPU while flooded'


def test_rpyc_server_survives_a_failed_accept(servers):
    # rpyc turns a failed accept() into EOFError, which its start() takes for
    # "server closed": the server returns, exits 0 and says nothing.
    server = servers['rpyc']
    pid, port = server.process.pid, server.protocol.port
    logged_before = len(server.log_lines())
    in_use = open_descriptors(pid)
    lowest_free = min(set(range(len(in_use) + 1)) - in_use)
    # A new descriptor would take the lowest free number: the limit forbids it.
    with descriptor_limit(pid, lowest_free), contextlib.ExitStack() as held:

        def one_more_connection_refused():
            # Connections of earlier tests may still be closing in the server, each
            # freeing a descriptor that lets one more in: connect until one is not.
            held.enter_context(socket.create_connection(('127.0.0.1', port)))
            return ACCEPT_FAILED in server.log_lines()[logged_before:]

        wait_until(server, one_more_connection_refused, 'a failed accept() in the log')
    ordinary_call('rpyc')  # the connections that waited meanwhile are taken too
    server.assert_running()

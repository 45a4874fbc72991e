"""Stopping the servers: Ctrl-C, kill, and a second copy started by mistake."""

import errno
import os
import signal
import socket
import time

import pytest
from helpers import PROTOCOLS, ordinary_call
from processes import run_script

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
def test_ctrl_c_stops_the_server_with_a_short_line(protocol, servers):
    server = servers[protocol.name]
    returncode, logged = stop_with(signal.SIGINT, server)
    assert returncode == 0
    assert logged == protocol.stop_lines


@pytest.mark.stops_server
@EACH_SERVER
def test_sigterm_stops_the_server_and_frees_the_port(protocol, servers):
    server = servers[protocol.name]
    assert stop_with(signal.SIGTERM, server) == (-signal.SIGTERM, [])
    servers[protocol.name]  # starts a new one at once: fails if the port is held
    ordinary_call(protocol.name)


@EACH_SERVER
def test_a_second_copy_exits_and_says_why(protocol, servers, tmp_path):
    servers[protocol.name]
    started = time.monotonic()
    second = run_script(protocol.script, cwd=tmp_path)
    assert time.monotonic() - started < 2
    assert second.returncode != 0
    in_use = errno.EADDRINUSE  # 98 on Linux, as README shows
    assert second.stderr.decode().splitlines()[-1] == (
        f'OSError: [Errno {in_use}] {os.strerror(in_use)}'
    )
    ordinary_call(protocol.name)  # the first copy still answers

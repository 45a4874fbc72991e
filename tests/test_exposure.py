"""What the servers let other machines and other clients reach."""

import contextlib
import socket
import sys

import pytest
import rpyc
from helpers import PROTOCOLS
from rpyc.core import consts, netref


@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='only Linux answers on all of 127.0.0.0/8; macOS configures 127.0.0.1 alone',
)
@pytest.mark.parametrize('protocol', PROTOCOLS.values(), ids=repr)
def test_listens_on_loopback_only(protocol, servers):
    servers[protocol.name]
    # 127.0.0.2 is loopback too: a server listening on every interface
    # (0.0.0.0) accepts there; one bound to 127.0.0.1 refuses.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.2', protocol.port), timeout=1).close()
    socket.create_connection(('127.0.0.1', protocol.port), timeout=1).close()


@pytest.mark.slow
@pytest.mark.parametrize(
    'name', ['_conn', '__class__', '__dict__', '__init__', 'getmodule', 'eval', 'execute']
)
def test_rpyc_refuses_what_the_service_does_not_expose(rpyc_conn, name):
    # A raw attribute request, so that the server decides, not the local proxy.
    with pytest.raises(AttributeError, match=f'cannot access {name!r}'):
        netref.syncreq(rpyc_conn.root, consts.HANDLE_GETATTR, name)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['__globals__', '__code__', '__self__', '__func__'])
def test_rpyc_refuses_the_insides_of_the_exposed_method(rpyc_conn, name):
    with pytest.raises(AttributeError, match=f'cannot access {name!r}'):
        getattr(rpyc_conn.root.line_counter, name)


@pytest.mark.slow
def test_rpyc_refuses_classic_mode(servers):
    servers['rpyc']
    with pytest.raises(AttributeError, match="cannot access 'getmodule'"):
        rpyc.classic.connect('localhost', PROTOCOLS['rpyc'].port)


@pytest.mark.slow
def test_rpyc_root_lets_a_client_reach_exactly_what_its_docstring_says(rpyc_conn):
    # The refusals above mean something only if the exposed method is reachable.
    # A client sees more names than it may reach: try each one.
    listed = [name for name in dir(rpyc_conn.root) if not name.startswith('__')]
    names = {*listed, *(name.removeprefix('exposed_') for name in listed)}
    reachable = set()
    for name in names:
        with contextlib.suppress(AttributeError):
            netref.syncreq(rpyc_conn.root, consts.HANDLE_GETATTR, name)
            reachable.add(name.removeprefix('exposed_'))
    # line_counter(), and what every rpyc.Service tells of itself:
    assert reachable == {'line_counter', 'get_service_name', 'get_service_aliases'}
    assert rpyc_conn.root.get_service_name() == 'LINECOUNTER'
    assert rpyc_conn.root.get_service_aliases() == ('LINECOUNTER',)

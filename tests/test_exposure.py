"""What the servers let other machines and other clients reach."""

import contextlib
import io
import socket
import sys
import threading

import pytest
import rpyc
from helpers import PROTOCOLS, wait_for_port
from rpyc.core import SocketStream, consts, netref
from rpyc.utils.server import ThreadedServer


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
    # rpyc.classic.connect(), with the socket in our hands: refused, rpyc leaves it open.
    stream = SocketStream.connect('localhost', PROTOCOLS['rpyc'].port)
    try:
        with pytest.raises(AttributeError, match="cannot access 'getmodule'"):
            rpyc.classic.connect_stream(stream)
    finally:
        stream.close()


@pytest.mark.slow
def test_rpyc_root_tells_all_its_names_and_lets_a_client_reach_what_readme_says(rpyc_conn):
    # The refusals above mean something only if the exposed method is reachable.
    # The inspection tells a client every name; try to reach each one.
    listed = dir(rpyc_conn.root)
    assert {'on_connect', '_connect'} <= set(listed)
    reachable = set()
    for name in {*listed, *(name.removeprefix('exposed_') for name in listed)}:
        with contextlib.suppress(AttributeError):
            netref.syncreq(rpyc_conn.root, consts.HANDLE_GETATTR, name)
            reachable.add(name)
    exposed = {'line_counter', 'get_service_name', 'get_service_aliases'}  # README, the docstring
    safe = {'__doc__', '__format__', '__hash__', '__new__', '__repr__', '__str__'}  # rpyc's
    comparisons = {'__eq__', '__ne__', '__lt__', '__le__', '__gt__', '__ge__'}
    assert reachable == {*exposed, *(f'exposed_{name}' for name in exposed), *safe, *comparisons}
    assert rpyc_conn.root.get_service_name() == 'LINECOUNTER'
    assert rpyc_conn.root.get_service_aliases() == ('LINECOUNTER',)
    assert 'LineCounter object at 0x' in str(rpyc_conn.root)


class FileReader(rpyc.Service):
    def exposed_count_by_iterating(self, fileobj):
        return sum(1 for line in fileobj)

    def exposed_count_by_readlines(self, fileobj):
        return len(fileobj.readlines())

    def exposed_call(self, function, fileobj):
        return function(str(fileobj) == str(fileobj))


@pytest.mark.slow
def test_rpyc_at_its_defaults_lets_a_server_call_what_it_is_handed_but_no_method():
    # README: a side may call what the other hands it, and use operators on
    # it (print it, compare it, loop over it), but not reach a method by name.
    server = ThreadedServer(FileReader, hostname='127.0.0.1', port=0)
    thread = threading.Thread(target=server.start)
    thread.start()
    try:
        wait_for_port(server.port, thread.is_alive)  # start() listens
        with rpyc.connect('127.0.0.1', server.port) as conn:  # rpyc's default config
            assert conn.root.count_by_iterating(io.StringIO('one\ntwo\n')) == 2
            assert conn.root.call(lambda same: f'called: {same}', io.StringIO()) == 'called: True'
            with pytest.raises(AttributeError, match="cannot access 'readlines'"):
                conn.root.count_by_readlines(io.StringIO('one\ntwo\n'))
    finally:
        server.close()
        thread.join()


def test_rpyc_listens_on_every_interface_unless_told():
    # README: the book's RPyC server, which named no hostname, listened on
    # every network interface; rpyc_server.py names localhost.
    server = ThreadedServer(rpyc.VoidService, port=0)
    try:
        assert server.listener.getsockname()[0] in ('0.0.0.0', '::')
    finally:
        server.close()

"""What README's lessons say in words beside their sessions, each sentence
tried: the prompt sessions themselves are typed by test_prompts.py."""

import contextlib
import errno
import io
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import jsonrpclib
import pytest
import rpyc
from helpers import JSONRPC_URL, exchange, http_answer, json_call, serving
from processes import run_script
from rpyc.core import consts, netref
from rpyc.utils.server import ThreadedServer
from sessions import UNCLOSED_SOCKET

pytestmark = pytest.mark.slow  # beyond what the book's transcripts show


class DropsTheFirstConnection(SimpleXMLRPCRequestHandler):
    """Reads the first call and hangs up, answering none; answers the next."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        if self.server.received:
            return super().do_POST()
        self.server.received.append(self.rfile.read(int(self.headers['Content-Length'])))

    def decode_request_content(self, data):  # the body of a call answered
        self.server.received.append(data)
        return super().decode_request_content(data)


def test_xmlrpc_client_sends_a_call_again_when_the_connection_drops():
    """README: "`xmlrpc.client` does so by itself, sending a request once more when its
    connection closes before the answer" (Transport.request): a call may run twice."""
    server = SimpleXMLRPCServer(('127.0.0.1', 0), DropsTheFirstConnection, logRequests=False)
    server.register_function(lambda a, b: a + b, 'addtogether')
    server.received = []
    with serving(server) as port:
        assert xmlrpc.client.ServerProxy(f'http://127.0.0.1:{port}').addtogether(1, 2) == 3
    first, again = server.received
    assert first == again


def test_jsonrpc_batch_and_notification_are_one_post_each(servers):
    """README: "A batch sends its calls in one POST"; a notification "is a call without an
    `id`: its answer is empty, so the client learns nothing, not even of an error"."""
    server = servers['jsonrpc']
    proxy = jsonrpclib.ServerProxy(JSONRPC_URL)
    logged_before = len(server.log_lines())
    batch = jsonrpclib.MultiCall(proxy)
    batch.lengths('abc')
    batch.lengths(None)
    assert list(batch()) == [[[3, 'abc']], [[None, None]]]
    assert proxy._notify.lengths('abc') is None
    assert len(server.log_lines()) - logged_before == 2
    for method in ('lengths', 'no_such_function'):  # not even an error comes back
        notification = json_call(['abc'], method, id=None).replace(b', "id": null', b'')
        assert http_answer(exchange(server.protocol.port, notification))[2] == b'', method


@pytest.mark.stops_server
def test_rpyc_leaves_the_socket_of_a_refused_connection_open(servers, tmp_path, monkeypatch):
    """README: "With Python's warnings shown (`PYTHONWARNINGS=error`, say), a `ResourceWarning`
    follows: rpyc leaves the socket of a refused connection open"."""
    servers.stop('rpyc')
    monkeypatch.setenv('PYTHONWARNINGS', 'error')
    *_, refused, ignored, warning = (
        run_script('rpyc_client.py', cwd=tmp_path).stderr.decode().splitlines()
    )
    assert refused == f'ConnectionRefusedError: [Errno {errno.ECONNREFUSED}] Connection refused'
    assert ignored.startswith('Exception ignored ') and UNCLOSED_SOCKET.fullmatch(ignored)
    assert warning.startswith('ResourceWarning: ') and UNCLOSED_SOCKET.fullmatch(warning)


class FileReader(rpyc.Service):
    def exposed_count_by_iterating(self, fileobj):
        return sum(1 for line in fileobj)

    def exposed_count_by_readlines(self, fileobj):
        return len(fileobj.readlines())

    def exposed_call(self, function, fileobj):
        return function(str(fileobj) == str(fileobj))


def test_rpyc_at_its_defaults_lets_a_side_call_a_function_but_reach_no_method():
    """README: "a side may call a function the other hands it, and use Python's operators
    on any object it is handed (print it, compare it, loop over it), but may not reach a
    method by name"."""
    server = ThreadedServer(FileReader, hostname='127.0.0.1', port=0)
    with serving(server) as port, rpyc.connect('127.0.0.1', port) as conn:  # rpyc's defaults
        assert conn.root.count_by_iterating(io.StringIO('one\ntwo\n')) == 2
        assert conn.root.call(lambda same: f'called: {same}', io.StringIO()) == 'called: True'
        with pytest.raises(AttributeError, match="cannot access 'readlines'"):
            conn.root.count_by_readlines(io.StringIO('one\ntwo\n'))


def test_an_rpyc_client_may_reach_what_readme_says_and_nothing_else(rpyc_conn):
    """README: "A client may call the service's `exposed_` methods, rpyc's
    `get_service_name()` and `get_service_aliases()`, and the special methods rpyc deems safe
    ... but not the service's other methods". rpyc tells a client every name; try each."""
    listed = dir(rpyc_conn.root)
    assert {'on_connect', '_connect'} <= set(listed)
    reachable = set()
    for name in {*listed, *(name.removeprefix('exposed_') for name in listed)}:
        with contextlib.suppress(AttributeError):  # a raw request: the server decides
            netref.syncreq(rpyc_conn.root, consts.HANDLE_GETATTR, name)
            reachable.add(name)
    exposed = {'line_counter', 'get_service_name', 'get_service_aliases'}
    safe = {'__doc__', '__format__', '__hash__', '__new__', '__repr__', '__str__'}  # rpyc's
    comparisons = {'__eq__', '__ne__', '__lt__', '__le__', '__gt__', '__ge__'}
    assert reachable == {*exposed, *(f'exposed_{name}' for name in exposed), *safe, *comparisons}

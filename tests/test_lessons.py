"""README.md's prompt sessions (```pycon blocks), run by doctest against the
servers, and the lessons README states in words beside them.

A prompt session is exact but where it shows `...`: the middle of a
traceback, or an address that changes from run to run.
"""

import doctest
import gc
import http.client
import re
import signal
import socket
import threading
import xmlrpc.client

import jsonrpclib
import pytest
import rpyc
from helpers import JSONRPC_URL, PROTOCOLS, STANDARD_JSON, skip_unless_ci
from sessions import as_here, readme_blocks

pytestmark = pytest.mark.slow  # beyond what the chapter's transcripts show


@pytest.mark.parametrize(
    'heading, session',
    [pytest.param(heading, session, id=heading) for heading, session in readme_blocks('pycon')],
)
def test_readme_prompt_session(heading, session, servers):
    for name in PROTOCOLS:
        servers[name]
    if 'jsonrpclib' in session and not STANDARD_JSON:  # they refuse 2**100, say
        skip_unless_ci('jsonrpclib-pelix uses orjson or ujson here, which differ from json')
    test = doctest.DocTestParser().get_doctest(as_here(session), {}, heading, 'README.md', 0)
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append, clear_globs=True)
    # An rpyc connection and its proxies refer to each other: only the
    # collector closes one that a session leaves open, as exit() would.
    gc.collect()
    if runner.failures:
        pytest.fail(f'README\'s session under "{heading}":\n' + ''.join(report), pytrace=False)


# What README states in words beside the sessions ------------------------------


def read_http_request(conn):
    """Read one HTTP request from a connection; return its body."""
    data = b''
    while b'\r\n\r\n' not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b'\r\n\r\n')
    length = int(re.search(rb'Content-Length: (\d+)', head, flags=re.IGNORECASE).group(1))
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_xmlrpc_client_sends_a_call_again_when_the_connection_drops():
    # README: xmlrpc.client sends a request once more, by itself, when the
    # connection closes before an answer (Transport.request): a call may run twice.
    received = []
    with socket.create_server(('127.0.0.1', 0)) as listener:
        listener.settimeout(10)  # no second connection: the test fails, and this ends

        def a_server_that_drops_the_first_connection():
            for answers in (False, True):
                conn, _ = listener.accept()
                with conn:
                    received.append(read_http_request(conn))
                    if answers:
                        body = xmlrpc.client.dumps((3,), methodresponse=True).encode()
                        conn.sendall(
                            b'HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n'
                            b'Content-Length: %d\r\n\r\n%s' % (len(body), body)
                        )

        server = threading.Thread(target=a_server_that_drops_the_first_connection)
        server.start()
        try:
            port = listener.getsockname()[1]
            assert xmlrpc.client.ServerProxy(f'http://127.0.0.1:{port}').addtogether(1, 2) == 3
        finally:
            server.join(timeout=10)
    assert len(received) == 2 and received[0] == received[1], received


def test_jsonrpc_batch_and_notification_are_one_post_each(servers):
    # README: a batch of calls is one POST; a notification is one too, and
    # gets an empty answer, even when it fails.
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
        notification = b'{"jsonrpc": "2.0", "method": "%s", "params": ["abc"]}' % method.encode()
        connection = http.client.HTTPConnection('127.0.0.1', PROTOCOLS['jsonrpc'].port, timeout=10)
        connection.request('POST', '/', notification, {'Content-Type': 'application/json'})
        assert connection.getresponse().read() == b'', method
        connection.close()


def test_rpyc_gives_up_on_a_hung_server_after_its_own_timeout(servers):
    # README: a call not answered in 30 s (sync_request_timeout) raises
    # TimeoutError: result expired. Here with a timeout of 0.2 s.
    assert rpyc.core.protocol.DEFAULT_CONFIG['sync_request_timeout'] == 30
    server = servers['rpyc']
    config = {'sync_request_timeout': 0.2}
    with rpyc.connect('localhost', server.protocol.port, config=config) as conn:
        server.process.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(TimeoutError, match='^result expired$'):
                conn.root.get_service_name()  # asks for the root object first
        finally:
            server.process.send_signal(signal.SIGCONT)

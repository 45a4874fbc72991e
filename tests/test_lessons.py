"""README.md's prompt sessions (```pycon blocks), typed into a real Python
prompt, and the lessons README states in words beside them.

A prompt session must be what the screen shows, exactly, except where it
shows `...` for what a reader need not read (the middle of a traceback, an
address), and except what changes from run to run (a date, a UUID) or with
the Python in use (its version in the HTTP headers).
"""

import concurrent.futures
import difflib
import doctest
import errno
import http.client
import re
import signal
import socket
import sys
import threading
import xmlrpc.client

import jsonrpclib
import pytest
import rpyc
from helpers import JSONRPC_URL, PROTOCOLS, json_library_changes
from processes import run_script, script_env
from sessions import UNCLOSED_SOCKET, as_here, readme_blocks, unchanging

pytestmark = pytest.mark.slow  # beyond what the chapter's transcripts show


def typed_lines(session):
    """The lines a reader types: each after `>>> `, and the `... ` lines that follow it."""
    typed, in_source = [], False
    for line in session.splitlines():
        if line.startswith('>>> '):
            typed.append(line[4:])
            in_source = True
        elif in_source and (line.startswith('... ') or line == '...'):
            typed.append(line[4:])  # '...' alone: an empty line, which ends a statement
        else:
            in_source = False
    return typed


SESSIONS = readme_blocks('pycon')


@pytest.fixture(scope='module')
def typed(servers, tmp_path_factory):
    """{session: what the screen showed}: each session typed into a prompt of
    its own, all at the same time; a session the JSON library here changes is not."""
    for name in PROTOCOLS:
        servers[name]
    from prompt import PythonPrompt  # here: the quick tests need no pyte

    home = tmp_path_factory.mktemp('home')  # for Python's history file, not the reader's
    env = {**script_env(), 'HOME': str(home)}

    def type_into_a_prompt(session):
        with PythonPrompt(sys.executable, home, env) as python:
            for line in typed_lines(session):
                python.type(line)
            return python.screen()

    sessions = [session for _, session in SESSIONS if not json_library_changes(session)]
    with concurrent.futures.ThreadPoolExecutor(len(sessions)) as pool:
        futures = {session: pool.submit(type_into_a_prompt, session) for session in sessions}
    return futures


@pytest.mark.parametrize(
    'heading, session',
    [pytest.param(heading, session, id=heading) for heading, session in SESSIONS],
)
def test_readme_prompt_session_typed(heading, session, typed):
    if reason := json_library_changes(session):
        pytest.skip(reason)
    screen = typed[session].result()  # raises what went wrong in typing, if anything did
    shown = unchanging(as_here(session)).rstrip('\n') + '\n>>>\n'  # and the next prompt
    screen = unchanging(screen) + '\n'
    if not doctest.OutputChecker().check_output(shown, screen, doctest.ELLIPSIS):
        diff = difflib.unified_diff(
            shown.splitlines(), screen.splitlines(), 'README', 'the screen', lineterm=''
        )
        pytest.fail(f'README\'s session under "{heading}", typed:\n' + '\n'.join(diff), False)


def test_the_json_rpc_server_notes_the_errors_it_sent_back(typed, servers):
    # README: server.log gains notes of the errors that went back.
    if not any('jsonrpclib' in s and 'no_such_function()' in s for s in typed):
        pytest.skip('the JSON-RPC session that calls no_such_function() did not run here')
    notes = [line for line in servers['jsonrpc'].log_lines() if line.startswith('Unknown')]
    assert 'Unknown method: <Fault -32601: Method no_such_function not supported.>' in notes


def test_the_prompt_indents_by_itself_from_python_3_13(tmp_path):
    from prompt import PythonPrompt

    # README: typed as shown, its sessions need no indent, so that this does not matter.
    with PythonPrompt(sys.executable, tmp_path, {**script_env(), 'HOME': str(tmp_path)}) as python:
        python.type('if True:')
        line = python.cursor_line()
    assert line == ('...     ' if sys.version_info >= (3, 13) else '... ')


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


@pytest.mark.stops_server
def test_rpyc_leaves_the_socket_of_a_refused_connection_open(servers, tmp_path, monkeypatch):
    # README: with warnings shown, rpyc_client.py's traceback, when no server
    # answers, is followed by a ResourceWarning for the socket rpyc left open.
    servers.stop('rpyc')
    monkeypatch.setenv('PYTHONWARNINGS', 'error')
    run = run_script('rpyc_client.py', cwd=tmp_path)
    *_, refused, ignored, warning = run.stderr.decode().splitlines()
    assert refused == f'ConnectionRefusedError: [Errno {errno.ECONNREFUSED}] Connection refused'
    assert ignored.startswith('Exception ignored ') and UNCLOSED_SOCKET.fullmatch(ignored)
    assert warning.startswith('ResourceWarning: ') and UNCLOSED_SOCKET.fullmatch(warning)

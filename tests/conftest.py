"""Fixtures that run the scripts the way a reader's shell runs them. The three servers start
together, once, shared by every test; a test that stops one (`stops_server`) runs after the
others, and the next test that needs it starts it again. A server that dies during another
test fails that test, with its exit status and log. A port taken before the run (by a server
left from README's sessions, say) ends it at once, naming the holder. With CI_NO_SKIPS=1
(CI's rows that must run every test), a skip fails."""

import os
import signal
import socket
import xmlrpc.client

import pytest
from helpers import PROTOCOLS, XMLRPC_URL, rpyc_connect
from processes import ClientRuns, Servers, port_is_free, who_holds
from sessions import transcript_clients

TEST_TIMEOUT = 60  # seconds: no single test may hang the run longer than this
NO_SKIPS = os.environ.get('CI_NO_SKIPS') == '1'


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter reads its options
def pytest_configure(config):
    if 's' not in config.option.reportchars:
        config.option.reportchars += 's'  # every skip says why, without -rs
    socket.setdefaulttimeout(10)  # a call to a server that hangs fails, not waits
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A script's background job (as under CI) starts with SIGINT ignored, which the
        # servers would inherit; a reader's takes Ctrl-C: hand them its default instead.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line('filterwarnings', 'error::DeprecationWarning')
    # Python 3.15 warns of forkpty() with threads running: pexpect's child execs at once.
    forkpty = 'is multi-threaded, use of forkpty'
    config.addinivalue_line(
        'filterwarnings', f'ignore:This process .* {forkpty}:DeprecationWarning'
    )
    config.addinivalue_line('markers', 'slow: beyond the transcripts; -m "not slow" skips it')
    config.addinivalue_line('markers', 'stops_server(all=False): ends a shared server; runs last')


def pytest_collection(session):
    """Before any test: end the run, saying what holds it, if a port a server needs is taken."""
    held = [who_holds(p) for p in PROTOCOLS.values() if not port_is_free(p.port)]
    if held:
        lines = ['no test has run: a port the servers need is taken.']
        lines += [line for holder in held for line in holder] + ['Then run the tests again.']
        pytest.exit('\n'.join(lines), returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT, method='signal'))
    items.sort(key=stopping_order)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if NO_SKIPS and report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome, report.longrepr = 'failed', f'skipped, and CI_NO_SKIPS=1: {reason}'
    return report


def stopping_order(item):
    """Tests that stop no server first, then those that stop them all, then the rest:
    a server stopped is started again only when a later test needs it."""
    marker = item.get_closest_marker('stops_server')
    return 0 if marker is None else 1 if marker.kwargs.get('all') else 2


@pytest.fixture(scope='session')
def servers(tmp_path_factory):
    running = Servers(tmp_path_factory)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(autouse=True)
def no_server_dies(request):
    """Fail a test during which a shared server exited, showing why."""
    yield
    if 'servers' in request.fixturenames and not request.node.get_closest_marker('stops_server'):
        dead = request.getfixturevalue('servers').died()
        if dead:
            pytest.fail('\n'.join(server.describe_exit() for server in dead), pytrace=False)


@pytest.fixture(scope='session')
def run_client(servers, tmp_path_factory):
    """Run a client script once, as a reader does, remembered; the transcripts' clients run
    first, side by side, ready by the time a test asks."""
    runs = ClientRuns(servers, tmp_path_factory.mktemp('client-workdir'))
    runs.run_together(transcript_clients())
    return runs


@pytest.fixture
def xmlrpc_proxy(servers):
    servers['xmlrpc']
    return xmlrpc.client.ServerProxy(XMLRPC_URL)


@pytest.fixture
def rpyc_conn(servers):
    servers['rpyc']
    with rpyc_connect() as conn:
        yield conn

"""The chapter's transcripts and README.md's sessions, replayed for real.

A session is what a reader types and sees: start a server with its output
going to server.log, run clients (or curl), `cat server.log`, stop the
server. Every command's output is compared with what the session shows.
"""

import pytest
from helpers import JSONRPC_LOG_LINE, PROTOCOLS, ROOT, TRANSCRIPTS, XMLRPC_LOG_LINE
from sessions import CLIENT, is_its_own, parse_session, readme_blocks, replay, stops_a_server


@pytest.mark.parametrize('path', sorted(TRANSCRIPTS.glob('*.txt')), ids=lambda path: path.stem)
def test_transcript(path, servers, run_client, tmp_path):
    replay(path.read_text(encoding='utf-8'), servers, run_client, tmp_path)


def marks(session):
    """The quick run replays the sessions of the chapter's scripts; the rest are slow."""
    commands = [command for command, _ in parse_session(session)]
    if stops_a_server(session):
        return [pytest.mark.slow, pytest.mark.stops_server]
    if any(CLIENT.fullmatch(command) for command in commands):
        return []
    return [pytest.mark.slow]  # curl, or a server started for a Python prompt


@pytest.mark.parametrize(
    'heading, session',
    [
        pytest.param(heading, session, id=heading, marks=marks(session))
        for heading, session in readme_blocks('console')
        # one with commands of its own is typed into bash and zsh by test_shells.py
        if not any(is_its_own(command) for command, _ in parse_session(session))
    ],
)
def test_readme_session(heading, session, servers, run_client, tmp_path):
    replay(session, servers, run_client, tmp_path)


def test_readme_runs_every_script():
    commands = [c for _, s in readme_blocks('console') for c, _ in parse_session(s)]
    scripts = {p.name for p in ROOT.glob('*.py')}
    shown = {word for command in commands for word in command.split() if word in scripts}
    assert shown == scripts


@pytest.mark.parametrize(
    'script, count',
    [
        ('xmlrpc_client.py', 8),
        ('xmlrpc_introspect.py', 7),  # listMethods, then 2 per function
        ('xmlrpc_multicall.py', 1),
        ('jsonrpc_client.py', 1),
    ],
)
def test_one_log_line_per_http_request(script, count, run_client):
    pattern = XMLRPC_LOG_LINE if script.startswith('xmlrpc') else JSONRPC_LOG_LINE
    logged = run_client(script).log_lines
    assert [line for line in logged if not pattern.fullmatch(line)] == []
    assert len(logged) == count


def test_rpyc_server_logs_each_call(run_client):
    assert run_client('rpyc_client.py').log_lines == ['Client has invoked exposed_line_counter()']


@pytest.mark.parametrize('protocol', PROTOCOLS.values(), ids=repr)
def test_startup_line_is_all_the_log_holds_at_start(protocol, servers):
    expected = [] if protocol.startup_line is None else [protocol.startup_line]
    assert servers[protocol.name].startup_log == expected

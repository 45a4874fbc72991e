"""The book's transcripts and README.md's console sessions, replayed for real: a server
started with its output going to server.log, clients or curl run, `cat server.log`, the
server stopped; each command's output is what the session shows. (test_shells.py types the
same sessions into bash and zsh.)"""

import pytest
from helpers import PROTOCOLS, ROOT, TRANSCRIPTS, XMLRPC_LOG_LINE
from readme import blocks
from sessions import CLIENT, has_its_own_commands, parse_session, replay, stops_a_server


@pytest.mark.parametrize('path', sorted(TRANSCRIPTS.glob('*.txt')), ids=lambda path: path.stem)
def test_transcript(path, servers, run_client, tmp_path):
    replay(path.read_text(encoding='utf-8'), servers, run_client, tmp_path)


def marks(session):
    """The quick run replays the sessions of the chapter's scripts; the rest are slow."""
    if stops_a_server(session):
        return [pytest.mark.slow, pytest.mark.stops_server]
    if any(CLIENT.fullmatch(command) for command, _ in parse_session(session)):
        return []
    return [pytest.mark.slow]  # curl, or a server started for a Python prompt


@pytest.mark.parametrize(
    'block',
    [
        pytest.param(block, id=block.id, marks=marks(block.text))
        for block in blocks('console')
        if not has_its_own_commands(block.text)  # those test_shells.py alone types
    ],
)
def test_readme_session(block, servers, run_client, tmp_path):
    replay(block.text, servers, run_client, tmp_path)


def test_readme_runs_every_script():
    commands = [c for block in blocks('console') for c, _ in parse_session(block.text)]
    scripts = {p.name for p in ROOT.glob('*.py')}
    assert {word for c in commands for word in c.split() if word in scripts} == scripts


@pytest.mark.parametrize(
    'script, count',
    [
        pytest.param(script, count, id=script)
        for script, count in [
            ('xmlrpc_client.py', 8),
            ('xmlrpc_introspect.py', 7),
            ('xmlrpc_multicall.py', 1),
        ]
    ],
)
def test_the_log_has_a_line_for_each_http_request(script, count, run_client):
    """README: "8 for the client, 7 for the introspection ... 1 for the multicall"."""
    logged = run_client(script).log_lines
    assert [line for line in logged if not XMLRPC_LOG_LINE.fullmatch(line)] == []
    assert len(logged) == count


@pytest.mark.parametrize('protocol', PROTOCOLS.values(), ids=repr)
def test_the_startup_line_is_all_the_log_holds_at_start(protocol, servers):
    expected = [] if protocol.startup_line is None else [protocol.startup_line]
    assert servers[protocol.name].startup_log == expected

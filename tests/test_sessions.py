"""The chapter's transcripts and README.md's sessions, replayed for real.

A session is what a reader types and sees: start a server with its output
going to server.log, run clients, `cat server.log`, stop the server. Every
command's output is compared with what the session shows.
"""

import re

import pytest
from helpers import (
    JSONRPC_LOG_LINE,
    PROTOCOLS,
    ROOT,
    TRANSCRIPTS,
    XMLRPC_LOG_LINE,
    assert_lines,
    parse_session,
)

START = re.compile(r'python3 (\w+)_server\.py &>server\.log &')
CLIENT = re.compile(r'python3 (\w+\.py)((?: \S+)*)')
TRACEBACK = 'Traceback (most recent call last):'


def readme_sessions():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return re.findall(r'^```console\n(.*?)^```', readme, flags=re.MULTILINE | re.DOTALL)


def replay(session, servers, run_client):
    """Check each command's output against what the session shows."""
    server_log = None  # what `cat server.log` would show at this point
    for command, expected in parse_session(session):
        start, client = START.fullmatch(command), CLIENT.fullmatch(command)
        if start:
            assert expected == [], f'{command!r} prints nothing'
            server_log = list(servers[start.group(1)].startup_log)
        elif client:
            assert server_log is not None, f'{command!r} runs before any server starts'
            run = run_client(client.group(1), *client.group(2).split())
            if TRACEBACK in expected:
                split = expected.index(TRACEBACK)
                expected_stdout, expected_stderr = expected[:split], expected[split:]
            else:
                expected_stdout, expected_stderr = expected, []
            assert_lines(expected_stdout, run.stdout, f'the output of {command!r}')
            assert_lines(expected_stderr, run.stderr, f'the error output of {command!r}')
            assert run.returncode == (1 if expected_stderr else 0), f'exit status of {command!r}'
            server_log += run.log_lines
        elif command == 'cat server.log':
            assert_lines(expected, server_log, 'server.log')
        elif command == 'kill %1':  # the signal tests stop servers for real
            assert expected == [], f'{command!r} prints nothing'
        else:
            pytest.fail(f'the session runs a command the tests do not know: {command!r}')


@pytest.mark.parametrize('path', sorted(TRANSCRIPTS.glob('*.txt')), ids=lambda path: path.stem)
def test_transcript(path, servers, run_client):
    replay(path.read_text(encoding='utf-8'), servers, run_client)


@pytest.mark.parametrize('session', readme_sessions(), ids=lambda s: s.split()[2])
def test_readme_session(session, servers, run_client):
    replay(session, servers, run_client)


def test_readme_runs_every_script():
    commands = [c for s in readme_sessions() for c, _ in parse_session(s)]
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

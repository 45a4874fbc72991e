"""README.md's console sessions, typed into a real interactive bash and zsh: one shell
for all, as one reader's terminal, in README's order, each command once the prompt is
back (after a server's start, once its port is open). Each command must print what README
shows, the shell's words about its jobs aside; no job or process may be left at the end.
The only replays of sessions with commands of their own (test_sessions.py replays the rest)."""

import shutil

import pytest
from helpers import PROTOCOLS, port_accepts, wait_for_port, wait_until
from processes import shell_env, with_the_scripts
from readme import assert_matches, blocks
from sessions import START, parse_session, without_readers_warnings
from terminals import JOB_ENDED, Shell, TerminalError, without_job_notices

pytestmark = [pytest.mark.slow, pytest.mark.stops_server(all=True)]

COMMAND_TIMEOUT = 10  # seconds for any one command to give the prompt back


def type_readme_into(shell, name, curl):
    """Type README's console sessions into the shell, in order (curl's only if `curl`); check
    what each prints; at the end no process, job or listening server may be left."""
    for block in blocks('console'):
        for command, shown in parse_session(block.text):
            if command.startswith('curl ') and not curl:
                continue
            try:
                printed = shell.type(command)
            except TerminalError as error:
                pytest.fail(f'under "{block.heading}": {error}', pytrace=False)
            what = f'{name}: under "{block.heading}", the output of {command.splitlines()[0]!r}'
            assert_matches(shown, without_readers_warnings(without_job_notices(printed)), what)
            if start := START.fullmatch(command):
                wait_for_port(PROTOCOLS[start.group(1)].port, shell.running, COMMAND_TIMEOUT)
    # `kill` only sends a signal: give the last server a moment to end.
    wait_until(lambda: not shell.running(), f'{name} left {shell.running()} running', 5)
    jobs = [line for line in shell.type('jobs') if not JOB_ENDED.match(line)]
    assert jobs == [], f'jobs left in {name}'
    assert [p for p in PROTOCOLS.values() if port_accepts(p.port)] == [], 'a server still listens'


@pytest.mark.parametrize('name', ['bash', 'zsh'])
def test_readme_typed_into_a_shell(name, servers, tmp_path):
    """The shell's `python3` is ours, as in an activated virtual environment. (CI runs
    README's setup commands, in rows of their own.)"""
    if shutil.which(name) is None:
        pytest.skip(f'{name} is not installed: README is not typed into it')
    curl = shutil.which('curl') is not None
    for protocol in PROTOCOLS:
        servers.stop(protocol)  # their ports are for the shell's servers
    directory, env = with_the_scripts(tmp_path / 'clone'), shell_env(tmp_path / 'bin')
    with Shell(name, directory, env, COMMAND_TIMEOUT) as shell:
        type_readme_into(shell, name, curl)
    if not curl:
        pytest.skip(f"curl is not installed: README's curl commands were not typed into {name}")

"""README.md's console sessions, typed into a real interactive bash and zsh.

One shell for all of them, as one reader's terminal: each session in
README's order, each command typed once the prompt is back, and after a
server's start once its port is open, as a reader waits a moment. What
each command prints must be what README shows, the shell's own words
about its jobs aside. At the end no job and no process may be left.

These are the only replays of README's sessions with commands of their own
(tests/test_sessions.py replays the rest too, one session at a time).
"""

import shutil
import time

import pytest
from helpers import PROTOCOLS, port_accepts, skip_unless_ci, wait_for_port
from processes import shell_env, with_the_scripts
from sessions import START, assert_lines, parse_session, readme_blocks
from shell import JOB_ENDED, InteractiveShell, ShellError, without_job_notices

pytestmark = [pytest.mark.slow, pytest.mark.stops_server(all=True)]

COMMAND_TIMEOUT = 10  # seconds for any one command to give the prompt back


def type_readme_into(shell, name, curl):
    """Type README's console sessions into the shell, in order; check what each prints.

    `curl`: whether curl is installed; if not, its commands are left out. At
    the end no process started from the shell may run, no job may be left,
    and no server may listen.
    """
    for heading, session in readme_blocks('console'):
        for command, expected in parse_session(session):
            if command.startswith('curl ') and not curl:
                continue
            try:
                printed = shell.type(command, COMMAND_TIMEOUT)
            except ShellError as error:
                pytest.fail(f'under "{heading}": {error}', pytrace=False)
            what = f'{name}: under "{heading}", the output of {command.splitlines()[0]!r}'
            assert_lines(expected, without_job_notices(printed), what)
            if start := START.fullmatch(command):
                wait_for_port(PROTOCOLS[start.group(1)].port, shell.running, COMMAND_TIMEOUT)
    # `kill` only sends a signal: give the last server a moment to end.
    deadline = time.monotonic() + 5
    while (left := shell.running()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert left == [], f'processes left running by {name}: {[p.cmdline() for p in left]}'
    jobs = [line for line in shell.type('jobs') if not JOB_ENDED.match(line)]
    assert jobs == [], f'jobs left in {name}'
    assert [p for p in PROTOCOLS.values() if port_accepts(p.port)] == [], 'a server still listens'


@pytest.mark.parametrize('name', ['bash', 'zsh'])
def test_readme_typed_into_a_shell(name, servers, tmp_path):
    """The shell's `python3` is ours, as in an activated virtual environment.

    (README's setup command for uv users is run by CI, in a row of its own.)
    """
    if shutil.which(name) is None:
        skip_unless_ci(f'{name} is not installed: README is not typed into it')
    curl = shutil.which('curl') is not None
    for protocol in PROTOCOLS:
        servers.stop(protocol)  # their ports are for the shell's servers
    directory, env = with_the_scripts(tmp_path / 'clone'), shell_env(tmp_path / 'bin')
    with InteractiveShell(name, directory, env, COMMAND_TIMEOUT) as shell:
        type_readme_into(shell, name, curl)
    if not curl:
        skip_unless_ci(f"curl is not installed: README's curl commands were not typed into {name}")

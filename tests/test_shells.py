"""README.md's console sessions, typed into a real interactive bash and zsh.

One shell for all of them, as one reader's terminal: each session in
README's order, each command typed once the prompt is back, and after a
server's start once its port is open, as a reader waits a moment. What
each command prints must be what README shows, the shell's own words
about its jobs aside. At the end no job and no process may be left.
"""

import shutil
import time

import pytest
from helpers import PROTOCOLS, port_accepts, skip_unless_ci, wait_for_port
from processes import shell_env, with_the_scripts
from sessions import START, assert_lines, parse_session, readme_blocks
from shell import JOB_ENDED, InteractiveShell, ShellError, without_job_notices

pytestmark = [pytest.mark.slow, pytest.mark.stops_server]

COMMAND_TIMEOUT = 10  # seconds for any one command to give the prompt back


def type_readme_into(shell, name):
    """Type README's console sessions into the shell, in order; check what each prints.

    At the end no process started from the shell may run, no job may be
    left, and no server may listen.
    """
    for heading, session in readme_blocks('console'):
        for command, expected in parse_session(session):
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


UV_SETUP_TIMEOUT = 120  # seconds: the first time, uv downloads the packages


@pytest.mark.parametrize('name', ['bash', 'zsh'])
def test_readme_typed_into_a_shell(name, servers, tmp_path):
    """zsh's `python3` is ours, as in a virtual environment made with pip; bash
    makes one with uv, typing README's command, where uv is installed."""
    for program in (name, 'curl'):
        if shutil.which(program) is None:
            skip_unless_ci(f'{program} is not installed: README is not typed into {name}')
    for protocol in PROTOCOLS:
        servers.stop(protocol)  # their ports are for the shell's servers
    directory, env = with_the_scripts(tmp_path / 'clone'), shell_env(tmp_path / 'bin')
    env['VIRTUAL_ENV_DISABLE_PROMPT'] = '1'  # activate leaves the prompt as it is
    with InteractiveShell(name, directory, env, COMMAND_TIMEOUT) as shell:
        if name == 'bash' and shutil.which('uv'):
            (setup,) = [block for _, block in readme_blocks('sh') if block.startswith('uv ')]
            shell.type(setup.strip(), UV_SETUP_TIMEOUT)
            assert shell.type('echo $?') == ['0'], f'{setup.strip()!r} failed'
            assert shell.type('command -v python3') == [f'{directory}/.venv/bin/python3']
            name = 'bash, the uv way'
        type_readme_into(shell, name)

"""README's test command as a reader meets it: a server left running from the
sessions ends the run at once, with one message saying what holds the port
and how to stop it; and every skipped test says why."""

import re
import shlex
import subprocess
import sys
import time

import psutil
import pytest
from helpers import PROTOCOLS, ROOT
from processes import script_env, who_holds

MAX_RUN = 10  # seconds for a run that a held port ends


def run_the_suite(*args, env):
    """`python -m pytest`, as README runs it, from the project's directory."""
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.stops_server
def test_a_server_left_running_ends_the_run_with_one_message(servers):
    # The shared JSON-RPC server, started from a directory of its own, stands
    # for one a reader left running; the other two ports are free.
    left = servers['jsonrpc']
    servers.stop('xmlrpc')
    servers.stop('rpyc')
    started = time.monotonic()
    run = run_the_suite(env=script_env())
    took = time.monotonic() - started
    pid = left.process.pid
    said = [
        '! _pytest.outcomes.Exit: no test has run: a port the servers need is taken.',
        f'Port 7002 (jsonrpc_server.py) is held by PID {pid}, a server left running?',
        f'    {shlex.join([sys.executable, str(ROOT / "jsonrpc_server.py")])}',
        f'    Stop it with: kill {pid}',
        'Then run the tests again. !',
    ]
    lines = run.stdout.splitlines()
    assert said[0] in lines, run.stdout
    first = lines.index(said[0])
    assert lines[first : first + len(said)] == said, run.stdout
    assert re.findall(r'\b(?:Port|passed|failed|errors?)\b', run.stdout) == ['Port'], run.stdout
    assert 'no tests ran' in run.stdout
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert took < MAX_RUN, f'the run took {took:.1f} s to end'


class AnotherUsersProcess:
    """A process that psutil may list, but not look into."""

    pid = 1

    def net_connections(self, kind):
        raise psutil.AccessDenied(self.pid)


def test_a_holder_this_user_cannot_look_into_is_found_by_its_port(monkeypatch):
    monkeypatch.setattr(psutil, 'process_iter', lambda: iter([AnotherUsersProcess()]))
    assert who_holds(PROTOCOLS['rpyc']) == [
        'Port 18861 (rpyc_server.py) is held by a process this user cannot look into.',
        '    `lsof -i :18861` names it, or on Linux `ss -ltnp "sport = 18861"`',
        "    (as root, if it is another user's).",
    ]


def test_every_skip_says_why_with_readmes_command(pytestconfig):
    # As `-rs` would: the run's summary names each skipped test and the reason.
    assert 's' in pytestconfig.pluginmanager.get_plugin('terminalreporter').reportchars

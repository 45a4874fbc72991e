"""README's test command as a reader meets it: a server left running from the
sessions ends the run at once, with one message saying what holds the port
and how to stop it; every skipped test says why; and each test's id names
what it proves, in README's words where it replays README."""

import importlib
import re
import shlex
import subprocess
import sys
import time

import pytest
from helpers import ROOT
from readme import prose, quoted

MAX_RUN = 10  # seconds for a run that a held port ends


@pytest.mark.slow
@pytest.mark.stops_server
def test_a_server_left_running_ends_the_run_with_one_message(servers):
    """README: "If a server from your sessions holds a port, the run ends at once, naming it
    and the `kill` that stops it". The shared JSON-RPC server, started from a directory of its
    own, stands for one a reader left running; the other two ports are free."""
    left = servers['jsonrpc']
    servers.stop('xmlrpc')
    servers.stop('rpyc')
    started = time.monotonic()
    pytest_command = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider']  # README's
    run = subprocess.run(pytest_command, cwd=ROOT, capture_output=True, text=True, timeout=60)
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


def test_every_skip_says_why_with_readmes_command(pytestconfig):
    """README: "A test that cannot run on your machine is skipped, and the summary says why"
    (as `-rs` would)."""
    assert 's' in pytestconfig.pluginmanager.get_plugin('terminalreporter').reportchars


def test_under_ci_no_skips_a_skip_fails(monkeypatch):
    # CI's rows that must run every test set CI_NO_SKIPS=1.
    import conftest

    for no_skips, outcome in [(False, 'skipped'), (True, 'failed')]:
        monkeypatch.setattr(conftest, 'NO_SKIPS', no_skips)
        report = pytest.TestReport('t', ('t', 0, 't'), {}, 'skipped', ('t', 1, 'no uv'), 'call')
        hook = conftest.pytest_runtest_makereport(None, None)
        next(hook)
        with pytest.raises(StopIteration) as done:
            hook.send(report)
        assert done.value.value.outcome == outcome


def test_every_readme_quote_in_a_tests_docstring_is_readmes():
    """A test of a sentence quotes it in its docstring, after `README:`, for `grep -rn` to
    find: README must say it still, line breaks aside."""
    tests = [
        test
        for path in sorted(ROOT.glob('tests/test_*.py'))
        for name, test in vars(importlib.import_module(path.stem)).items()
        if name.startswith('test_')
    ]
    quotes = [(test.__name__, words) for test in tests for words in quoted(test.__doc__)]
    assert len(quotes) > 30, 'the quotes are not found'
    assert [quote for quote in quotes if quote[1] not in prose()] == []


def test_no_test_id_ends_in_pytests_numeric_suffix(request):
    """Every id is one of the suite's own, never pytest's `name1` for a second `name`."""
    ids = [item.nodeid for item in request.session.items]
    assert [i for i in ids if re.search(r'\d\]$', i)] == []

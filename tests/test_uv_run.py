"""The book's transcripts once more, every script run by `uv run`, which reads a script's
`# /// script` block and runs it in an environment made for it, fetching the packages the
first time. Skipped where uv is missing or cannot reach the package index."""

import concurrent.futures
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest
from helpers import PROTOCOLS, TRANSCRIPTS, ordinary_call, port_accepts
from processes import ClientRuns, Servers
from sessions import replay

UV = shutil.which('uv')
# The Python this venv was made from, outside it: uv must bring the packages itself.
BASE_PYTHON = Path(sys.base_prefix) / 'bin' / 'python{}.{}'.format(*sys.version_info)
# --quiet: on its first run uv says what it installed, which is not the script's output.
UV_RUN = (UV, 'run', '--quiet', '--no-project', '--python', str(BASE_PYTHON))
NOT_FETCHED = re.compile(r'^error: (Failed to fetch|Request failed)[^\n]*', re.M)  # uv's words

pytestmark = [
    pytest.mark.slow,
    pytest.mark.stops_server(all=True),
    pytest.mark.skipif(
        UV is None, reason='uv is not installed: the `uv run` sessions are untried'
    ),
]


def a_session_through_uv_run(name, tmp_path_factory):
    """The transcript of one protocol, its server and clients run by uv; then `kill -STOP`
    and `kill` sent to uv."""
    uv_servers = Servers(tmp_path_factory, launcher=UV_RUN, start=[name])
    try:
        try:
            server = uv_servers[name]
        except pytest.fail.Exception as failure:  # uv ended before the server listened
            if not_fetched := NOT_FETCHED.search(str(failure)):
                pytest.skip(f'uv cannot fetch the packages (offline?): {not_fetched.group()}')
            raise
        transcript = (TRANSCRIPTS / f'{name}.txt').read_text(encoding='utf-8')
        workdir = tmp_path_factory.mktemp(f'{name}-through-uv')
        replay(transcript, uv_servers, ClientRuns(uv_servers, workdir, UV_RUN), workdir)
        server.process.send_signal(signal.SIGSTOP)  # to uv alone, not to its process group
        try:
            ordinary_call(name)  # the server runs on
        finally:
            server.process.send_signal(signal.SIGCONT)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=5) in {-signal.SIGTERM, 128 + signal.SIGTERM}
        with pytest.raises(ProcessLookupError):  # uv's group is empty: nothing left
            os.killpg(server.process.pid, 0)
        assert not port_accepts(PROTOCOLS[name].port)
    finally:
        uv_servers.stop_all()


def test_the_sessions_through_uv_run(servers, tmp_path_factory, monkeypatch):
    """README: "`$!` is uv's: `kill $!` reaches the server, but `kill -STOP $!` pauses uv
    alone"; and "the first run of each script fetches it from the package index"."""
    monkeypatch.setenv('UV_HTTP_RETRIES', '1')  # offline, uv gives up in 2 s rather than 10
    for name in PROTOCOLS:
        servers.stop(name)  # their ports are needed
    with concurrent.futures.ThreadPoolExecutor(len(PROTOCOLS)) as pool:  # each its own port
        sessions = [pool.submit(a_session_through_uv_run, n, tmp_path_factory) for n in PROTOCOLS]
    for session in sessions:
        session.result()  # raises what failed or was skipped, if anything was

"""The chapter's sessions once more, every script run by `uv run`.

uv reads the dependencies from each script's `# /// script` block, if it
has one, and runs it in an environment made for it. Signals sent to uv must reach the script,
and nothing may be left running once uv exits. Skipped where uv is missing.
"""

import concurrent.futures
import os
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.stops_server(all=True),
    pytest.mark.skipif(UV is None, reason='uv is not installed: the `uv run` session is untried'),
]


def a_session_through_uv_run(name, tmp_path_factory):
    """The chapter's session of one protocol, its server and clients run by uv; then
    `kill -STOP`, Ctrl-C and `kill` sent to uv."""
    uv_servers = Servers(tmp_path_factory, launcher=UV_RUN, start=[name])
    try:
        transcript = (TRANSCRIPTS / f'{name}.txt').read_text(encoding='utf-8')
        workdir = tmp_path_factory.mktemp(f'{name}-through-uv')
        replay(transcript, uv_servers, ClientRuns(uv_servers, workdir, UV_RUN), workdir)
        # README: `kill -STOP $!` pauses uv alone; the script it started runs on.
        server = uv_servers[name]
        server.process.send_signal(signal.SIGSTOP)
        try:
            ordinary_call(name)
        finally:
            server.process.send_signal(signal.SIGCONT)
        # The signal goes to uv alone, not to its process group as Ctrl-C would.
        for signum, returncodes, last_lines in [
            (signal.SIGINT, {0}, PROTOCOLS[name].stop_lines),
            (signal.SIGTERM, {-signal.SIGTERM, 128 + signal.SIGTERM}, []),
        ]:
            server = uv_servers[name]  # a new one after the first signal
            ordinary_call(name)
            logged_before = len(server.log_lines())
            server.process.send_signal(signum)
            assert server.process.wait(timeout=5) in returncodes, f'{name}: uv after {signum}'
            assert server.log_lines()[logged_before:] == last_lines, f'{name} after {signum}'
            with pytest.raises(ProcessLookupError):  # uv's group is empty: nothing left
                os.killpg(server.process.pid, 0)
            assert not port_accepts(PROTOCOLS[name].port)
    finally:
        uv_servers.stop_all()


def test_the_sessions_through_uv_run(servers, tmp_path_factory):
    for name in PROTOCOLS:
        servers.stop(name)  # their ports are needed
    with concurrent.futures.ThreadPoolExecutor(len(PROTOCOLS)) as pool:  # each its own port
        sessions = [pool.submit(a_session_through_uv_run, n, tmp_path_factory) for n in PROTOCOLS]
    for session in sessions:
        session.result()  # raises what failed, if anything did

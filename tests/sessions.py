"""Shell sessions, as the transcripts and README.md show them: parsed into
commands and what each prints, and replayed against real runs."""

import os
import re
import shutil
import subprocess

import pytest
from helpers import TRANSCRIPTS, protocol_of
from processes import run_script
from readme import as_here, assert_matches

HEREDOC = re.compile(r"<<'(\w+)'$")  # a command that reads the lines after it, up to a marker
START = re.compile(r'python3 (\w+)_server\.py &>server\.log &')
CLIENT = re.compile(r'python3 (\w+_(?:client|introspect|multicall)\.py)((?: \S+)*)')
KNOWN = re.compile(rf'{START.pattern}|{CLIENT.pattern}|curl .*|cat server\.log|kill \$!', re.S)
TRACEBACK = 'Traceback (most recent call last):'


def parse_session(text):
    """Split a shell session into [(command, [output lines]), ...]. A command that ends in a
    here-document (`<<'EOF'`) takes the lines after it, to the marker, as a shell does."""
    steps, lines = [], iter(text.splitlines())
    for line in lines:
        if line.startswith('$ '):
            command = line[2:]
            if heredoc := HEREDOC.search(command):
                body = []
                for body_line in lines:
                    body.append(body_line)
                    if body_line == heredoc.group(1):
                        break
                else:
                    raise ValueError(f'here-document without its end marker: {command!r}')
                command = '\n'.join([command, *body])
            steps.append((command, []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f'output before any command: {line!r}')
    return steps


def transcript_clients():
    """Every client command the book's transcripts run, in their order."""
    return [
        (client.group(1), *client.group(2).split())
        for path in sorted(TRANSCRIPTS.glob('*.txt'))
        for command, _ in parse_session(path.read_text(encoding='utf-8'))
        if (client := CLIENT.fullmatch(command))
    ]


# What a reader's own warning settings (PYTHONWARNINGS=error, say) add, as README says:
# rpyc leaves open the socket of a connection or a bind that failed.
WARNINGS_SHOWN = bool(os.environ.get('PYTHONWARNINGS') or os.environ.get('PYTHONDEVMODE'))
UNCLOSED_SOCKET = re.compile(  # as Python 3.9 to 3.15 word it
    r'(Exception ignored (in: |while finalizing socket )'
    r'|(sys:1: |<sys>:0: )?ResourceWarning: unclosed )<socket\.socket .*>:?'
)


def without_readers_warnings(lines):
    """The lines, without those a reader's warning settings add to them."""
    if not WARNINGS_SHOWN:
        return lines
    return [line for line in lines if not UNCLOSED_SOCKET.fullmatch(line)]


def has_its_own_commands(session):
    """Whether the session runs more than servers, clients, curl, `cat server.log` and
    `kill $!`: then only a real shell replays it (tests/test_shells.py)."""
    return any(not KNOWN.fullmatch(command) for command, _ in parse_session(session))


def stops_a_server(session):
    """Whether replaying the session stops a server that the other tests share: it runs a
    client before any server is started."""
    for command, _ in parse_session(session):
        if START.fullmatch(command):
            return False
        if CLIENT.fullmatch(command):
            return True
    return False


def curl(command, cwd):
    """Run a curl command, here-document and all, in bash; what it prints, byte for byte."""
    for program in ('bash', 'curl'):
        if shutil.which(program) is None:
            pytest.skip(f"README's session needs {program}, which is not installed here")
    ran = subprocess.run(['bash', '-c', command], capture_output=True, cwd=cwd, timeout=30)
    assert (ran.stderr, ran.returncode) == (b'', 0), command
    return ran.stdout.decode()


def replay(session, servers, run_client, workdir):
    """Check each command's output against what the session shows. The session's server is
    the one the tests share, and its clients' runs are those the transcripts' checks use
    too; `kill $!` leaves it for the next test. A client run before any server stops it."""
    server = None
    for command, shown in parse_session(session):
        start, client = START.fullmatch(command), CLIENT.fullmatch(command)
        if start:
            assert shown == [], f'{command!r} prints nothing'
            server = servers[start.group(1)]
            server_log = list(server.startup_log)  # what `cat server.log` would show
        elif client and server is None:  # a client with no server to answer it
            servers.stop(protocol_of(client.group(1)).name)
            run = run_script(client.group(1), *client.group(2).split(), cwd=workdir)
            printed = without_readers_warnings((run.stdout + run.stderr).decode().splitlines())
            assert_matches(shown, printed, f'the output of {command!r}, with no server')
            assert run.returncode == 1, f'exit status of {command!r}'
        elif client:
            run = run_client(client.group(1), *client.group(2).split())
            split = shown.index(TRACEBACK) if TRACEBACK in shown else len(shown)
            assert_matches(shown[:split], run.stdout, f'the output of {command!r}')
            assert_matches(shown[split:], run.stderr, f'the error output of {command!r}')
            assert run.returncode == (1 if shown[split:] else 0), f'exit status of {command!r}'
            server_log += run.log_lines
        elif command == 'cat server.log':
            assert_matches(shown, server_log, 'server.log')
        elif command == 'kill $!':  # the shared server lives on for the next test
            assert shown == [], f'{command!r} prints nothing'
            server = None
        else:
            logged_before = len(server.log_lines()) if server else 0
            printed = curl(command, workdir)
            assert printed == as_here(''.join(line + '\n' for line in shown)), printed
            if server is not None:
                server_log += server.log_lines()[logged_before:]

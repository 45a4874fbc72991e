"""Shell sessions, as the transcripts and README.md show them: parsing them,
comparing output with them, and replaying them against real runs."""

import difflib
import errno
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from helpers import (
    README,
    TIMESTAMP,
    TRANSCRIPTS,
    json_as_written_here,
    protocol_of,
    skip_unless_ci,
)
from processes import run_script, shell_env

HEREDOC = re.compile(r"<<'(\w+)'$")  # a command that reads the lines after it, up to a marker
START = re.compile(r'python3 (\w+)_server\.py &>server\.log &')
CLIENT = re.compile(r'python3 (\w+_(?:client|introspect|multicall)\.py)((?: \S+)*)')
STOP, PAUSE, RESUME = 'kill $!', 'kill -STOP $!', 'kill -CONT $!'  # $!: the server


def parse_session(text):
    """Split a shell session into [(command, [output lines]), ...].

    A command that ends in a here-document (`<<'EOF'`) takes the lines that
    follow, through the marker, as part of itself, the way a shell does.
    """
    steps = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith('$ '):
            command = line[2:]
            heredoc = HEREDOC.search(command)
            if heredoc:
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
    """Every client command the chapter's transcripts run, in their order."""
    return [
        (client.group(1), *client.group(2).split())
        for path in sorted(TRANSCRIPTS.glob('*.txt'))
        for command, _ in parse_session(path.read_text(encoding='utf-8'))
        if (client := CLIENT.fullmatch(command))
    ]


def readme_blocks(language):
    """README.md's ```<language> blocks: [(the heading they stand under, their text), ...]."""
    readme = README.read_text(encoding='utf-8')
    blocks, heading = [], None
    for match in re.finditer(
        r'^#+ (.*?)$|^```(\w*)\n(.*?)^```', readme, flags=re.MULTILINE | re.DOTALL
    ):
        if match.group(1) is not None:
            heading = match.group(1)
        elif match.group(2) == language:
            blocks.append((heading, match.group(3)))
    return blocks


# README shows what Linux and today's Pythons print, and names each difference.
def _error(code):
    return f'[Errno {code}] {os.strerror(code)}'


HERE = {  # Linux's error numbers, as this system numbers them
    '[Errno 111] Connection refused': _error(errno.ECONNREFUSED),
    '[Errno 104] Connection reset by peer': _error(errno.ECONNRESET),
}
if sys.version_info < (3, 10):  # what Python 3.9 prints instead
    HERE['_Method.__call__() got'] = '__call__() got'  # a method without its class
    HERE['TimeoutError: timed out'] = 'socket.timeout: timed out'
if sys.version_info < (3, 14):  # before 3.14, json does not say where the value was
    HERE["\nwhen serializing list item 0\nwhen serializing dict item 'params'"] = ''
# A line that timing may print otherwise; README gives both.
OR_ELSE = {'EOFError: [Errno 104] Connection reset by peer': 'EOFError: connection closed by peer'}


def as_here(text):
    """What README's text would be on this system, this Python and its JSON library."""
    for shown, here in HERE.items():
        text = text.replace(shown, here)
    return json_as_written_here(text)


# What changes from run to run, or with the Python in use, where README shows it.
CHANGING = [
    (TIMESTAMP, '[<time>]'),  # a log line's
    (re.compile(r'(?<= took )\d+\.\d\d s(?=, )'), '<seconds>'),  # a run through the relay
    (re.compile(r'Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT'), 'Date: <date>'),
    (re.compile(r'(?<=Python-xmlrpc/)3\.\d+'), '<version>'),  # xmlrpc.client's User-Agent
    (re.compile(r'(?<=Python )3\.\d+\.\d+[^)]*'), '<version>'),  # jsonrpclib's User-Agent
    (
        re.compile(r'(?<=^header: Server: ).*', re.MULTILINE),
        '<server>',
    ),  # http.server's, which 3.15 changed
    (re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'), '<uuid>'),
]


def unchanging(text):
    """The text with what changes from run to run (times, dates, UUIDs) put as <time> and so on."""
    for pattern, put in CHANGING:
        text = pattern.sub(put, text)
    return text


def _same_line(expected, actual):
    """Equal, but for what changes from run to run; or the line README says may stand there."""
    shown = [expected, OR_ELSE[expected]] if expected in OR_ELSE else [expected]
    return unchanging(actual) in {as_here(unchanging(line)) for line in shown}


# What a reader's own warning settings (PYTHONWARNINGS=error or default, say) add,
# as README says: rpyc leaves open the socket of a connection or a bind that failed,
# and Python warns of it as it exits.
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


def lines_match(expected, actual):
    """Equal line by line, but for timestamps; a line `...` stands for one or more lines."""
    if not expected:
        return not actual
    if expected[0] == '...':
        return any(lines_match(expected[1:], actual[i:]) for i in range(1, len(actual) + 1))
    return (
        bool(actual)
        and _same_line(expected[0], actual[0])
        and lines_match(expected[1:], actual[1:])
    )


def assert_lines(expected, actual, what):
    """Fail, showing expected against actual, unless the lines match."""
    actual = without_readers_warnings(actual)
    if not lines_match(expected, actual):
        diff = difflib.unified_diff(expected, actual, 'expected', 'actual', lineterm='')
        pytest.fail(f'{what} is not what was expected:\n' + '\n'.join(diff), pytrace=False)


def assert_exactly(expected, actual, what):
    """Fail unless the texts are equal byte for byte, showing each line's repr()."""
    if expected != actual:
        diff = difflib.unified_diff(
            [repr(line) for line in expected.splitlines(keepends=True)],
            [repr(line) for line in actual.splitlines(keepends=True)],
            'expected',
            'actual',
            lineterm='',
        )
        pytest.fail(f'{what} is not what was expected:\n' + '\n'.join(diff), pytrace=False)


TRACEBACK = 'Traceback (most recent call last):'


def run_in_shell(command, cwd, env, server=None):
    """Run a command line, here-document and all, in bash, from `cwd`.

    `$!` is the PID of the session's server, as after `python3 ... &`. As on
    a terminal, what it writes to stderr is among what it prints; but curl's
    stderr is kept apart, for its output is compared byte for byte. A command
    still running after 30 s fails, and all it started is stopped.
    """
    curl = command.startswith('curl ')
    for program in ['bash', 'curl'] if curl else ['bash']:
        if shutil.which(program) is None:
            skip_unless_ci(f"README's session needs {program}, which is not installed here")
    if server is not None:
        command = command.replace('$!', str(server.process.pid))
    with subprocess.Popen(
        ['bash', '-c', command + '\n'],  # README's sessions are typed into bash or zsh
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if curl else subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,  # a group of its own, to stop all of it if need be
    ) as shell:
        try:
            stdout, stderr = shell.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            pytest.fail(f'{command!r} still ran after 30 s', pytrace=False)
    return subprocess.CompletedProcess(shell.args, shell.returncode, stdout, stderr)


def is_its_own(command):
    """Whether a command is neither a server's start, nor a client, nor one of
    the commands the replay knows (curl, `cat server.log`, `kill $!`...)."""
    known = START.fullmatch(command) or CLIENT.fullmatch(command) or command.startswith('curl ')
    return not known and command not in (STOP, PAUSE, RESUME, 'cat server.log')


def stops_a_server(session):
    """Whether replaying the session stops a server the other tests share.

    It does when it runs a client before it starts a server, and may when it
    runs a command of its own, which may kill one.
    """
    started = False
    for command, _ in parse_session(session):
        started = started or bool(START.fullmatch(command))
        if is_its_own(command) or (CLIENT.fullmatch(command) and not started):
            return True
    return False


def replay(session, servers, run_client, workdir):
    """Check each command's output against what the session shows.

    A session's server is the one the tests share, and its clients' runs are
    those the transcripts' checks use too; `kill $!` leaves it for the
    next test. A session that runs a client with no server started stops it.
    """
    server = None  # the session's server, once started
    paused = False
    env = shell_env(workdir / 'bin')  # for commands of its own: python3 is ours
    try:
        for command, expected in parse_session(session):
            start, client = START.fullmatch(command), CLIENT.fullmatch(command)
            if start:
                assert expected == [], f'{command!r} prints nothing'
                server = servers[start.group(1)]
                server_log = list(server.startup_log)  # what `cat server.log` would show
            elif client and server is None:  # a client with no server to answer it
                servers.stop(protocol_of(client.group(1)).name)
                run = run_script(client.group(1), *client.group(2).split(), cwd=workdir)
                printed = (run.stdout + run.stderr).decode('utf-8').splitlines()
                assert_lines(expected, printed, f'the output of {command!r}, with no server')
                assert run.returncode == 1, f'exit status of {command!r}'
            elif client:
                run = run_client(client.group(1), *client.group(2).split())
                if TRACEBACK in expected:
                    split = expected.index(TRACEBACK)
                    expected_stdout, expected_stderr = expected[:split], expected[split:]
                else:
                    expected_stdout, expected_stderr = expected, []
                assert_lines(expected_stdout, run.stdout, f'the output of {command!r}')
                assert_lines(expected_stderr, run.stderr, f'the error output of {command!r}')
                failed = bool(expected_stderr)
                assert run.returncode == (1 if failed else 0), f'exit status of {command!r}'
                server_log += run.log_lines
            elif command == 'cat server.log':
                assert server is not None, f'{command!r} with no server started'
                assert_lines(expected, server_log, 'server.log')
            elif command in (STOP, PAUSE, RESUME):
                assert expected == [], f'{command!r} prints nothing'
                if command == STOP:  # the shared server lives on for the next test
                    server = None  # (or it is an earlier block's, started before Python)
                else:
                    assert server is not None, f'{command!r} with no server started'
                    paused = command == PAUSE
                    server.process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)
            else:  # curl, or a command of its own: run it in a shell, from the server's directory
                cwd = workdir if server is None else server.log_path.parent
                logged_before = len(server.log_lines()) if server else 0
                ran = run_in_shell(command, cwd, env, server)
                if command.startswith('curl '):  # its output is shown byte for byte
                    assert (ran.stderr, ran.returncode) == (b'', 0), command
                    shown = as_here(''.join(line + '\n' for line in expected))
                    assert_exactly(shown, ran.stdout.decode(), repr(command.splitlines()[0]))
                else:
                    printed = ran.stdout.decode('utf-8').splitlines()
                    assert_lines(expected, printed, f'the output of {command!r}')
                if server is not None:
                    server_log += server.log_lines()[logged_before:]
    finally:
        if paused:  # never leave a shared server stopped
            server.process.send_signal(signal.SIGCONT)

"""Shell sessions, as the transcripts and README.md show them: parsing them,
and replaying them against real runs."""

import difflib
import re
import shutil
import subprocess

import pytest
from helpers import README, TIMESTAMP, TRANSCRIPTS
from processes import script_env

HEREDOC = re.compile(r"<<'(\w+)'$")  # a command that reads the lines after it, up to a marker
START = re.compile(r'python3 (\w+)_server\.py &>server\.log &')
CLIENT = re.compile(r'python3 (\w+_(?:client|introspect|multicall)\.py)((?: \S+)*)')


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


def _normalize(line):
    return TIMESTAMP.sub('[<time>]', line)


def lines_match(expected, actual):
    """Equal line by line, but for timestamps; a line `...` stands for one or more lines."""
    if not expected:
        return not actual
    if expected[0] == '...':
        return any(lines_match(expected[1:], actual[i:]) for i in range(1, len(actual) + 1))
    return (
        bool(actual)
        and _normalize(expected[0]) == _normalize(actual[0])
        and lines_match(expected[1:], actual[1:])
    )


def assert_lines(expected, actual, what):
    """Fail, showing expected against actual, unless the lines match."""
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


def run_curl(command, cwd):
    """Run a curl command line, here-document and all, as a reader's shell would."""
    if shutil.which('curl') is None:
        pytest.fail('README.md shows curl sessions, and curl is not installed here', pytrace=False)
    return subprocess.run(
        ['sh', '-c', command + '\n'], capture_output=True, cwd=cwd, env=script_env(), timeout=30
    )


def replay(session, servers, run_client, workdir):
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
        elif command.startswith('curl '):
            assert server_log is not None, f'{command!r} runs before any server starts'
            curl = run_curl(command, workdir)
            assert (curl.stderr, curl.returncode) == (b'', 0), command
            shown = ''.join(line + '\n' for line in expected)  # each line ends in a newline
            assert_exactly(
                shown, curl.stdout.decode(), f'the output of {command.splitlines()[0]!r}'
            )
        elif command == 'cat server.log':
            assert_lines(expected, server_log, 'server.log')
        elif command == 'kill %1':  # the signal tests stop servers for real
            assert expected == [], f'{command!r} prints nothing'
        else:
            pytest.fail(f'the session runs a command the tests do not know: {command!r}')

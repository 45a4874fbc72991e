"""README.md as the tests read it: its blocks, each with an id that names its
heading and its first call; its prose, in which a test finds the sentence it
proves; and one matcher for what a session shows against what a run printed.

A `...` in a session stands for what a reader need not read (lines of a
traceback, an address), as in a doctest: the matcher is doctest's.
"""

import difflib
import doctest
import errno
import os
import re
import sys

import jsonrpclib.jsonrpc
import pytest
from helpers import JSON_LIBRARY, README, STANDARD_JSON, TIMESTAMP


class Block:
    """A fenced block of README.md: its language, its text, and the heading it stands under."""

    def __init__(self, heading, language, text):
        self.heading, self.language, self.text = heading, language, text
        calls = [
            line.partition(' ')[2]
            for line in text.splitlines()
            if line.startswith(('$ ', '>>> '))
            and not re.match(r'(\$ python3 \w+_server\.py &|>>> (import |\w+ = ))', line)
        ] or [line.partition(' ')[2] for line in text.splitlines() if line.startswith('$ ')]
        first = calls[0] if calls else language
        self.id = f'{heading}: {first[:48]}'

    def __repr__(self):
        return self.id


def blocks(language):
    """README's ```<language> blocks, in order, each id told apart from every other."""
    found, heading = [], None
    text = README.read_text(encoding='utf-8')
    for match in re.finditer(r'^#+ (.*?)$|^```(\w*)\n(.*?)^```', text, flags=re.M | re.S):
        if match.group(1) is not None:
            heading = match.group(1)
        elif match.group(2) == language:
            found.append(Block(heading, language, match.group(3)))
    ids = [block.id for block in found]
    assert len(set(ids)) == len(ids), f'two README blocks would have one id: {ids}'
    return found


def prose():
    """README's text outside code blocks, as read: links as their words, breaks as spaces."""
    text = re.sub(r'^```.*?^```', '', README.read_text(encoding='utf-8'), flags=re.M | re.S)
    text = re.sub(r'\[([^]]+)\](\([^)]*\)|\[[^]]*\])', r'\1', text)  # a link's words only
    return ' '.join(text.split())


def says(words):
    """Fail unless README says these words, line breaks aside."""
    assert words in prose(), f'README no longer says: {words!r}'


def quoted(docstring):
    """The README words a test's docstring quotes: each "..." after `README:`, split at ` ... `.
    tests/test_the_run.py checks that README says each."""
    after = ' '.join((docstring or '').split()).partition('README: ')[2]
    return [words for quote in re.findall(r'"([^"]+)"', after) for words in quote.split(' ... ')]


# What README shows that differs here: the system, the Python, the JSON library --------


def _error(code):
    return f'[Errno {code}] {os.strerror(code)}'


HERE = {  # README shows Linux's error numbers
    '[Errno 111] Connection refused': _error(errno.ECONNREFUSED),
    '[Errno 104] Connection reset by peer': _error(errno.ECONNRESET),
}
if sys.version_info < (3, 10):  # what Python 3.9 prints instead
    HERE['_Method.__call__() got'] = '__call__() got'
    HERE['TimeoutError: timed out'] = 'socket.timeout: timed out'
if sys.version_info < (3, 14):  # before 3.14, json does not say where the value was
    HERE["\nwhen serializing list item 0\nwhen serializing dict item 'params'"] = ''
# A line that timing may print otherwise; README says so.
OR_ELSE = {'EOFError: [Errno 104] Connection reset by peer': 'EOFError: connection closed by peer'}

# What changes from run to run, or with the Python in use, where README shows it.
CHANGING = [
    (TIMESTAMP, '[<time>]'),  # a log line's
    (re.compile(r'(?<= took )\d+\.\d\d s(?=, )'), '<seconds>'),  # a run through the relay
    (re.compile(r'Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT'), 'Date: <date>'),
    (re.compile(r'(?<=Python-xmlrpc/)3\.\d+'), '<version>'),  # xmlrpc.client's User-Agent
    (re.compile(r'(?<=Python )3\.\d+\.\d+[^)]*'), '<version>'),  # jsonrpclib's User-Agent
    (re.compile(r'(?<=^header: Server: ).*', re.M), '<server>'),  # http.server's; 3.15 changed it
    (re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'), '<uuid>'),
]

# What each JSON library changes in README's JSON-RPC sessions (README says so).
JSON_CHANGES = {
    'orjson': {
        '2**100': 'refuses integers over 64 bits',
        "{1: 'H'": 'refuses integer dict keys',
        "b'\\x00": 'words its error about bytes otherwise',
        'verbose=True': 'writes JSON without spaces',
    },
    'ujson': {
        "b'\\x00": 'words its error about bytes otherwise',
        'verbose=True': 'writes JSON without spaces',
    },
    'simplejson': {"b'\\x00": 'words its error about bytes otherwise (it sends UTF-8 as text)'},
}


def json_library_changes(session):
    """Why this environment's JSON library makes a README session print otherwise, or None."""
    changes = [w for shown, w in JSON_CHANGES.get(JSON_LIBRARY, {}).items() if shown in session]
    if 'jsonrpclib' not in session or not changes:
        return None
    return f'jsonrpclib-pelix uses {JSON_LIBRARY} here, which ' + ', and '.join(changes)


def as_here(text):
    """What README's text would be on this system, this Python and its JSON library."""
    for shown, here in HERE.items():
        text = text.replace(shown, here)
    if not STANDARD_JSON:  # each line that is a JSON object, as the library here writes it
        loads, dumps = jsonrpclib.jsonrpc.jloads, jsonrpclib.jsonrpc.jdumps
        text = re.sub(r'(?m)^\{".*\}$', lambda line: dumps(loads(line.group())), text)
    return text


def unchanging(text):
    """The text with what changes from run to run (times, dates, UUIDs) put as <time> and so on."""
    for pattern, put in CHANGING:
        text = pattern.sub(put, text)
    return text


_CHECKER = doctest.OutputChecker()


def matches(shown, printed):
    """Whether printed text is what README (or a transcript) shows, `...` standing for any text."""
    printed = unchanging(printed)
    variants = [shown] + [
        shown.replace(one, other) for one, other in OR_ELSE.items() if one in shown
    ]
    return any(
        _CHECKER.check_output(unchanging(as_here(v)), printed, doctest.ELLIPSIS) for v in variants
    )


def assert_matches(shown_lines, printed_lines, what):
    """Fail, showing the one against the other, unless the printed lines are what is shown."""
    shown, printed = ('\n'.join(lines) + '\n' for lines in (shown_lines, printed_lines))
    if not matches(shown, printed):
        diff = difflib.unified_diff(
            as_here(shown).splitlines(), printed.splitlines(), 'shown', 'printed', lineterm=''
        )
        pytest.fail(f'{what} is not what was expected:\n' + '\n'.join(diff), pytrace=False)

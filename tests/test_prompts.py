"""README.md's prompt sessions (```pycon blocks), typed a key at a time into this Python's
prompt on a terminal. The screen must show each exactly, but for its `...` and what changes
from run to run (a date, a UUID) or with the Python in use (its version in HTTP headers)."""

import concurrent.futures
import sys

import pytest
from helpers import PROTOCOLS
from processes import script_env
from readme import assert_matches, blocks, json_library_changes

pytestmark = pytest.mark.slow  # beyond what the book's transcripts show

SESSIONS = blocks('pycon')


def typed_lines(session):
    """The lines a reader types: each after `>>> `, and the `... ` lines that follow it."""
    typed, in_source = [], False
    for line in session.splitlines():
        if line.startswith('>>> '):
            typed.append(line[4:])
            in_source = True
        elif in_source and (line.startswith('... ') or line == '...'):
            typed.append(line[4:])  # '...' alone: an empty line, which ends a statement
        else:
            in_source = False
    return typed


@pytest.fixture(scope='module')
def prompt_env(tmp_path_factory):
    home = tmp_path_factory.mktemp('home')  # for Python's history file, not the reader's
    return home, {**script_env(), 'HOME': str(home)}


@pytest.fixture(scope='module')
def typed(servers, prompt_env):
    """{session: what the screen showed}: each session typed into a prompt of its
    own, all at the same time; a session the JSON library here changes is not."""
    from terminals import PythonPrompt  # here: the quick run needs no pyte

    for name in PROTOCOLS:
        servers[name]

    def type_into_a_prompt(session):
        with PythonPrompt(sys.executable, *prompt_env) as python:
            for line in typed_lines(session):
                python.type(line)
            return python.screen()

    sessions = [block.text for block in SESSIONS if not json_library_changes(block.text)]
    with concurrent.futures.ThreadPoolExecutor(len(sessions)) as pool:
        return {session: pool.submit(type_into_a_prompt, session) for session in sessions}


@pytest.mark.parametrize('block', [pytest.param(b, id=b.id) for b in SESSIONS])
def test_readme_prompt_session(block, typed):
    if reason := json_library_changes(block.text):
        pytest.skip(reason)
    screen = typed[block.text].result()  # raises what went wrong in typing, if anything did
    shown = block.text.rstrip('\n').splitlines() + ['>>>']  # and the next prompt
    assert_matches(shown, screen.splitlines(), f'under "{block.heading}", the screen')


def test_the_prompt_indents_by_itself_from_python_3_13(prompt_env):
    """README: "none needs an indent, even at 3.13's prompt, which indents by itself"."""
    from terminals import PythonPrompt

    with PythonPrompt(sys.executable, *prompt_env) as python:
        python.type('if True:')
        line = python.cursor_line()
    assert line == ('...     ' if sys.version_info >= (3, 13) else '... ')

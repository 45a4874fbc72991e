"""A real Python prompt on a pseudo-terminal, typed into a key at a time, as a reader types.

    with PythonPrompt(sys.executable, cwd, env) as python:
        python.type('1 + 1')      # one line, then Enter; waits for the next prompt
    python.screen()               # what the terminal shows: '>>> 1 + 1\n2\n>>> '

The prompt is the one this Python gives on a terminal: from 3.13 on, the
line editor that indents a line by itself after one ending in a colon. What
it draws is read through a terminal emulator (pyte), so that the screen is
what a reader would see, whatever the editor does to draw it.
"""

import os
import re
import select
import time

import pyte
from shell import hang_up, start_on_a_terminal

ROWS, COLUMNS = 500, 500  # room for every session: nothing scrolls or wraps
PROMPT = re.compile(r'(>>>|\.\.\.) *')  # a prompt, and the indent it may give


class PromptError(Exception):
    """The prompt did not come back in time, or Python ended."""


class PythonPrompt:
    def __init__(self, python, cwd, env, timeout=10):
        self._timeout = timeout
        self._screen = pyte.Screen(COLUMNS, ROWS)
        self._stream = pyte.ByteStream(self._screen)
        argv, env = [python, '-q'], {**env, 'TERM': 'xterm'}  # -q: no banner
        self.process, self._terminal = start_on_a_terminal(argv, cwd, env, (ROWS, COLUMNS))
        try:
            self._wait_for_a_prompt(-1, 'Python to start')
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def cursor_line(self):
        """The line the cursor is on, up to the cursor."""
        line, cursor = self._screen.buffer[self._screen.cursor.y], self._screen.cursor
        return ''.join(line[column].data for column in range(cursor.x))

    def type(self, line):
        """Type a line a key at a time, then Enter; wait for the prompt to come back."""
        typed_on = self._screen.cursor.y
        for key in line:
            os.write(self._terminal, key.encode())
        os.write(self._terminal, b'\r')
        self._wait_for_a_prompt(typed_on, repr(line))

    def _wait_for_a_prompt(self, below, after):
        """Wait for a prompt on a line below the given one: what was typed has been read."""
        deadline = time.monotonic() + self._timeout
        while self._screen.cursor.y <= below or not PROMPT.fullmatch(self.cursor_line()):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._terminal], [], [], left)[0]:
                raise PromptError(f'no prompt {self._timeout} s after {after}:\n{self.screen()}')
            try:
                self._stream.feed(os.read(self._terminal, 65536))
            except OSError as error:  # Python has ended: its terminal is closed
                raise PromptError(f'Python ended after {after}:\n{self.screen()}') from error

    def screen(self):
        """The screen's text: its lines without trailing spaces, and no empty ones around them."""
        buffer = self._screen.buffer  # {row: {column: character}}, the cells written to
        lines = [
            ''.join(buffer[row][column].data for column in range(max(buffer[row], default=-1) + 1))
            for row in range(max(buffer, default=-1) + 1)
        ]
        return '\n'.join(line.rstrip() for line in lines).strip('\n')

    def close(self):
        """End Python, as a closed terminal window would."""
        hang_up(self.process)
        os.close(self._terminal)

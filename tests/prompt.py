"""A real Python prompt on a pseudo-terminal, typed into a key at a time, as a reader types.

    with PythonPrompt(sys.executable, cwd, env) as python:
        python.type('1 + 1')      # one line, then Enter; waits for the next prompt
    python.screen()               # what the terminal shows: '>>> 1 + 1\n2\n>>> '

The prompt is the one this Python gives on a terminal: from 3.13 on, the
line editor that indents a line by itself after one ending in a colon. What
it draws is read through a terminal emulator (pyte), so that the screen is
what a reader would see, whatever the editor does to draw it.
"""

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pyte

ROWS, COLUMNS = 500, 500  # room for every session: nothing scrolls or wraps
PROMPT = re.compile(r'(>>>|\.\.\.) *')  # a prompt, and the indent it may give


def _take_the_terminal():
    """In the child, before Python starts: a session of its own, the pty its terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PromptError(Exception):
    """The prompt did not come back in time, or Python ended."""


class PythonPrompt:
    def __init__(self, python, cwd, env, timeout=10):
        self._timeout = timeout
        self._screen = pyte.Screen(COLUMNS, ROWS)
        self._stream = pyte.ByteStream(self._screen)
        self._terminal, pythons_end = pty.openpty()
        fcntl.ioctl(pythons_end, termios.TIOCSWINSZ, struct.pack('HHHH', ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            [python, '-q'],  # -q: no banner
            stdin=pythons_end,
            stdout=pythons_end,
            stderr=pythons_end,
            cwd=cwd,
            env={**env, 'TERM': 'xterm'},
            preexec_fn=_take_the_terminal,
        )
        os.close(pythons_end)
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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._terminal)

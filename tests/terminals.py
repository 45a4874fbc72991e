"""Programs on a pseudo-terminal, typed into as a reader types: bash or zsh, and Python's prompt.

    with Shell('zsh', cwd, env) as shell:
        shell.type('python3 xmlrpc_server.py &>server.log &')   # -> ['[1] 4242']
        shell.running()                                         # -> [the server's process]
    with PythonPrompt(sys.executable, cwd, env) as python:
        python.type('1 + 1')    # a key at a time, then Enter; waits for the next prompt
        python.screen()         # what the terminal shows: '>>> 1 + 1\n2\n>>>'

pexpect starts each in a session of its own, on its own terminal, as a terminal window
does (a shell has job control); closing a shell stops all it started, background jobs too.
"""

import contextlib
import os
import re
import signal
import time

import pexpect
import psutil
import pyte

PROMPT = '@@prompt@@ '
# The prompt is set from two quoted halves: the set-up line, which zsh echoes before
# `stty -echo` takes effect, must not itself look like a prompt.
SET_PROMPT = "stty -echo; PS1='@@pro''mpt@@ '; PS2=''"
SHELLS = {  # bash keeps no history of ours; zsh's line editor is off, and so is `notify`:
    # zsh tells of a job's end before its next prompt, as bash does, not in mid-output.
    'bash': (['bash', '--norc', '--noprofile', '--noediting', '-i'], 'unset HISTFILE; '),
    'zsh': (['zsh', '-f', '-i'], 'unsetopt zle prompt_sp prompt_cr notify; '),
}
# What a shell says of its jobs: "[1] 4242" as one starts, and "[1]+  Terminated  python3 ..."
# (bash) or "[1]  + terminated  python3 ..." (zsh) as it ends.
JOB_NOTICE = re.compile(r'\[\d+\]( \d+|\s*[+-]?\s+[A-Za-z].*)')
JOB_ENDED = re.compile(r'\[\d+\]\s*[+-]?\s+(terminated|done|exit|killed)', re.IGNORECASE)
ROWS, COLUMNS = 500, 500  # Python's terminal: room for every session, nothing scrolls or wraps
PYTHON_PROMPT = re.compile(r'(>>>|\.\.\.) *')  # a prompt, and the indent it may give


class TerminalError(Exception):
    """The program did not give its prompt back: not in time, or not at all (it ended)."""


def _default_signals():
    """In the child: SIGPIPE and SIGXFSZ, which Python ignores, as subprocess leaves them."""
    for number in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)


class _Terminal:
    """A program on a pseudo-terminal of its own."""

    def __init__(self, argv, cwd, env, timeout, **options):
        options.update(cwd=cwd, env=env, preexec_fn=_default_signals, encoding='utf-8')
        self.child = pexpect.spawn(argv[0], argv[1:], codec_errors='replace', **options)
        self.child.delaybeforesend = None  # no pause before each key: we wait for prompts
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def failure(self, error, after, shown):
        what = 'ended' if isinstance(error, pexpect.EOF) else f'gave no prompt in {self.timeout} s'
        return TerminalError(f'{self.child.name} {what} after {after}; it shows:\n{shown}')

    def close(self):
        """End the program as closing its window would: SIGHUP; SIGKILL if it lingers 5 s."""
        self.child.kill(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.child.isalive():
            if time.monotonic() > deadline:
                self.child.kill(signal.SIGKILL)
            time.sleep(0.01)
        self.child.close()


class Shell(_Terminal):
    def __init__(self, name, cwd, env, timeout=10):
        argv, set_up = SHELLS[name]
        super().__init__(argv, cwd, {**env, 'TERM': 'dumb'}, timeout, echo=False)
        try:
            self.type(set_up + SET_PROMPT)
        except BaseException:
            self.close()
            raise

    def type(self, command):
        """Type a command, here-document and all; return the lines it printed."""
        self.child.sendline(command)
        try:
            self.child.expect_exact(PROMPT, timeout=self.timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as error:
            raise self.failure(error, repr(command), self.child.before) from None
        return self.child.before.replace('\r', '').splitlines()

    def running(self):
        """The processes of the shell's session but the shell: what it started and still runs,
        jobs it lost track of too (a process keeps its session when its parent ends)."""
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to ask
                if process.pid != self.child.pid and os.getsid(process.pid) == self.child.pid:
                    found.append(process)
        return found

    def close(self):
        """Hang up the shell, then SIGKILL what it started that still runs (a stopped job too)."""
        started = self.running()
        super().close()
        for process in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(started, timeout=5)


def without_job_notices(lines):
    """The lines a command printed, without the shell's words about its jobs; bash puts an
    empty line before its notice of a stopped job, which belongs to the notice."""
    kept = []
    for line in lines:
        if not JOB_NOTICE.fullmatch(line):
            kept.append(line)
        elif kept and kept[-1] == '' and 'Stopped' in line:
            kept.pop()
    return kept


class PythonPrompt(_Terminal):
    """Python's prompt on a terminal. From 3.13 on, a line editor redraws lines and indents
    after a colon: the screen is read through a terminal emulator, pyte."""

    def __init__(self, python, cwd, env, timeout=10):
        self._screen = pyte.Screen(COLUMNS, ROWS)
        self._stream = pyte.Stream(self._screen)
        env = {**env, 'TERM': 'xterm'}
        super().__init__([python, '-q'], cwd, env, timeout, dimensions=(ROWS, COLUMNS))
        try:
            self._wait_for_a_prompt(-1, 'Python to start')
        except BaseException:
            self.close()
            raise

    def type(self, line):
        """Type a line a key at a time, then Enter; wait for the prompt to come back."""
        typed_on = self._screen.cursor.y
        for key in line:
            self.child.send(key)
        self.child.send('\r')
        self._wait_for_a_prompt(typed_on, repr(line))

    def _wait_for_a_prompt(self, below, after):
        """Feed the screen what Python writes until a prompt is on a line below the given one."""
        deadline = time.monotonic() + self.timeout
        while self._screen.cursor.y <= below or not PYTHON_PROMPT.fullmatch(self.cursor_line()):
            try:
                left = max(0, deadline - time.monotonic())
                self._stream.feed(self.child.read_nonblocking(65536, timeout=left))
            except (pexpect.TIMEOUT, pexpect.EOF) as error:
                raise self.failure(error, after, self.screen()) from None

    def cursor_line(self):
        """The line the cursor is on, up to the cursor."""
        line, cursor = self._screen.buffer[self._screen.cursor.y], self._screen.cursor
        return ''.join(line[column].data for column in range(cursor.x))

    def screen(self):
        """The screen's text: its lines without trailing spaces, and no empty ones around them."""
        buffer = self._screen.buffer  # {row: {column: character}}, the cells written to
        rows = [buffer[row] for row in range(max(buffer, default=-1) + 1)]
        lines = [''.join(row[c].data for c in range(max(row, default=-1) + 1)) for row in rows]
        return '\n'.join(line.rstrip() for line in lines).strip('\n')

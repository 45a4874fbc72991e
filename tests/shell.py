"""A real interactive bash or zsh on a pseudo-terminal, typed into as a reader types.

    with InteractiveShell('zsh', cwd, env) as shell:
        shell.type('python3 xmlrpc_server.py &>server.log &')   # -> the lines it printed

The shell has job control, as in a terminal: it numbers background jobs and
tells of their ends. Each command is typed once the prompt is back, and what
it printed is read up to the next prompt. When the shell is closed, every
process started from it is stopped, the servers it ran in the background too.
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

import psutil

PROMPT = '@@prompt@@ '
# The prompt is set from two quoted halves: the set-up line, echoed before
# `stty -echo` takes effect, must not itself look like a prompt.
SET_PROMPT = "stty -echo; PS1='@@pro''mpt@@ '; PS2=''"
SHELLS = {
    'bash': (['bash', '--norc', '--noprofile', '--noediting', '-i'], SET_PROMPT),
    # zle off: no line editor writing to the screen; notify off: zsh tells of
    # a job's end before its next prompt, as bash does, not in mid-output.
    'zsh': (['zsh', '-f', '-i'], f'unsetopt zle prompt_sp prompt_cr notify; {SET_PROMPT}'),
}
# What the shell itself says of jobs: "[1] 4242" when one starts, and
# "[1]+  Terminated  python3 ..." (bash) or "[1]  + terminated  python3 ..." (zsh).
JOB_NOTICE = re.compile(r'\[\d+\]( \d+|\s*[+-]?\s+[A-Za-z].*)')
JOB_ENDED = re.compile(r'\[\d+\]\s*[+-]?\s+(terminated|done|exit|killed)', re.IGNORECASE)


class ShellError(Exception):
    """The shell did not give its prompt back: not in time, or not at all (it ended)."""


def _take_the_terminal():
    """In the child, before its program starts: a session of its own, the pty its terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def start_on_a_terminal(argv, cwd, env, size=None):
    """Start a program on a pseudo-terminal of its own, as a terminal window
    starts one; return the process and our end of the terminal. `size`:
    (rows, columns), for a program that asks the terminal how large it is."""
    ours, theirs = pty.openpty()
    if size:
        fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack('HHHH', *size, 0, 0))
    process = subprocess.Popen(
        argv,
        stdin=theirs,
        stdout=theirs,
        stderr=theirs,
        cwd=cwd,
        env=env,
        preexec_fn=_take_the_terminal,
    )
    os.close(theirs)
    return process, ours


def hang_up(process):
    """End a program started on a terminal, as closing its window would."""
    if process.poll() is None:
        process.send_signal(signal.SIGHUP)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class InteractiveShell:
    def __init__(self, name, cwd, env, timeout=10):
        argv, set_up = SHELLS[name]
        self.name = name
        self.process, self._terminal = start_on_a_terminal(argv, cwd, {**env, 'TERM': 'dumb'})
        try:
            self.type(set_up, timeout)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def type(self, command, timeout=10):
        """Type a command, here-document and all; return the lines it printed.

        Raise ShellError if the prompt is not back within `timeout` seconds.
        """
        os.write(self._terminal, command.encode() + b'\n')
        output, deadline = b'', time.monotonic() + timeout
        while not output.endswith(PROMPT.encode()):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._terminal], [], [], left)[0]:
                raise ShellError(
                    f'{self.name}: no prompt {timeout} s after {command!r}; '
                    f'it printed:\n{output.decode(errors="replace")}'
                )
            try:
                output += os.read(self._terminal, 65536)
            except OSError as error:  # the shell has ended: its terminal is closed
                raise ShellError(f'{self.name} ended after {command!r}: {error}') from error
        text = output[: -len(PROMPT)].decode('utf-8', 'replace').replace('\r', '')
        return text.splitlines()

    def running(self):
        """The processes started from the shell that still run, jobs it lost track of too.

        They are those of its session: a process keeps its session when its
        parent goes, as a background job does when its shell ends.
        """
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to ask
                if process.pid != self.process.pid and os.getsid(process.pid) == self.process.pid:
                    found.append(process)
        return found

    def close(self):
        """End the shell, and stop whatever it started."""
        with_processes = self.running()
        hang_up(self.process)
        for process in with_processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()  # SIGKILL: a stopped process too
        psutil.wait_procs(with_processes, timeout=5)
        os.close(self._terminal)


def without_job_notices(lines):
    """The lines a command printed, without the shell's own words about its jobs.

    bash puts an empty line before its notice of a stopped job (after a
    Ctrl-Z, the cursor would be mid-line): that line is the notice's.
    """
    kept = []
    for line in lines:
        if JOB_NOTICE.fullmatch(line):
            if kept and kept[-1] == '' and 'Stopped' in line:
                kept.pop()
        else:
            kept.append(line)
    return kept

"""Measure the limits README.md states that are too slow for the test suite.

    python tests/measure.py idle 8000       (from the project directory)

Each command starts the servers it needs, as the tests do, with their output
going to a server.log of their own, prints what it measured, and stops them.
The servers' ports must be free. `idle` and `ctrl-c` need a limit on open
files (`ulimit -Hn`) above the number of connections. All need Linux, where
one process may change another's limits; `trickle` also reads /proc/net/tcp.
"""

import argparse
import contextlib
import functools
import gzip
import http.client
import json
import re
import resource
import signal
import socket
import struct
import sys
import sysconfig
import tempfile
import threading
import time
import xmlrpc.client
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from helpers import (
    JSONRPC_LOG_LINE,
    PROTOCOLS,
    XMLRPC_LOG_LINE,
    XMLRPC_URL,
    PeakMemory,
    ordinary_call,
)
from processes import CallingClients, Server, idle_clients, wait_until

HTTP_SERVERS = ['xmlrpc', 'jsonrpc']


@contextlib.contextmanager
def running(name):
    """A server started as a reader starts it, with as many descriptors as we may give."""
    with tempfile.TemporaryDirectory() as directory:
        server = Server(PROTOCOLS[name], Path(directory))
        try:
            server.wait_until_ready()
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            psutil.Process(server.process.pid).rlimit(psutil.RLIMIT_NOFILE, (hard, hard))
            yield server
        finally:
            server.stop()


def timed(call, *args):
    started = time.monotonic()
    call(*args)
    return time.monotonic() - started


def answered(name):
    """Make an ordinary call, again and again until one is answered."""
    while True:
        with contextlib.suppress(OSError, EOFError):  # TimeoutError is an OSError
            return ordinary_call(name)


def idle(count):
    """Memory per idle client, a call meanwhile, and the silence once all hang up."""
    for name in PROTOCOLS:
        with running(name) as server:
            process = psutil.Process(server.process.pid)
            before = process.memory_info().rss
            with idle_clients(server, count):
                held = process.memory_info().rss
                call = timed(ordinary_call, name)
            silence = timed(answered, name)
        print(
            f'{name}: {count} idle clients hold {(held - before) / 2**20:.0f} MB '
            f'({(held - before) / 1024 / count:.0f} KB each); a call took {call * 1000:.0f} ms '
            f'among them, and {silence:.1f} s the moment they all hung up'
        )


def stops(tries, calling=20):
    """Ctrl-C to each server while clients call it, again and again: how it ends."""
    for name in PROTOCOLS:
        times, statuses, reports = [], Counter(), 0
        for _ in range(tries):
            with running(name) as server, CallingClients(name, calling) as clients:
                wait_until(server, lambda: clients.answered >= calling, 'answered calls')
                logged_before = len(server.log_lines())
                server.process.send_signal(signal.SIGINT)
                times.append(timed(server.process.wait, 10))
                statuses[server.process.returncode] += 1
                logged = server.log_lines()[logged_before:]
                reports += any('Traceback' in line or 'Exception' in line for line in logged)
        print(
            f'{name}: Ctrl-C among {calling} calling clients, {tries} times: exit statuses '
            f'{dict(statuses)}, stopped in {min(times):.2f}-{max(times):.2f} s; '
            f'a traceback or report in the log {reports} times'
        )


def ctrl_c(count):
    """How long Ctrl-C takes to stop rpyc_server.py with `count` idle clients."""
    with running('rpyc') as server, idle_clients(server, count):
        server.process.send_signal(signal.SIGINT)
        stopped = timed(server.process.wait)
    print(f'rpyc: Ctrl-C with {count} idle clients stopped the server in {stopped:.2f} s')


def call_body(name, text):
    """A valid call with one string argument, as raw HTTP would carry it: (path, body)."""
    if name == 'xmlrpc':
        body = '<methodCall><methodName>addtogether</methodName><params><param><value>'
        body += f'<string>{text}</string></value></param></params></methodCall>'
        return '/RPC2', body.encode()
    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'lengths', 'params': [text]})
    return '/', body.encode()


def post(name, path, body, headers=()):
    """POST a body to a server over raw HTTP; return the status and the answer's length."""
    connection = http.client.HTTPConnection('127.0.0.1', PROTOCOLS[name].port)
    try:
        connection.request('POST', path, body, dict(headers))
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def big_call(name, megabytes):
    """Make a valid call with one string argument of the given size, over raw HTTP."""
    text = 'x' * (megabytes * 2**20)
    status, length = post(name, *call_body(name, text))
    assert status == 200 and length > len(text)


def body(megabytes):
    """The HTTP servers' peak memory while they take a valid call of that size."""
    for name in HTTP_SERVERS:
        with running(name) as server, PeakMemory(server.process.pid) as memory:
            big_call(name, megabytes)
        print(f'{name}: a valid {megabytes} MB call took the server to {memory.peak_mb:.0f} MB')


def trickle(connections, bytes_each=2400):
    """rpyc's memory as frames that claim 2 GB arrive a byte at a time."""
    with running('rpyc') as server:
        process = psutil.Process(server.process.pid)
        before = process.memory_info().rss
        with contextlib.ExitStack() as held:
            socks = [
                held.enter_context(socket.create_connection(('127.0.0.1', server.protocol.port)))
                for _ in range(connections)
            ]
            for sock in socks:
                sock.sendall(struct.pack('!LB', 2**31 - 1, 0))  # a frame's header
            for _ in range(bytes_each):
                for sock in socks:
                    sock.sendall(b'x')
                time.sleep(0.001)  # a byte at a time: the server reads each on its own
            port = server.protocol.port
            wait_until(server, lambda: unread(port) == 0, 'the server to read what was sent', 60)
            held_mb = (process.memory_info().rss - before) / 2**20
        total = connections * bytes_each
        print(
            f'rpyc: {total // 1000} KB trickled in over {connections} connections held '
            f'{held_mb:.0f} MB ({held_mb * 2**20 / total / 1024:.1f} KB a byte)'
        )


def unread(port):
    """How many bytes wait in the server's sockets on `port` for it to read them (Linux)."""
    waiting = 0
    for line in Path('/proc/net/tcp').read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = line.split()  # sl, local, remote, st, tx:rx queues
        if int(local.rpartition(':')[2], 16) == port and state == '01':  # 01: established
            waiting += int(queues.partition(':')[2], 16)  # tx_queue:rx_queue, in hex
    return waiting


def addtogether():
    """One call that adds a 5 MB string and 100,000 short ones, and a client waiting."""
    longest = [0]
    with running('xmlrpc'):
        done = threading.Event()

        def other_client():
            while not done.is_set():
                longest[0] = max(longest[0], timed(ordinary_call, 'xmlrpc'))
                time.sleep(0.01)

        thread = threading.Thread(target=other_client)
        thread.start()
        proxy = xmlrpc.client.ServerProxy(XMLRPC_URL)
        took = timed(proxy.addtogether, 'x' * 5_000_000, *['y'] * 100_000)
        done.set()
        thread.join()
    print(
        f'xmlrpc: addtogether() took {took:.1f} s; another client waited up to {longest[0]:.1f} s'
    )


def resets(count):
    """What server.log grows by for each connection reset before its request.

    Each reset is logged in full before the next; then a loop as fast as it
    goes, for a second, gives the rate at which the log can grow.
    """
    for name in PROTOCOLS:
        with running(name) as server:
            log = server.log_path
            before = log.stat().st_size
            sizes = []
            for _ in range(count):
                reset_a_connection(server.protocol.port)
                sizes.append(settled_size(log))
            added = [after - before for before, after in zip([before, *sizes], sizes)]
            before, started = log.stat().st_size, time.monotonic()
            while time.monotonic() - started < 1:
                reset_a_connection(server.protocol.port)
            ordinary_call(name)  # once it answers, the resets before it are logged
            per_hour = (log.stat().st_size - before) / (time.monotonic() - started) * 3600
        print(
            f'{name}: a reset adds {min(added)}-{max(added)} B to server.log, '
            f'{sum(added) / count:.0f} B on average; '
            f'resets in a loop, {per_hour / 1e9:.1f} GB an hour '
            f'(the traceback names files under {sysconfig.get_paths()["stdlib"]})'
        )


def settled_size(path, quiet=0.02):
    """The file's size once it has not grown for `quiet` seconds."""
    size, since = path.stat().st_size, time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.002)
        if path.stat().st_size != size:
            size, since = path.stat().st_size, time.monotonic()
    return size


def no_room(tries=6):
    """Each server with its address space capped a margin above its size: a client, a call.

    Measured 2026-12-06 (6 tries for each margin and server): see README's table.
    """
    socket.setdefaulttimeout(3)
    for name in PROTOCOLS:
        for margin_kb in (0, 256, 1024, 16384):
            outcomes = Counter()
            for _ in range(tries):
                with running(name) as server:
                    outcomes[capped_outcome(server, margin_kb * 1024)] += 1
            print(
                f'{name}: address space capped {margin_kb} KB above its size, '
                f'a client connects, {tries} times: {dict(outcomes)}'
            )


def capped_outcome(server, margin):
    """What a server capped `margin` bytes above its size does with a client, then a call."""
    pid, name = server.process.pid, server.protocol.name
    before = resource.prlimit(pid, resource.RLIMIT_AS)
    vms = psutil.Process(pid).memory_info().vms
    resource.prlimit(pid, resource.RLIMIT_AS, (vms + margin, before[1]))
    with socket.create_connection(('127.0.0.1', server.protocol.port)):
        capped = outcome(name)
    resource.prlimit(pid, resource.RLIMIT_AS, before)
    if outcome(name).startswith('no answer'):
        return f'hung for good ({timed_cpu(pid, 1):.2f} s of CPU in the next second)'
    if capped.startswith('no answer'):
        return 'turned clients away, then served once the limit was lifted'
    return 'served'


def outcome(name):
    try:
        return f'answered in {timed(ordinary_call, name):.2f} s'
    except (OSError, EOFError) as error:
        return f'no answer ({type(error).__name__})'


def timed_cpu(pid, seconds):
    """CPU time the process spends over a measurement window of `seconds`."""
    process = psutil.Process(pid)
    before = sum(process.cpu_times()[:2])
    time.sleep(seconds)  # the window measured
    return sum(process.cpu_times()[:2]) - before


def inflate(megabytes):
    """rpyc_server.py given one compressed frame of zeros that inflates to `megabytes`.

    Then what it still holds 2 s after the sender hung up, and how many
    ordinary calls it answers before that memory is given back (at most 2,000).
    """
    frame = zlib.compress(bytes(megabytes * 2**20), 9)
    with running('rpyc') as server:
        process = psutil.Process(server.process.pid)
        start = process.memory_info().rss / 2**20
        longest = [0.0]
        address = ('127.0.0.1', server.protocol.port)
        with (
            PeakMemory(process.pid) as memory,
            other_client('rpyc', longest),
            socket.create_connection(address) as sock,
        ):
            sock.sendall(struct.pack('!LB', len(frame), 1) + frame + b'\n')
            wait_until(server, lambda: 'Traceback' in server.log(), 'the frame refused', 120)
            held = process.memory_info().rss / 2**20
        time.sleep(2)  # a measurement window: what stays held after the sender hung up
        after = process.memory_info().rss / 2**20
        calls = 0
        while process.memory_info().rss / 2**20 > start + 100 and calls < 2000:
            ordinary_call('rpyc')
            calls += 1
        freed = process.memory_info().rss / 2**20
    print(
        f'rpyc: a {len(frame) / 2**20:.2f} MB frame inflating to {megabytes} MB: peak '
        f'{memory.peak_mb:.0f} MB, {held:.0f} MB once refused, {after:.0f} MB 2 s after the '
        f'sender hung up (from {start:.0f} MB), {freed:.0f} MB after {calls} more calls; '
        f'another client waited up to {longest[0]:.1f} s'
    )


@contextlib.contextmanager
def other_client(name, longest):
    """Another client calling meanwhile; `longest[0]` becomes its longest wait."""
    done = threading.Event()

    def call_again_and_again():
        while not done.is_set():
            longest[0] = max(longest[0], timed(ordinary_call, name))
            time.sleep(0.01)

    thread = threading.Thread(target=call_again_and_again)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def nesting(depth):
    """An XML-RPC call to remote_repr() with an array nested `depth` levels deep."""
    body = '<methodCall><methodName>remote_repr</methodName><params><param><value>'
    body += '<array><data><value>' * depth + '<int>1</int>' + '</value></data></array>' * depth
    body += '</value></param></params></methodCall>'
    longest = [0.0]
    with running('xmlrpc'), other_client('xmlrpc', longest):
        connection = http.client.HTTPConnection('127.0.0.1', PROTOCOLS['xmlrpc'].port)
        started = time.monotonic()
        connection.request('POST', '/RPC2', body.encode())
        answer = connection.getresponse().read()
        took = time.monotonic() - started
    try:
        xmlrpc.client.loads(answer)
        kind = 'its repr()'
    except xmlrpc.client.Fault as fault:
        kind = f'a fault ({fault.faultString[:60]})'
    print(
        f'xmlrpc: {depth:,} levels ({len(body) / 2**20:.1f} MB): {kind} in {took:.1f} s; '
        f'another client waited up to {longest[0]:.1f} s'
    )


def floods(seconds=2):
    """How fast server.log grows under each kind of unwanted traffic, sent in a loop."""
    for name in PROTOCOLS:
        with running(name) as server, contextlib.ExitStack() as held:
            pid, port = server.process.pid, server.protocol.port
            before = resource.prlimit(pid, resource.RLIMIT_AS)
            room = psutil.Process(pid).memory_info().vms + 80 * 2**20
            resource.prlimit(pid, resource.RLIMIT_AS, (room, before[1]))
            while "can't start new thread" not in server.log():
                held.enter_context(socket.create_connection(('127.0.0.1', port)))
            rate = log_growth(server, seconds, functools.partial(connect, port))
            resource.prlimit(pid, resource.RLIMIT_AS, before)
        print(f'{name}: a connect loop while no thread can start: {rate}')
    garbage = {
        'jsonrpc': lambda: invalid_utf8(PROTOCOLS['jsonrpc'].port),
        'rpyc': lambda: garbage_frame(PROTOCOLS['rpyc'].port),
    }
    for name, send in garbage.items():
        with running(name) as server:
            rate = log_growth(server, seconds, send)
        what = 'bodies of invalid UTF-8' if name == 'jsonrpc' else 'garbage compressed frames'
        print(f'{name}: {what} in a loop: {rate}')


def log_growth(server, seconds, send):
    """Do `send()` in a loop for `seconds`; how much the log grew, each time and per hour."""
    log = server.log_path
    size, count, started = log.stat().st_size, 0, time.monotonic()
    while time.monotonic() - started < seconds:
        send()
        count += 1
    elapsed = time.monotonic() - started
    grown = settled_size(log, 0.2) - size
    per_hour = grown / elapsed * 3600 / 1e9
    return f'{count} in {elapsed:.1f} s, {grown / count:.0f} B each, {per_hour:.1f} GB an hour'


def connect(port):
    socket.create_connection(('127.0.0.1', port)).close()


def invalid_utf8(port):
    connection = http.client.HTTPConnection('127.0.0.1', port)
    connection.request('POST', '/', b'\xff' * 100)
    connection.getresponse().read()
    connection.close()


def garbage_frame(port):
    with socket.create_connection(('127.0.0.1', port)) as sock:
        sock.sendall(struct.pack('!LB', 100, 1) + b'x' * 100 + b'\n')
        sock.recv(1)  # the server hangs up once it has logged why


def reset_a_connection(port):
    sock = socket.create_connection(('127.0.0.1', port))
    # SO_LINGER on, with no time to linger: close() resets the connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


def gzip_bodies(count):
    """The HTTP servers given `count` gzip bodies at once, each a valid call of 19.9 MB.

    Each server's handler (the Standard Library's, which jsonrpclib-pelix's
    extends) inflates a body sent with `Content-Encoding: gzip` up to 20 MB
    before it parses it; a letter repeated compresses about a thousand to one.
    """
    for name in HTTP_SERVERS:
        path, body = call_body(name, 'x' * (20_000_000 - 200))
        compressed = gzip.compress(body, 9)
        headers = {'Content-Encoding': 'gzip', 'Content-Type': 'text/xml'}
        longest = [0.0]
        with running(name) as server, PeakMemory(server.process.pid) as memory:
            started = time.monotonic()
            with other_client(name, longest), ThreadPoolExecutor(count) as pool:
                sent = [pool.submit(post, name, path, compressed, headers) for _ in range(count)]
                answers = [future.result() for future in sent]
            took = time.monotonic() - started
        statuses = Counter(status for status, _ in answers)
        print(
            f'{name}: {count} gzip bodies of {len(compressed) / 1000:.1f} KB at once, each a '
            f'{len(body) / 1e6:.1f} MB call ({count * len(compressed) / 1e6:.1f} MB sent in all): '
            f'answered {dict(statuses)} in {took:.1f} s; peak {memory.peak_mb:.0f} MB; '
            f'another client waited up to {longest[0]:.1f} s'
        )


def unread_answers(count, megabytes=4):
    """`count` clients each make a call whose answer is `megabytes` MB, and never read it.

    The server holds what it could not send for as long as each stays
    connected; then what it still holds 2 s after they all hung up.
    """
    for name in HTTP_SERVERS:
        path, body = call_body(name, 'x' * (megabytes * 2**20))
        head = f'POST {path} HTTP/1.0\r\nContent-Length: {len(body)}\r\n\r\n'
        with running(name) as server:
            process = psutil.Process(server.process.pid)
            before = process.memory_info().rss
            with contextlib.ExitStack() as held:
                for _ in range(count):
                    address = ('127.0.0.1', server.protocol.port)
                    held.enter_context(socket.create_connection(address)).sendall(
                        head.encode() + body
                    )
                holding = settled_rss(process) - before
                ordinary = timed(ordinary_call, name)
            time.sleep(2)  # a measurement window: what stays held once they hung up
            after = process.memory_info().rss - before
        print(
            f'{name}: {count} clients that never read a {megabytes} MB answer: the server '
            f'holds {holding / 2**20:.0f} MB while they stay, and {after / 2**20:.0f} MB 2 s '
            f'after they hung up; a call meanwhile took {ordinary * 1000:.0f} ms'
        )


def settled_rss(process, quiet=1, limit=60):
    """The process's resident memory once it has not changed by 1 MB for `quiet` seconds."""
    rss, since, started = process.memory_info().rss, time.monotonic(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() - started < limit:
        time.sleep(0.05)
        now = process.memory_info().rss
        if abs(now - rss) > 2**20:
            rss, since = now, time.monotonic()
    return rss


# A line of a traceback socketserver writes, a line at a time, as a request fails.
TRACEBACK_LINE = re.compile(r'-{40}|Exception occurred|Traceback|  |\w+(Error|Exception)\b')


def interleaving(seconds=3, error_loops=4, callers=10):
    """Connection resets in loops beside calling clients: how often a call's log line
    lands inside another thread's traceback in server.log."""
    for name in HTTP_SERVERS:
        with running(name) as server:
            port, done = server.protocol.port, threading.Event()
            actions = [functools.partial(reset_a_connection, port)] * error_loops
            actions += [functools.partial(ordinary_call, name)] * callers
            threads = [
                threading.Thread(target=again_and_again, args=(action, done)) for action in actions
            ]
            for thread in threads:
                thread.start()
            time.sleep(seconds)  # the window measured
            done.set()
            for thread in threads:
                thread.join()
            settled_size(server.log_path, 0.2)
            lines = server.log_lines()
        calls = [i for i, line in enumerate(lines) if CALL_LINE.fullmatch(line)]
        inside = [
            i
            for i in calls
            if 0 < i < len(lines) - 1
            and TRACEBACK_LINE.match(lines[i - 1])
            and TRACEBACK_LINE.match(lines[i + 1])
        ]
        tracebacks = sum(line.startswith('Traceback') for line in lines)
        print(
            f'{name}: {error_loops} loops of connection resets beside {callers} calling '
            f'clients for {seconds} s: {tracebacks} tracebacks, {len(calls)} call lines, '
            f'{len(inside)} of them inside a traceback'
        )


def again_and_again(action, done):
    """Do `action()` until `done` is set, whatever errors it meets."""
    while not done.is_set():
        with contextlib.suppress(OSError):
            action()


CALL_LINE = re.compile(f'{XMLRPC_LOG_LINE.pattern}|{JSONRPC_LOG_LINE.pattern}')


def main():
    # Started in the background of a script, we would pass SIGINT on ignored,
    # and the servers we start would ignore Ctrl-C: give them its default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    socket.setdefaulttimeout(300)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    commands = {'idle': idle, 'ctrl-c': ctrl_c, 'stops': stops, 'body': body, 'trickle': trickle}
    commands.update({'addtogether': addtogether, 'resets': resets, 'no-room': no_room})
    commands.update({'inflate': inflate, 'nesting': nesting, 'floods': floods})
    commands.update({'gzip': gzip_bodies, 'unread-answers': unread_answers})
    commands.update({'interleaving': interleaving})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('command', choices=commands)
    parser.add_argument('number', type=int, nargs='?', help='how many (or how large)')
    args = parser.parse_args()
    print(f'CPython {sys.version.split()[0]}')
    commands[args.command](*([] if args.number is None else [args.number]))


if __name__ == '__main__':
    main()

"""Measure the limits README.md states that are too slow for the test suite.

    python tests/measure.py idle 4000       (from the project directory)

Each command starts the servers it needs, as the tests do, with their output
going to a server.log of their own, prints what it measured, and stops them;
its docstring records what 5 runs of it measured on CPython 3.11.7 and 5 on
3.14.10, the ranges README's table gives. The commands:

    idle 1000 (2000, 4000)  memory and a call among idle clients, and the
                            silence as they all hang up
    ctrl-c 5000             Ctrl-C of rpyc_server.py with 5,000 idle clients
    stops 30                Ctrl-C among 20 calling clients, 30 times
    no-room 6               no address space left, or a little: 6 tries each
    body 200                a valid 200 MB call to each HTTP server
    gzip 50                 50 gzip bodies at once, each a 20 MB call
    unread-answers 50       50 clients that never read a 4 MB answer
    trickle 100             rpyc frames trickled in on 100 connections
    inflate 1024            an rpyc frame that inflates to 1 GB
    nesting 100000          an XML-RPC array 100,000 levels deep
    addtogether             5 MB plus 100,000 one-character strings
    resets 200              server.log's growth per connection reset
    floods                  server.log's growth under unwanted traffic
    interleaving            call lines inside tracebacks in server.log

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
    """Memory per idle client, a call meanwhile, and the silence once all hang up.

    Measured (5 runs of 1,000, 2,000 and 4,000 each, CPython 3.11.7; 3.14.10,
    and of 4,000 once more on 2026-12-06, within these but where said):
    each idle client 30 KB (RPyC 22 KB; 3.14: 31, 35 and 27 KB); 4,000 of
    them 117 to 119 MB for an HTTP server, 85 MB for RPyC (3.14: 121, 138 and
    105 MB); a call among 1,000 to 4,000 of them 2 to 3 ms, RPyC 4 to 11 ms
    (3.14: 1 to 4 ms, RPyC 4 to 9 ms). Silence as they all hang up: 1,000,
    0.1 to 0.9 s; 2,000, 0.2 to 2.0 s, RPyC 1.8 to 4.7 s; 4,000, 2.6 to
    10.3 s (10.3 on 2026-12-06), RPyC 12.9 to 34.5 s (3.14: 0.0 to 0.7 s; 0.4 to 4.8 s, RPyC 3.6 to
    7.1 s; 0.9 to 26.9 s, RPyC 14.0 to 26.3 s).
    """
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
    """Ctrl-C to each server while clients call it, again and again: how it ends.

    Measured 2026-12-06 (30 tries, CPython 3.11.7; 3.14.10): every stop exit
    status 0, in 0.00 to 0.03 s. The log held the start of a report, from a
    connection cut short, in 1 of 30 for XML-RPC and 0 for JSON-RPC and RPyC
    (3.14: 1, 2 and 0).
    """
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
    """How long Ctrl-C takes to stop rpyc_server.py with `count` idle clients.

    Measured 2026-12-06 (5 runs of 5,000, CPython 3.11.7; 3.14.10): 0.16 to
    0.19 s (3.14: 0.14 to 0.21 s).
    """
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
    """The HTTP servers' peak memory while they take a valid call of that size.

    Measured (5 runs of 200 MB, CPython 3.11.7; 3.14.10, and once more on
    2026-12-06): 1.1 GB for XML-RPC, 1.2 GB for JSON-RPC (3.14: 1.0 and 1.2 GB).
    """
    for name in HTTP_SERVERS:
        with running(name) as server, PeakMemory(server.process.pid) as memory:
            big_call(name, megabytes)
        print(f'{name}: a valid {megabytes} MB call took the server to {memory.peak_mb:.0f} MB')


def trickle(connections, bytes_each=2400):
    """rpyc's memory as frames that claim 2 GB arrive a byte at a time.

    Measured (5 runs on 100 connections, CPython 3.11.7; 3.14.10, and once
    more on 2026-12-06): 334 to 596 MB for 240 KB received, 1.4 to 2.5 KB a
    byte (3.14: 580 to 716 MB, 2.5 to 3.1 KB a byte), held until the
    connections close.
    """
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
    """One call that adds a 5 MB string and 100,000 short ones, and a client waiting.

    Measured (5 runs, CPython 3.11.7; 3.14.10, and once more on 2026-12-06,
    on a slower machine): 20.4 to 24.8 s (3.14: 23.9 to 29.1 s), another
    client waiting nearly as long.
    """
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
    goes, for a second, gives the rate at which the log can grow. A traceback
    names the Standard Library's files: the longer the path Python is
    installed under, the more it takes.

    Measured 2026-12-06 (5 runs of 200, CPython 3.11.7 under
    /root/.pyenv/versions/3.11.7; 3.14.10 under /usr): a reset adds 1,157 B
    for XML-RPC, 1,334 B for JSON-RPC and 1,222 B for RPyC (3.14: 1,170,
    1,407 and 1,261 B); resets in a loop, 0.3 GB an hour for an HTTP server,
    1.6 to 1.8 GB for RPyC (3.14: 0.3 to 0.4 GB, RPyC 2.5 to 3.6 GB).
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

    Hung for good is a server that answers no call, even once the limit is
    lifted (the client's thread failed as it started, and Thread.start()
    waits for it). Measured 2026-12-06, 6 tries for each margin and server,
    CPython 3.11.7; 3.14.10. Hung for good, XML-RPC, JSON-RPC and RPyC: with
    no room 4, 4 and 3 of 6 (3.14: 3, 4 and 2); with 256 KB 0, 0 and 0 (3.14:
    0, 1 and 0); with 1 MB or 16 MB, never. The rest turned clients away and
    served once the limit was lifted, or served all along.
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

    Measured 2026-12-06 (5 runs, CPython 3.11.7; 3.14.10): a 1.00 MB frame,
    a peak of 2,069 MB (3.14: 2,071 MB); 931 to 1,045 MB held once the frame
    is refused (3.14: 984 to 1,016 MB); 21 MB 2 s after the sender hung up,
    from 20 MB at the start (3.14: 22 from 21), with no more calls; another
    client waited up to 3.8 to 5.6 s (3.14: 2.2 to 3.0 s).
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
    """An XML-RPC call to remote_repr() with an array nested `depth` levels deep.

    Measured (5 runs of 100,000 levels, 4.1 MB, CPython 3.11.7; 3.14.10, and
    once more on 2026-12-06): a fault in 0.4 to 0.6 s, no client waiting
    (3.14: a fault, "Stack overflow", in 0.9 to 1.3 s, another client waiting
    0.7 to 0.8 s).
    """
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
    """How fast server.log grows under each kind of unwanted traffic, sent in a loop.

    Measured (5 runs, CPython 3.11.7; 3.14.10, and once more on 2026-12-06,
    within these but where said): a client turned away, 0.6 to
    1.1 KB, RPyC 41 to 43 B; in a connect loop 0.1 to 0.2 GB an hour (the
    loop waits on a full listen queue), RPyC 1.7 to 2.1 GB (3.14: 0.8 to
    1.5 KB, RPyC 43 to 44 B, 0.2 GB, RPyC 2.2 GB). A JSON-RPC body not UTF-8:
    0.6 KB, 1.8 to 2.5 GB an hour (3.14: 0.5 KB, 1.7 to 2.2 GB). An RPyC frame
    that does not inflate: 2.5 KB, 3.8 to 4.9 GB an hour (3.14: 2.6 KB, 3.9 to
    5.5 GB).
    """
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

    Measured 2026-12-06 (5 runs of 50, CPython 3.11.7; 3.14.10), bodies of
    19.6 KB (XML-RPC) and 19.5 KB (JSON-RPC), 1.0 MB sent in all, each a
    20.0 MB call, all answered: XML-RPC's peak 1,086 to 1,558 MB, JSON-RPC's
    868 to 1,913 MB (3.14: 2,911 to 3,320 MB and 2,524 to 3,286 MB); another
    client waited up to 6.3 to 13.0 s and 7.9 to 12.4 s (3.14: 5.6 to 20.0 s
    and 8.9 to 18.2 s); all 50 answered in 9.7 to 15.8 s (3.14: 12.0 to
    21.2 s).
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

    Measured 2026-12-06 (5 runs of 50, CPython 3.11.7; 3.14.10): XML-RPC held
    422 to 459 MB, JSON-RPC 734 to 746 MB (3.14: 436 to 454 MB and 675 to
    679 MB); 2 s after they hung up, 62 to 131 MB and 95 to 155 MB (3.14: 59
    to 87 MB and 70 to 102 MB); a call meanwhile took 2 to 28 ms.
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
    lands inside another thread's traceback in server.log.

    Measured 2026-12-06 (5 runs, CPython 3.11.7; 3.14.10), in 3 s: XML-RPC
    108 to 148 call lines inside a traceback, of 2,882 to 3,159, beside 190
    to 205 tracebacks; JSON-RPC 101 to 152 of 2,680 to 3,060, beside 189 to
    212 (3.14: 109 to 131 of 3,562 to 4,760, and 73 to 126 of 2,810 to 4,314).
    """
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

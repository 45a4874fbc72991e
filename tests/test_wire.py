"""What crosses the wire: README's table of costs, what it says of RPyC's
compression and of the multicall, and its diagram of RPyC's conversation,
checked against each client script run over a slow link, through a relay
that notes what passes (tests/relay.py). The calls watched with verbose=True
are README's prompt sessions, typed by test_lessons.py."""

import concurrent.futures
import importlib.util
import io
import pickle
import re
import struct
import sys
import types
import xmlrpc.client
import zlib
from pathlib import Path

import pytest
from helpers import JSON_LIBRARY, PROTOCOLS, README, ROOT, STANDARD_JSON, protocol_of
from processes import run_script
from relay import Relay
from rpyc.core import brine, consts
from sessions import readme_blocks

pytestmark = pytest.mark.slow

CLIENTS = [
    'xmlrpc_client.py',
    'xmlrpc_introspect.py',
    'xmlrpc_multicall.py',
    'jsonrpc_client.py',
    'rpyc_client.py',
]
RELAY = str(Path(__file__).resolve().parent / 'relay.py')
ROUND_TRIP = 0.05  # seconds: the link README's times are for
MAX_RUN = 10  # seconds for a client's run through the slow relay


@pytest.fixture(scope='module')
def wire(servers, tmp_path_factory):
    """{script: relay}: each client run once over a slow link, all at the same time.

    The way README shows: `python3 tests/relay.py 50 <script>`, which saves
    what crossed the relay for the tests to read.
    """
    workdir = tmp_path_factory.mktemp('relayed-clients')

    def run(script):
        saved = workdir / f'{script}.pickle'
        launcher = (sys.executable, RELAY, '--save', str(saved), str(ROUND_TRIP * 1000))
        completed = run_script(script, cwd=workdir, launcher=launcher, timeout=MAX_RUN)
        assert completed.returncode == (1 if script == 'xmlrpc_client.py' else 0), completed
        with open(saved, 'rb') as file:
            (relay,) = pickle.load(file).values()
        return types.SimpleNamespace(**relay)

    for name in {protocol_of(script).name for script in CLIENTS}:
        servers[name]
    with concurrent.futures.ThreadPoolExecutor(len(CLIENTS)) as pool:
        return dict(zip(CLIENTS, pool.map(run, CLIENTS)))


def sent(connection):
    return b''.join(chunk for direction, chunk in connection if direction == 'out')


# RPyC's conversation ------------------------------------------------------------


def rpyc_frames(connection):
    """[(direction, frame), ...] in the order they crossed; frame None: that side hung up.

    A frame is a header (the length of what follows, whether it is
    compressed), a message, and a newline: (compressed, message), the
    message as it was before compression.
    """
    frames, pending = [], {'out': b'', 'back': b''}
    for direction, chunk in connection:
        if not chunk:
            frames.append((direction, None))
        pending[direction] += chunk
        while len(pending[direction]) >= 5:
            length, compressed = struct.unpack('!LB', pending[direction][:5])
            if len(pending[direction]) < 5 + length + 1:
                break
            frame = pending[direction][5 : 5 + length]
            pending[direction] = pending[direction][5 + length + 1 :]
            frames.append(
                (direction, (compressed, zlib.decompress(frame) if compressed else frame))
            )
    return frames


def rpyc_messages(connection):
    """[(direction, message), ...] in the order they crossed; ('back', None): the server hung up.

    A message is its kind (request, reply, exception), a sequence number, and
    its body, in rpyc's own encoding, brine.
    """
    return [
        (direction, frame and (frame[1][0], *brine.load(frame[1][1:])))
        for direction, frame in rpyc_frames(connection)
    ]


def test_rpyc_compresses_a_message_over_3000_bytes(wire):
    (connection,) = wire['rpyc_client.py'].connections
    crossed = []  # (direction, compressed, message, decoded) for each frame
    for (direction, frame), (_, decoded) in zip(
        rpyc_frames(connection), rpyc_messages(connection)
    ):
        if frame:
            crossed.append((direction, *frame, decoded))
    assert [c for _, c, _, _ in crossed] == [len(message) > 3000 for _, _, message, _ in crossed]
    # README: so is a StringIO's method list from Python 3.12 on, and not before;
    # the client sends it, answering the server's one inspection (see the diagram).
    (sequence,) = [
        sequence
        for direction, _, _, (kind, sequence, body) in crossed
        if direction == 'back' and kind == consts.MSG_REQUEST and body[0] == consts.HANDLE_INSPECT
    ]
    (size,) = [
        len(message)
        for direction, _, message, decoded in crossed
        if direction == 'out' and decoded[:2] == (consts.MSG_REPLY, sequence)
    ]
    assert (size > 3000) == (sys.version_info >= (3, 12)), f'{size} bytes'


OTHER = {'out': 'back', 'back': 'out'}


def awaited(messages):
    """The messages somebody waits for: [(direction, kind, sequence, body), ...].

    rpyc sends a proxy's release (HANDLE_DEL) without waiting for its answer;
    both are left out. The close is awaited, and answered by hanging up.
    """
    released = set()  # (direction, sequence) of each release
    kept = []
    for direction, message in messages:
        if message is None:
            if direction == 'back':
                kept.append((direction, None, None, None))
            continue
        kind, sequence, body = message
        if kind == consts.MSG_REQUEST:
            if body[0] == consts.HANDLE_DEL:
                released.add((direction, sequence))
                continue
        elif (OTHER[direction], sequence) in released:  # an answer to a release
            continue
        kept.append((direction, kind, sequence, body))
    return kept


# What rpyc_client.py's run makes a proxy of, by class: the names in the scripts.
PROXIED = {
    'LineCounter': 'root',
    'method': 'line_counter',
    'StringIO': 'fileobj',
    'builtin_function_or_method': 'readlines',
    'list': 'lines',
    'list_iterator': 'iterator',
    'function': 'noisy',
}


def said(value):
    """How a diagram shows a value a message carries (brine-encoded, as a (kind, value) pair)."""
    label, obj = value
    if label in (consts.LABEL_REMOTE_REF, consts.LABEL_LOCAL_REF):
        return PROXIED[obj[0].rpartition('.')[2]]
    return repr(obj)


def arguments(value):
    """How a diagram shows a call's arguments: `fileobj, noisy`, or `'Simple\\n'`."""
    label, args = value
    if label == consts.LABEL_TUPLE:  # some of them are proxies
        return ', '.join(said(arg) for arg in args)
    return ', '.join(repr(arg) for arg in args)


def request_label(handler, args):
    if handler == consts.HANDLE_GETROOT:
        return 'get the root object'
    if handler == consts.HANDLE_INSPECT:
        return f'list the methods of a {args[0][0].rpartition(".")[2]}'
    if handler == consts.HANDLE_GETATTR:
        return f'get {said(args[0])}.{args[1][1]}'
    if handler == consts.HANDLE_CALL:
        return f'call {said(args[0])}({arguments(args[1])})'
    if handler == consts.HANDLE_CALLATTR:
        return f'call {said(args[0])}.{args[1][1]}({arguments(args[2])})'
    if handler == consts.HANDLE_CLOSE:
        return 'close the connection'
    raise AssertionError(f'a request README does not draw: {handler} {args}')


def diagram(messages):
    """The mermaid sequence diagram of an RPyC conversation, as README draws it."""
    lines = [
        'sequenceDiagram',
        '    participant C as rpyc_client.py',
        '    participant S as rpyc_server.py',
        '    Note over C,S: the client connects: one round trip',
    ]
    asked = {}  # (direction, sequence): the handler of each request
    for direction, kind, sequence, body in awaited(messages):
        # A request makes the side it goes to busy (+), until its answer (-).
        arrow = {'out': 'C->>+S', 'back': 'S->>+C'}[direction]
        if kind == consts.MSG_REQUEST:
            handler, args = body
            asked[direction, sequence] = handler
            label = request_label(handler, args[1])
        else:
            arrow = arrow.replace('->>+', '-->>-')
            if kind is None:
                label = 'hangs up'
            elif kind == consts.MSG_EXCEPTION:
                label = 'StopIteration' if body == consts.EXC_STOP_ITERATION else repr(body)
            elif asked.get((OTHER[direction], sequence)) == consts.HANDLE_INSPECT:
                label = 'their names and docstrings'
            elif body[0] in (consts.LABEL_REMOTE_REF, consts.LABEL_LOCAL_REF):
                label = f'a proxy for {said(body)}'
            else:
                label = said(body)
        lines.append(f'    {arrow}: {label}')
    return '\n'.join(folded(lines, io.StringIO(rpyc_client().TEXT).readlines())) + '\n'


def folded(lines, values):
    """The lines, with the messages sent once for each value folded into a `loop`.

    They are folded where each value's messages are the first value's, with
    the value in its place, and come one after another, in the values' order.
    """
    first = next(i for i, line in enumerate(lines) if repr(values[0]) in line)
    start = first - 1  # the request that asks for the value
    size = next(i for i, line in enumerate(lines) if repr(values[1]) in line) - first

    def as_one(k):
        group = lines[start + k * size : start + (k + 1) * size]
        return [line.replace(repr(values[k]), 'line') for line in group]

    if any(as_one(k) != as_one(0) for k in range(len(values))):
        return lines  # nothing to fold
    loop = [f'    loop for each of the {len(values)} lines']
    loop += [f'    {line}' for line in as_one(0)] + ['    end']
    return lines[:start] + loop + lines[start + len(values) * size :]


def rpyc_client():
    """The client script as a module, to read its constants."""
    spec = importlib.util.spec_from_file_location('rpyc_client', ROOT / 'rpyc_client.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_draws_rpyc_clients_conversation(wire):
    ((_, shown),) = readme_blocks('mermaid')
    (connection,) = wire['rpyc_client.py'].connections
    drawn = diagram(rpyc_messages(connection))
    assert shown == drawn, "README's diagram differs from the real run, which is:\n" + drawn


# The table of costs -------------------------------------------------------------


def measure(script, connections):
    """Connections, round trips, bytes sent and bytes received, in one client run.

    A round trip is a wait for the other side: for each connection, its TCP
    handshake, then each request sent and its answer waited for. Over HTTP,
    a request is followed by its answer; RPyC's requests go both ways.
    """
    if script.startswith('rpyc'):
        requests = sum(
            kind == consts.MSG_REQUEST
            for c in connections
            for _, kind, *_ in awaited(rpyc_messages(c))
        )
    else:
        directions = [[direction for direction, chunk in c if chunk] for c in connections]
        requests = sum(list(zip(d, d[1:])).count(('out', 'back')) for d in directions)
    sent_bytes = sum(len(sent(c)) for c in connections)
    received = sum(len(chunk) for c in connections for d, chunk in c if d == 'back')
    return len(connections), len(connections) + requests, sent_bytes, received


def cost_table():
    """README's table of costs: {script: [the cells after the first], ...}."""
    readme = README.read_text(encoding='utf-8')
    section = readme.partition('### What each protocol costs')[2].partition('\n#')[0]
    rows = re.findall(r'^\| `(\w+\.py)`[^|]*((?:\|[^|\n]*)+)\|$', section, flags=re.MULTILINE)
    return {script: [cell.strip() for cell in cells.split('|')[1:]] for script, cells in rows}


def two_figures(number):
    """Round to two significant figures: 3398 -> 3400, 313 -> 310."""
    return round(number, 2 - len(str(number)))


def shows_bytes(cell, number):
    """Whether a cell ('3,400', or a range such as '2,300–3,800') is true of `number`.

    Byte counts are shown to two figures: they vary by a few bytes between
    Python versions, whose numbers travel in HTTP headers.
    """
    low, _, high = cell.replace(',', '').partition('–')
    return int(low) <= two_figures(number) <= int(high or low)


def test_readme_table_has_a_row_for_each_client():
    assert sorted(cost_table()) == sorted(CLIENTS)


@pytest.mark.parametrize('script', CLIENTS)
def test_readme_table_row_is_what_crosses_the_wire(wire, script):
    connections, round_trips, sent_bytes, received = measure(script, wire[script].connections)
    shown = cost_table()[script]
    assert shown[:2] == [str(connections), str(round_trips)]
    if script.startswith('jsonrpc') and not STANDARD_JSON:
        pytest.skip(f'jsonrpclib-pelix uses {JSON_LIBRARY} here, which writes JSON without spaces')
    assert shows_bytes(shown[2], sent_bytes), f'{shown[2]} bytes sent? measured {sent_bytes}'
    assert shows_bytes(shown[3], received), f'{shown[3]} bytes received? measured {received}'


@pytest.mark.parametrize('script', CLIENTS)
def test_readme_table_time_is_what_a_slow_link_takes(wire, script):
    # README shows the time a run waits on the link: its round trips x 50 ms.
    # The relay times it, as the time during which a message was on its way;
    # the rest of a run is the programs' own work, which a busy machine
    # stretches. Half a round trip tells N round trips from N + 1.
    run = wire[script]
    waiting = measure(script, run.connections)[1] * ROUND_TRIP
    assert cost_table()[script][4] == f'{waiting:.2f} s'
    assert abs(run.on_the_link - waiting) < ROUND_TRIP / 2, f'{run.on_the_link:.3f} s on the link'
    assert run.duration >= waiting, f'{run.duration:.3f} s in all: round trips overlapped'


def test_readme_says_what_the_multicall_saves(servers):
    # Its three calls, made one at a time.
    servers['xmlrpc']
    with Relay(PROTOCOLS['xmlrpc'].port) as relay:
        proxy = xmlrpc.client.ServerProxy(f'http://127.0.0.1:{relay.port}')
        proxy.addtogether('a', 'b', 'c')
        proxy.quadratic(2, -16, 0)
        proxy.remote_repr([1, 2.0, 'three'])
    connections, round_trips, *_ = measure('xmlrpc_multicall.py', relay.connections)
    waiting = round_trips * ROUND_TRIP
    said = f'{connections} connections and {round_trips} round trips, {waiting:.2f} s'
    assert said in ' '.join(README.read_text(encoding='utf-8').split())  # lines joined

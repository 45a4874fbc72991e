"""What crosses the wire: README's table of costs, what it says of RPyC's
compression, of the multicall and of HTTP/1.0, and its diagram of RPyC's
conversation, checked against each client run over a slow link, through a
relay that notes what passes (tests/relay.py)."""

import concurrent.futures
import io
import pickle
import re
import runpy
import struct
import sys
import types
import xmlrpc.client
import zlib
from pathlib import Path
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest
from helpers import JSON_LIBRARY, README, ROOT, STANDARD_JSON, protocol_of, serving
from processes import run_script
from readme import blocks, says
from relay import Relay
from rpyc.core import brine, consts
from rpyc.core.consts import MSG_REPLY

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
OTHER = {'out': 'back', 'back': 'out'}


@pytest.fixture(scope='module')
def wire(servers, tmp_path_factory):
    """{script: relay}: each client run once over a slow link, all at the same time, as
    README shows: `python3 tests/relay.py 50 <script>`, saving what crossed the relay."""
    workdir = tmp_path_factory.mktemp('relayed-clients')

    def run(script):
        saved = workdir / f'{script}.pickle'
        launcher = (sys.executable, RELAY, '--save', str(saved), str(ROUND_TRIP * 1000))
        completed = run_script(script, cwd=workdir, launcher=launcher, timeout=10)
        assert completed.returncode == (1 if script == 'xmlrpc_client.py' else 0), completed
        with open(saved, 'rb') as file:
            (relay,) = pickle.load(file).values()
        return types.SimpleNamespace(**relay)

    for name in {protocol_of(script).name for script in CLIENTS}:
        servers[name]
    with concurrent.futures.ThreadPoolExecutor(len(CLIENTS)) as pool:
        return dict(zip(CLIENTS, pool.map(run, CLIENTS)))


# RPyC's conversation --------------------------------------------------------------


def rpyc_messages(connection):
    """[(direction, size, compressed, message), ...] in the order they crossed; a message is
    (kind, sequence number, body), decoded from rpyc's brine, or None: that side hung up.
    A frame on the wire: the message's size and whether it is compressed, the message, b'\\n'."""
    messages, pending = [], {'out': b'', 'back': b''}
    for direction, chunk in connection:
        if not chunk:
            messages.append((direction, 0, False, None))
        pending[direction] += chunk
        while len(pending[direction]) >= 5:
            size, compressed = struct.unpack('!LB', pending[direction][:5])
            if len(pending[direction]) < 5 + size + 1:
                break
            frame = pending[direction][5 : 5 + size]
            pending[direction] = pending[direction][5 + size + 1 :]
            message = zlib.decompress(frame) if compressed else frame
            messages.append(
                (direction, len(message), compressed, (message[0], *brine.load(message[1:])))
            )
    return messages


def test_rpyc_compresses_a_message_over_3000_bytes(wire):
    """README: "it compresses a message of over 3,000 bytes. The answer about a `StringIO` is
    that long on Python 3.12 and newer, and the answer about a `MyService` on 3.9"."""
    (connection,) = wire['rpyc_client.py'].connections
    crossed = [m for m in rpyc_messages(connection) if m[3]]
    assert [compressed for _, _, compressed, _ in crossed] == [s > 3000 for _, s, _, _ in crossed]
    requests = [(d, m) for d, _, _, m in crossed if m[0] == consts.MSG_REQUEST]
    inspect = {d: m[1] for d, m in requests if m[2][0] == consts.HANDLE_INSPECT}  # one each
    answer = {OTHER[d]: s for d, s, _, m in crossed if m[:2] == (MSG_REPLY, inspect[OTHER[d]])}
    assert (answer['back'] > 3000) == (sys.version_info >= (3, 12)), 'bytes about a StringIO'
    assert (answer['out'] > 3000) == (sys.version_info < (3, 10)), 'bytes about a MyService'


def awaited(messages):
    """The messages somebody waits for: [(direction, kind, sequence, body), ...]. rpyc sends
    a proxy's release (HANDLE_DEL) without waiting for its answer: both are left out. The
    close is awaited, and answered by hanging up."""
    released, kept = set(), []  # (direction, sequence) of each release
    for direction, _, _, message in messages:
        kind, sequence, body = message or (None, None, None)  # None: a side hung up
        if kind is None:
            kept += [(direction, None, None, None)] if direction == 'back' else []
        elif kind == consts.MSG_REQUEST and body[0] == consts.HANDLE_DEL:
            released.add((direction, sequence))
        elif kind == consts.MSG_REQUEST or (OTHER[direction], sequence) not in released:
            kept.append((direction, kind, sequence, body))
    return kept


# What rpyc_client.py's run makes a proxy of, by class: the names in the scripts.
PROXIED = {
    'MyService': 'root',
    'method': 'line_counter',
    'StringIO': 'fileobj',
    'builtin_function_or_method': 'readlines',
    'list': 'lines',
    'list_iterator': 'iterator',
    'function': 'noisy',
}


def said(value):
    """How the diagram shows a value a message carries, brine's (label, value) pair."""
    label, obj = value
    if label in (consts.LABEL_REMOTE_REF, consts.LABEL_LOCAL_REF):
        return PROXIED[obj[0].rpartition('.')[2]]
    if label == consts.LABEL_TUPLE:  # a call's arguments, some of them proxies
        return ', '.join(said(arg) for arg in obj)
    return ', '.join(map(repr, obj)) if isinstance(obj, tuple) else repr(obj)


def request_label(handler, args):
    labels = {
        consts.HANDLE_GETROOT: lambda: 'get the root object',
        consts.HANDLE_INSPECT: lambda: f'list the methods of a {args[0][0].rpartition(".")[2]}',
        consts.HANDLE_GETATTR: lambda: f'get {said(args[0])}.{args[1][1]}',
        consts.HANDLE_CALL: lambda: f'call {said(args[0])}({said(args[1])})',
        consts.HANDLE_CALLATTR: lambda: f'call {said(args[0])}.{args[1][1]}({said(args[2])})',
        consts.HANDLE_CLOSE: lambda: 'close the connection',
    }
    assert handler in labels, f'a request README does not draw: {handler} {args}'
    return labels[handler]()


def diagram(messages):
    """The mermaid sequence diagram of an RPyC conversation, as README draws it."""
    lines = ['sequenceDiagram', '    participant C as rpyc_client.py', '    participant S as']
    lines[-1] += ' rpyc_server.py\n    Note over C,S: the client connects: one round trip'
    asked = {}  # (direction, sequence): the handler of each request
    for direction, kind, sequence, body in awaited(messages):
        arrow = {'out': 'C->>+S', 'back': 'S->>+C'}[direction]  # the side asked is busy (+)
        if kind == consts.MSG_REQUEST:
            asked[direction, sequence] = body[0]
            label = request_label(body[0], body[1][1])
        else:
            arrow = arrow.replace('->>+', '-->>-')  # until it answers (-)
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
    return '\n'.join(lines) + '\n'


def written_out(shown, values):
    """README's diagram with its `loop` written out, once for each of the values (`line`)."""
    loop = re.search(r'^    loop for each of the (\d+) lines\n(.*?)^    end\n', shown, re.M | re.S)
    assert loop and int(loop[1]) == len(values), 'the loop, for each line of the file'
    steps = re.sub(r'(?m)^    ', '', loop[2])
    each = ''.join(re.sub(r'\bline\b', lambda _, v=value: repr(v), steps) for value in values)
    return shown[: loop.start()] + each + shown[loop.end() :]


def test_readme_draws_rpyc_clients_conversation(wire):
    (block,) = blocks('mermaid')
    (connection,) = wire['rpyc_client.py'].connections
    testfile = runpy.run_path(str(ROOT / 'rpyc_client.py'))['TESTFILE']
    drawn = diagram(rpyc_messages(connection))
    shown = written_out(block.text, io.StringIO(testfile).readlines())
    assert shown == drawn, "README's diagram differs from the real run, which is:\n" + drawn


# The table of costs ---------------------------------------------------------------


def measure(script, connections):
    """Connections, round trips, bytes sent and bytes received, in one client run. A round
    trip is a wait for the other side: for each connection, its TCP handshake, then each
    request and its answer. Over HTTP an answer follows each request; RPyC's go both ways."""
    if script.startswith('rpyc'):
        awaited_of = (awaited(rpyc_messages(c)) for c in connections)
        requests = sum(m[1] == consts.MSG_REQUEST for messages in awaited_of for m in messages)
    else:
        directions = [[direction for direction, chunk in c if chunk] for c in connections]
        requests = sum(list(zip(d, d[1:])).count(('out', 'back')) for d in directions)
    sent = sum(len(chunk) for c in connections for d, chunk in c if d == 'out')
    received = sum(len(chunk) for c in connections for d, chunk in c if d == 'back')
    return len(connections), len(connections) + requests, sent, received


def cost_table():
    """README's table of costs: {script: [the cells after the first], ...}."""
    section = README.read_text(encoding='utf-8').partition('### What each protocol costs')[2]
    rows = re.findall(
        r'^\| `(\w+\.py)`[^|]*((?:\|[^|\n]*)+)\|$', section.partition('\n#')[0], re.M
    )
    return {script: [cell.strip() for cell in cells.split('|')[1:]] for script, cells in rows}


def shows_bytes(cell, number):
    """Whether a cell ('3,400', or a range, '2,300–3,800') is true of `number`, to two figures."""
    low, _, high = cell.replace(',', '').partition('–')
    return int(low) <= round(number, 2 - len(str(number))) <= int(high or low)


@pytest.mark.parametrize('script', CLIENTS)
def test_readme_table_row_is_what_crosses_the_wire(wire, script):
    """Each row of README's table: "Byte counts are rounded to two figures, for the HTTP
    headers name the Python version"; and its time is what a run waits on the link: round trips
    x 50 ms. The relay times it as the time a message was on its way; the rest is the
    programs' own work, which a busy machine stretches. Half a round trip tells N from N + 1."""
    assert sorted(cost_table()) == sorted(CLIENTS)
    run = wire[script]
    connections, round_trips, sent, received = measure(script, run.connections)
    shown, waiting = cost_table()[script], round_trips * ROUND_TRIP
    assert shown[:2] + shown[4:] == [str(connections), str(round_trips), f'{waiting:.2f} s']
    assert abs(run.on_the_link - waiting) < ROUND_TRIP / 2, f'{run.on_the_link:.3f} s on the link'
    assert run.duration >= waiting, f'{run.duration:.3f} s in all: round trips overlapped'
    if script.startswith('jsonrpc') and not STANDARD_JSON:
        pytest.skip(f'jsonrpclib-pelix uses {JSON_LIBRARY} here, which writes JSON without spaces')
    assert shows_bytes(shown[2], sent), f'{shown[2]} bytes sent? measured {sent}'
    assert shows_bytes(shown[3], received), f'{shown[3]} bytes received? measured {received}'


def the_multicalls_calls_one_at_a_time(port):
    with xmlrpc.client.ServerProxy(f'http://127.0.0.1:{port}') as proxy:  # closed: no warning
        proxy.addtogether('a', 'b', 'c'), proxy.quadratic(2, -16, 0), proxy.remote_repr([1, 2.0])


def test_readme_says_what_the_multicall_saves(servers):
    """README: "The multicall's three calls, made one at a time, would take 3 connections
    and 6 round trips, 0.30 s"."""
    with Relay(servers['xmlrpc'].protocol.port) as relay:
        the_multicalls_calls_one_at_a_time(relay.port)
    connections, round_trips, *_ = measure('xmlrpc_multicall.py', relay.connections)
    waiting = f'{round_trips * ROUND_TRIP:.2f} s'
    said = f'would take {connections} connections and {round_trips} round trips, {waiting}'
    says(f"The multicall's three calls, made one at a time, {said}")


class KeepsConnectionsOpen(SimpleXMLRPCRequestHandler):
    protocol_version = 'HTTP/1.1'


def test_a_connection_for_each_call_is_the_request_handlers_doing():
    """README: "The server answers in HTTP/1.0 and closes the connection ... the Standard
    Library's request handler, which both HTTP servers use, does that, not the protocol"."""
    assert SimpleXMLRPCRequestHandler.protocol_version == 'HTTP/1.0'
    server = SimpleXMLRPCServer(('127.0.0.1', 0), KeepsConnectionsOpen, logRequests=False)
    listing = runpy.run_path(str(ROOT / 'xmlrpc_server.py'))  # its functions
    for name in ('addtogether', 'quadratic', 'remote_repr'):
        server.register_function(listing[name])
    with serving(server) as port, Relay(port) as relay:
        the_multicalls_calls_one_at_a_time(relay.port)
    assert len(relay.connections) == 1

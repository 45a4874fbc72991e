"""What crosses the wire: README's request bodies, its table of costs and its
diagram of RPyC's conversation, checked against each client script run
through a relay that counts what passes and delays it as a slow link would."""

import concurrent.futures
import re
import struct
import sys
import zlib
from pathlib import Path

import pytest
from helpers import README, STANDARD_JSON, json_as_written_here, protocol_of, skip_unless_ci
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


class Run:
    """What one client script sent and got back through the relay, and how long it took."""

    def __init__(self, connections, duration):
        self.connections = connections  # [[(direction, bytes), ...], ...]
        self.duration = duration  # from the first connection to the last byte back


@pytest.fixture(scope='module')
def wire(servers, tmp_path_factory):
    """{script: Run}: each client run once, all at the same time, through a slow relay."""
    workdir = tmp_path_factory.mktemp('relayed-clients')

    def run(script):
        port = protocol_of(script).port
        with Relay(port, delay=ROUND_TRIP / 2) as relay:
            launcher = (sys.executable, RELAY, str(port), str(relay.port))
            completed = run_script(script, cwd=workdir, launcher=launcher, timeout=MAX_RUN)
        assert completed.returncode == (1 if script == 'xmlrpc_client.py' else 0), completed
        return Run(relay.connections, relay.duration)

    for name in {protocol_of(script).name for script in CLIENTS}:
        servers[name]
    with concurrent.futures.ThreadPoolExecutor(len(CLIENTS)) as pool:
        runs = dict(zip(CLIENTS, pool.map(run, CLIENTS)))
    return runs


def sent(connection):
    return b''.join(chunk for direction, chunk in connection if direction == 'out')


def request_bodies(connections):
    """The body of the HTTP request each connection carried, as text."""
    return [sent(c).partition(b'\r\n\r\n')[2].decode() for c in connections]


# The request bodies README shows -------------------------------------------------


def test_readme_shows_the_xmlrpc_request_of_the_third_call(wire):
    ((_, shown),) = readme_blocks('xml')
    third = request_bodies(wire['xmlrpc_client.py'].connections)[2]
    assert shown.rstrip('\n') == third.rstrip('\n')  # a code block ends its last line


UUID = re.compile(r'"id": ?"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"')


def test_readme_shows_the_jsonrpc_request_but_for_its_random_id(wire):
    ((_, shown),) = readme_blocks('json')
    shown = json_as_written_here(shown.rstrip('\n'))  # a code block ends its last line
    (readme_id,) = UUID.findall(shown)  # README's example: a random UUID, like the real ones
    (body,) = request_bodies(wire['jsonrpc_client.py'].connections)
    (actual_id,) = UUID.findall(body)
    assert shown == body.replace(actual_id, readme_id)


# RPyC's conversation ------------------------------------------------------------


def rpyc_messages(connection):
    """[(direction, message), ...] in the order they crossed; ('back', None): the server hung up.

    A frame is a header (its length, whether compressed), the message, and a
    newline; a message is its kind (request, reply, exception), a sequence
    number, and its body, in rpyc's own encoding, brine.
    """
    messages, pending = [], {'out': b'', 'back': b''}
    for direction, chunk in connection:
        if not chunk:
            messages.append((direction, None))
        pending[direction] += chunk
        while len(pending[direction]) >= 5:
            length, compressed = struct.unpack('!LB', pending[direction][:5])
            if len(pending[direction]) < 5 + length + 1:
                break
            frame = pending[direction][5 : 5 + length]
            pending[direction] = pending[direction][5 + length + 1 :]
            message = zlib.decompress(frame) if compressed else frame
            messages.append((direction, (message[0], *brine.load(message[1:]))))
    return messages


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
    return '\n'.join(lines) + '\n'


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
    section = readme.partition('## What crosses the wire')[2]
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
        skip_unless_ci("README counts the json module's bytes; orjson or ujson writes fewer")
    assert shows_bytes(shown[2], sent_bytes), f'{shown[2]} bytes sent? measured {sent_bytes}'
    assert shows_bytes(shown[3], received), f'{shown[3]} bytes received? measured {received}'


@pytest.mark.parametrize('script', CLIENTS)
def test_readme_table_time_is_what_a_slow_link_takes(wire, script):
    # Within 30%: on a busy machine each step adds a little of its own.
    shown = float(cost_table()[script][4].removesuffix(' s'))
    measured = wire[script].duration
    assert abs(shown - measured) <= 0.3 * measured, f'{shown} s? measured {measured:.3f} s'

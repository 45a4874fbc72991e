"""What crosses the wire: README's request bodies and its table of costs,
checked against each client script run through a counting relay."""

import re
import struct
import sys
import zlib
from pathlib import Path

import pytest
from helpers import README, protocol_of
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


@pytest.fixture(scope='module')
def wire(servers, tmp_path_factory):
    """What each client script sent and got back: {script: [[(direction, bytes), ...], ...]}."""
    workdir = tmp_path_factory.mktemp('relayed-clients')
    connections = {}
    for script in CLIENTS:
        protocol = protocol_of(script)
        servers[protocol.name]
        with Relay(protocol.port) as relay:
            launcher = (sys.executable, RELAY, str(protocol.port), str(relay.port))
            run = run_script(script, cwd=workdir, launcher=launcher)
        assert run.returncode == (1 if script == 'xmlrpc_client.py' else 0), run.stderr
        connections[script] = relay.connections
    return connections


def sent(connection):
    return b''.join(chunk for direction, chunk in connection if direction == 'out')


def request_bodies(connections):
    """The body of the HTTP request each connection carried, as text."""
    return [sent(c).partition(b'\r\n\r\n')[2].decode() for c in connections]


# The request bodies README shows -------------------------------------------------


def test_readme_shows_the_xmlrpc_request_of_the_third_call(wire):
    ((_, shown),) = readme_blocks('xml')
    third = request_bodies(wire['xmlrpc_client.py'])[2]
    assert shown.rstrip('\n') == third.rstrip('\n')  # a code block ends its last line


UUID = re.compile(r'"id": "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"')


def test_readme_shows_the_jsonrpc_request_but_for_its_random_id(wire):
    ((_, shown),) = readme_blocks('json')
    (readme_id,) = UUID.findall(shown)  # README's example: a random UUID, like the real ones
    (body,) = request_bodies(wire['jsonrpc_client.py'])
    (actual_id,) = UUID.findall(body)
    assert shown.rstrip('\n') == body.replace(actual_id, readme_id)


# The table of costs -------------------------------------------------------------


def awaited_rpyc_requests(connection):
    """How many requests either side sent over an RPyC connection and waited for.

    Each frame is a header (length, compressed or not), the message, and a
    newline; rpyc sends its HANDLE_DEL and HANDLE_CLOSE requests without
    waiting for their answers, and whether those cross on the wire or take a
    turn each is up to the timing of the two sides.
    """
    awaited = 0
    for direction in ('out', 'back'):
        stream = b''.join(chunk for d, chunk in connection if d == direction)
        while stream:
            length, compressed = struct.unpack('!LB', stream[:5])
            frame, stream = stream[5 : 5 + length], stream[5 + length + 1 :]
            message = zlib.decompress(frame) if compressed else frame
            if message[0] == consts.MSG_REQUEST:
                _sequence, (handler, *_) = brine.load(message[1:])
                awaited += handler not in (consts.HANDLE_DEL, consts.HANDLE_CLOSE)
    return awaited


def measure(script, connections):
    """Connections, round trips, bytes sent and bytes received, in one client run.

    A round trip: a request sent, and its answer waited for. Over HTTP, each
    request is followed by its answer.
    """
    if script.startswith('rpyc'):
        round_trips = sum(awaited_rpyc_requests(c) for c in connections)
    else:
        directions = [[direction for direction, _ in c] for c in connections]
        round_trips = sum(list(zip(d, d[1:])).count(('out', 'back')) for d in directions)
    sent_bytes = sum(len(sent(c)) for c in connections)
    received = sum(len(chunk) for c in connections for d, chunk in c if d == 'back')
    return len(connections), round_trips, sent_bytes, received


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
    connections, round_trips, sent_bytes, received = measure(script, wire[script])
    shown = cost_table()[script]
    assert shown[:2] == [str(connections), str(round_trips)]
    assert shows_bytes(shown[2], sent_bytes), f'{shown[2]} bytes sent? measured {sent_bytes}'
    assert shows_bytes(shown[3], received), f'{shown[3]} bytes received? measured {received}'

"""The scripts do what their docstrings say, over the wire."""

import io
import itertools
import threading
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer

import pytest
from helpers import PROTOCOLS
from processes import run_script

COEFFICIENTS = range(-4, 5)


def test_quadratic_finds_every_real_root_once(xmlrpc_proxy):
    equations = [(a, b, c) for a, b, c in itertools.product(COEFFICIENTS, repeat=3) if a != 0]
    multicall = xmlrpc.client.MultiCall(xmlrpc_proxy)  # one request for them all
    for a, b, c in equations:
        multicall.quadratic(a, b, c)
    answers = multicall()
    for i, (a, b, c) in enumerate(equations):
        discriminant = b * b - 4 * a * c
        if discriminant < 0:
            with pytest.raises(xmlrpc.client.Fault, match='math domain error'):
                answers[i]
            continue
        roots = answers[i]
        assert len(roots) == (1 if discriminant == 0 else 2), (a, b, c, roots)
        assert roots == sorted(set(roots)), (a, b, c, roots)
        for x in roots:
            size = abs(a * x * x) + abs(b * x) + abs(c)
            assert abs(a * x * x + b * x + c) <= 1e-12 * max(size, 1), (a, b, c, x)


def test_quadratic_of_the_clients_equation(xmlrpc_proxy):
    assert xmlrpc_proxy.quadratic(2, -16, 0) == [0.0, 8.0]


def test_quadratic_with_a_zero_is_a_fault(xmlrpc_proxy):
    # README: it is no quadratic; the book's returned [-0.0]
    with pytest.raises(xmlrpc.client.Fault, match='ZeroDivisionError'):
        xmlrpc_proxy.quadratic(0, 1, 1)


def test_quadratic_rounds_where_readme_says(xmlrpc_proxy):
    # README: the smaller root of x² + 10⁸x + 1 is about -1.0e-8, but the
    # formula subtracts nearly equal numbers and keeps few of its digits.
    big, small = xmlrpc_proxy.quadratic(1, 1e8, 1)
    assert big == -1e8
    assert abs(small / -1.0e-8 - 1) > 0.2  # a quarter off
    assert round(small * small + 1e8 * small + 1, 2) == 0.25


@pytest.mark.parametrize(
    'arg, received',
    [
        ([1, 2.0, 'three'], [1, 2.0, 'three']),
        ((1, 2.0, 'three'), [1, 2.0, 'three']),  # XML-RPC has no tuples
        ({'name': 'Arthur', 'data': {'age': 42}}, {'name': 'Arthur', 'data': {'age': 42}}),
        ('xÿz', 'xÿz'),
    ],
    ids=['list', 'tuple', 'dict', 'string'],
)
def test_remote_repr_is_repr_of_what_arrived(xmlrpc_proxy, arg, received):
    assert xmlrpc_proxy.remote_repr(arg) == repr(received)


@pytest.mark.parametrize(
    'things, total',
    [(('x', 'ÿ', 'z'), 'xÿz'), ((20, 30, 4, 1), 55), (([1], [2, 3]), [1, 2, 3]), ((7,), 7)],
    ids=['strings', 'numbers', 'lists', 'one argument'],
)
def test_addtogether(xmlrpc_proxy, things, total):
    assert xmlrpc_proxy.addtogether(*things) == total


def test_lengths_of_mixed_arguments(jsonrpc_proxy):
    args = ['abc', [], {'a': 1, 'b': 2}, 5, 2.5, None, True]
    assert jsonrpc_proxy.lengths(*args) == [
        [3, 'abc'],
        [0, []],
        [2, {'a': 1, 'b': 2}],
        [None, 5],
        [None, 2.5],
        [None, None],
        [None, True],
    ]
    assert jsonrpc_proxy.lengths() == []


@pytest.mark.parametrize(
    'text',
    [
        pytest.param('', id='0 lines'),
        pytest.param('one\n', id='1 line'),
        pytest.param('Simple\nis\nbetter\nthan\ncomplex.\n', id='5 lines'),
        pytest.param('no\nfinal newline', id='no final newline'),
        pytest.param('x\n' * 1000, id='1000 lines', marks=pytest.mark.slow),  # 2,000 round trips
    ],
)
def test_line_counter(rpyc_conn, text):
    called_with = []
    count = rpyc_conn.root.line_counter(io.StringIO(text), called_with.append)
    assert called_with == io.StringIO(text).readlines()
    assert count == len(called_with)


@pytest.mark.slow  # a client process of its own
def test_rpyc_client_counts_a_named_file(servers, tmp_path, run_client):
    path = tmp_path / 'two-lines.txt'
    path.write_text('first\nsecond', encoding='utf-8')
    run = run_client('rpyc_client.py', str(path))
    assert run.stdout == [
        "Noisy: 'first\\n'",
        "Noisy: 'second'",
        'The number of lines in the file was 2',
    ]
    assert (run.stderr, run.returncode) == ([], 0)


def method_signature(method_name):
    """What the Standard Library's server never gives: [[return type, *argument types], ...]."""
    return [] if method_name == 'unsigned' else [['array', 'int', 'int', 'int']]


def solve(a, b, c):
    """Solve it."""


def undocumented(a, b, c):
    pass


def unsigned():
    """A function with no signature."""


@pytest.mark.slow  # a client process and a server of its own
@pytest.mark.stops_server
def test_introspection_prints_the_signatures_a_server_gives(servers, tmp_path):
    servers.stop('xmlrpc')  # this test needs port 7001 for a server of its own
    address = ('127.0.0.1', PROTOCOLS['xmlrpc'].port)
    with SimpleXMLRPCServer(address, logRequests=False) as server:
        server.register_introspection_functions()
        server.register_function(method_signature, 'system.methodSignature')  # replaces it
        server.register_function(solve, 'quadratic')
        server.register_function(undocumented)
        server.register_function(unsigned)
        # shutdown() waits for serve_forever() to notice, which polls this often:
        thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.01})
        thread.start()
        try:
            run = run_script('xmlrpc_introspect.py', cwd=tmp_path)
        finally:
            server.shutdown()
            thread.join()
    assert run.stdout.decode().splitlines() == [
        'Here are the functions supported by this server:',
        'quadratic(int, int, int) -> array',
        '   Solve it.',
        'undocumented(int, int, int) -> array',  # and no line for an empty help text
        'unsigned(...)',  # an empty list of signatures
        '   A function with no signature.',
    ]
    assert (run.stderr, run.returncode) == (b'', 0)

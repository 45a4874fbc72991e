"""The scripts do what their docstrings say, over the wire."""

import io
import itertools
import sys
import threading
import xmlrpc.client
from fractions import Fraction
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


# Equations whose roots differ greatly in size, or whose coefficients are very
# large or very small: the textbook formula subtracts nearly equal numbers to
# find the smaller root, and keeps few of its digits, or none.
HARD = [
    (1, 1e8, 1),  # roots about -1e8 and -1e-8; the textbook's second: -7.45e-9
    (1, -1e8, 1),
    (1e-300, 1, 1),  # about -1e300 and -1; the textbook's second: 0.0
    (-1e-300, 1, 1),
    (1e-8, 1, 1e-8),
    (3, 1e10, 2e-10),
    (1e-10, -1, 1e-10),
    (1e150, 3e150, 2e150),  # -2 and -1, with b * b near the largest float
    (4, 1e-150, -1e-300),  # near the smallest
    (-7, 1e-5, 3),
    (1e5, 1e-5, -1e-5),
]


def worst_residual(equation, roots):
    """The largest |a*x*x + b*x + c| of the roots, relative to the size of its terms.

    Computed exactly (with fractions): a root good to rounding leaves a few
    parts in 10**16 of its terms; one that lost its digits leaves far more.
    """
    a, b, c = map(Fraction, equation)
    worst = 0.0
    for x in map(Fraction, roots):
        terms = [a * x * x, b * x, c]
        worst = max(worst, float(abs(sum(terms)) / sum(map(abs, terms))))
    return worst


@pytest.mark.parametrize('equation', HARD, ids=str)
def test_quadratic_keeps_the_digits_of_both_roots(xmlrpc_proxy, equation):
    roots = xmlrpc_proxy.quadratic(*equation)
    assert len(roots) == 2 and roots == sorted(roots), roots
    assert worst_residual(equation, roots) <= 4 * sys.float_info.epsilon, roots


@pytest.mark.parametrize(
    'equation, roots',
    [((1, 1, 0), [-1.0, 0.0]), ((-1, 1, 0), [0.0, 1.0]), ((1, 0, 0), [0.0]), ((-3, 0, 0), [0.0])],
    ids=str,
)
def test_quadratic_gives_a_root_of_zero_as_0_0_not_minus_0_0(xmlrpc_proxy, equation, roots):
    assert repr(xmlrpc_proxy.quadratic(*equation)) == repr(roots)


@pytest.mark.parametrize('equation', [(0, 1, 1), (0, -1, 1), (0, 0, 1), (0, 0, 0)], ids=str)
def test_quadratic_with_a_zero_is_a_fault(xmlrpc_proxy, equation):
    # README: with a = 0 it is no quadratic (a = b = 0 neither), and the call is a
    # fault; the book's returned [-0.0] for b > 0 and [0.0] otherwise.
    with pytest.raises(xmlrpc.client.Fault, match="<class 'ZeroDivisionError'>:"):
        xmlrpc_proxy.quadratic(*equation)


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
        pytest.param('x\n' * 300, id='300 lines', marks=pytest.mark.slow),  # 600 round trips
    ],
)
def test_line_counter(rpyc_conn, text):
    called_with = []
    count = rpyc_conn.root.line_counter(io.StringIO(text), called_with.append)
    assert called_with == io.StringIO(text).readlines()
    assert count == len(called_with)


@pytest.mark.slow  # a client process of its own
def test_rpyc_client_counts_a_named_utf_8_file_whatever_the_locale(servers, tmp_path):
    # README: a file named on the command line must be UTF-8 text. Python's
    # own choice would be the locale's encoding: here ASCII, as in a C locale
    # without UTF-8 mode.
    servers['rpyc']
    path = tmp_path / 'two-lines.txt'
    path.write_text('café\nnaïve', encoding='utf-8')  # and no final newline
    locale = {'LC_ALL': 'C', 'PYTHONUTF8': '0', 'PYTHONCOERCECLOCALE': '0'}
    run = run_script('rpyc_client.py', str(path), cwd=tmp_path, PYTHONIOENCODING='utf-8', **locale)
    assert (run.stderr, run.returncode) == (b'', 0)
    assert run.stdout.decode().splitlines() == [
        "Noisy: 'café\\n'",
        "Noisy: 'naïve'",
        'The number of lines in the file was 2',
    ]


@pytest.mark.slow  # a client process of its own
def test_rpyc_client_given_a_file_not_utf_8_fails_with_an_error_from_two_sides_away(
    servers, tmp_path
):
    # README: the client decodes the file as the server reads it, and the error
    # crosses the wire twice: to the server, and back within its answer.
    servers['rpyc']
    path = tmp_path / 'not-text.dat'
    path.write_bytes(b'ab\xff\xfe\n')
    run = run_script('rpyc_client.py', str(path), cwd=tmp_path)
    assert run.returncode == 1
    lines = [line for line in run.stderr.decode().splitlines() if line and line[0] != ' ']
    error = "'utf-8' codec can't decode byte 0xff in position 2: invalid start byte"
    assert lines[1] == f'_get_exception_class.<locals>.Derived: {error}'
    assert '========= Remote Traceback (2) =========' in lines
    assert lines[-1] == f'UnicodeDecodeError: {error}'


@pytest.mark.slow  # two client processes of its own
def test_rpyc_client_takes_one_file_at_most(tmp_path):
    # README: -h says how to call it; a second file is refused (exit status 2).
    usage = run_script('rpyc_client.py', '-h', cwd=tmp_path)
    assert usage.returncode == 0
    assert usage.stdout.decode().startswith('usage: rpyc_client.py [-h] [path]\n')
    refused = run_script('rpyc_client.py', 'one.txt', 'two.txt', cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.decode().endswith('error: unrecognized arguments: two.txt\n')


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

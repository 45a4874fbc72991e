"""The scripts as files and as functions: each does what its docstring says,
and is laid out as the project's scripts are."""

import ast
import io
import itertools
import os
import re
import xmlrpc.client

import pytest
from helpers import ROOT
from processes import run_script

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.9 and 3.10
    import tomli as tomllib

SCRIPTS = sorted(path.name for path in ROOT.glob('*.py'))


# XML-RPC ------------------------------------------------------------------------


def test_quadratic_finds_every_real_root_once(xmlrpc_proxy):
    """The docstring: "Determine `x` values satisfying: `a` * x*x + `b` * x + c == 0"."""
    coefficients = range(-4, 5)
    equations = [e for e in itertools.product(coefficients, repeat=3) if e[0] != 0]
    multicall = xmlrpc.client.MultiCall(xmlrpc_proxy)  # one request for them all
    for a, b, c in equations:
        multicall.quadratic(a, b, c)
    for (a, b, c), answer in zip(equations, multicall().results):
        if b * b < 4 * a * c:
            assert answer['faultString'] == "<class 'ValueError'>:math domain error"
            continue
        (roots,) = answer
        assert len(roots) == len(set(roots)) == (1 if b * b == 4 * a * c else 2), (a, b, c)
        for x in roots:
            assert abs(a * x * x + b * x + c) <= 1e-12 * (abs(a * x * x) + abs(b * x) + abs(c) + 1)


def test_quadratic_divides_by_2a_where_the_book_multiplied(xmlrpc_proxy):
    """README: "`/ 2.0*a` multiplies by `a`: `quadratic(2, -4, 0)` printed `[0.0, 8.0]`"."""
    assert sorted(xmlrpc_proxy.quadratic(2, -4, 0)) == [0.0, 2.0]
    assert sorted(xmlrpc_proxy.quadratic(2, -16, 0)) == [0.0, 8.0]


# JSON-RPC and RPyC ----------------------------------------------------------------


@pytest.mark.parametrize(
    'text',
    [
        pytest.param('', id='no lines'),
        pytest.param('one\n', id='one line'),
        pytest.param('Simple\nis\nbetter\nthan\ncomplex.\n', id='five lines'),
        pytest.param('no\nfinal newline', id='no final newline'),
        pytest.param('x\n' * 300, id='three hundred lines', marks=pytest.mark.slow),
    ],
)
def test_line_counter(rpyc_conn, text):
    """The docstring: "Call `function(line)` for each line of `fileobj`, and return how many
    lines it has"; README: an empty file counts 0, where the book's raised UnboundLocalError."""
    called_with = []
    count = rpyc_conn.root.line_counter(io.StringIO(text), called_with.append)
    assert called_with == io.StringIO(text).readlines()
    assert count == len(called_with)


@pytest.mark.slow  # client processes of their own
def test_rpyc_client_counts_a_named_utf_8_file_whatever_the_locale(servers, tmp_path):
    """README: "To count a UTF-8 text file of yours, name it ... A file that is not UTF-8 ends
    the run with a `UnicodeDecodeError`, raised by the client's own `readlines()` and sent back
    by the server". Python's own choice would be the locale's: ASCII in a C locale here."""
    servers['rpyc']
    (tmp_path / 'two.txt').write_text('café\nnaïve', encoding='utf-8')  # no final newline
    locale = {'LC_ALL': 'C', 'PYTHONUTF8': '0', 'PYTHONCOERCECLOCALE': '0'}
    run = run_script('rpyc_client.py', 'two.txt', cwd=tmp_path, PYTHONIOENCODING='utf-8', **locale)
    assert (run.stderr, run.returncode) == (b'', 0)
    printed = ["Noisy: 'café\\n'", "Noisy: 'naïve'", 'The number of lines in the file was 2']
    assert run.stdout.decode().splitlines() == printed
    (tmp_path / 'not-text.dat').write_bytes(b'ab\xff\xfe\n')
    run = run_script('rpyc_client.py', 'not-text.dat', cwd=tmp_path)
    lines = [line for line in run.stderr.decode().splitlines() if line and line[0] != ' ']
    error = "'utf-8' codec can't decode byte 0xff in position 2: invalid start byte"
    assert (run.returncode, lines[1]) == (1, f'_get_exception_class.<locals>.Derived: {error}')
    assert '========= Remote Traceback (1) =========' in lines  # the server's, and in it:
    assert lines[-1] == f'UnicodeDecodeError: {error}'


# The scripts as files ---------------------------------------------------------------

# PEP 723's reference regular expression for a metadata block.
BLOCK = r'(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$'
PACKAGES = {'jsonrpclib': 'jsonrpclib-pelix', 'rpyc': 'rpyc'}  # imported as: installed as


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_script_names_the_packages_it_imports_pinned_as_requirements_txt(script):
    """README: "the `# /// script` blocks (PEP 723's metadata) that uv reads ... These scripts
    need Python 3.9 or newer, as their `# /// script` blocks say", read as PEP 723 reads them."""
    text = (ROOT / script).read_text(encoding='utf-8')
    tree = ast.parse(text)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    needed = {PACKAGES[m.split('.')[0]] for m in imported if m.split('.')[0] in PACKAGES}
    blocks = [m['content'] for m in re.finditer(BLOCK, text) if m['type'] == 'script']
    if not needed:
        assert blocks == [], 'a Standard Library script needs no metadata block'
        return
    (block,) = blocks
    metadata = tomllib.loads(''.join(line[2:] for line in block.splitlines(keepends=True)))
    assert metadata['requires-python'] == '>=3.9'
    assert {re.split('[=<>!~ ;]', d)[0] for d in metadata['dependencies']} == needed
    requirements = (ROOT / 'requirements.txt').read_text(encoding='utf-8').splitlines()
    assert set(metadata['dependencies']) <= {
        line.partition('#')[0].strip() for line in requirements
    }


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_script_runs_as_a_command_and_says_what_it_shows(script):
    path = ROOT / script
    text = path.read_text(encoding='utf-8')
    tree = ast.parse(text)
    assert text.startswith('#!/usr/bin/env python3\n'), 'the first line is the shebang'
    assert os.access(path, os.X_OK), 'the run bit is set'
    assert ast.get_docstring(tree), 'a module docstring says what it demonstrates'
    assert any(isinstance(n, ast.FunctionDef) and n.name == 'main' for n in tree.body)
    assert text.endswith("\n\nif __name__ == '__main__':\n    main()\n")

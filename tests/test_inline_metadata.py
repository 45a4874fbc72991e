"""Each script that needs a package from PyPI says so at its top (PEP 723),
pinned as requirements.txt pins it, so that `uv run` can run it as it is."""

import ast
import importlib.metadata
import re

import pytest
from helpers import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.9 and 3.10
    import tomli as tomllib

# The specification's reference regular expression for a metadata block.
BLOCK = r'(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$'
PACKAGES = {'jsonrpclib': 'jsonrpclib-pelix', 'rpyc': 'rpyc'}  # imported as: installed as
SCRIPTS = sorted(path.name for path in ROOT.glob('*.py'))


def script_metadata(text):
    """The script's `# /// script` block, read as PEP 723 reads it; None if it has none."""
    blocks = [match for match in re.finditer(BLOCK, text) if match.group('type') == 'script']
    if len(blocks) > 1:
        raise ValueError('more than one script block')
    if not blocks:
        return None
    content = ''.join(
        line[2:] if line.startswith('# ') else line[1:]
        for line in blocks[0].group('content').splitlines(keepends=True)
    )
    return tomllib.loads(content)


def packages_imported(text):
    """The PyPI packages that a script imports, by the names pip installs them under."""
    modules = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split('.')[0])
    return {PACKAGES[module] for module in modules & PACKAGES.keys()}


def pinned_requirements():
    """requirements.txt's lines, without comments: {'rpyc==6.0.2', ...}."""
    text = (ROOT / 'requirements.txt').read_text(encoding='utf-8')
    return {line.partition('#')[0].strip() for line in text.splitlines()} - {''}


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_script_names_the_packages_it_imports_pinned_as_requirements_txt(script):
    text = (ROOT / script).read_text(encoding='utf-8')
    needed = packages_imported(text)
    metadata = script_metadata(text)
    if not needed:
        assert metadata is None, 'a Standard Library script needs no metadata block'
        return
    assert metadata is not None, f'{script} imports {sorted(needed)} but has no script block'
    assert metadata['requires-python'] == '>=3.9'
    dependencies = metadata['dependencies']
    assert {re.split('[=<>!~ ;]', d)[0] for d in dependencies} == needed
    assert set(dependencies) <= pinned_requirements(), 'pinned otherwise than requirements.txt'


def test_each_script_starts_with_the_shebang_then_any_block():
    for script in SCRIPTS:
        lines = (ROOT / script).read_text(encoding='utf-8').splitlines()
        assert lines[0] == '#!/usr/bin/env python3'
        if '# /// script' in lines:
            assert lines[1] == '# /// script', script


def test_rpyc_needs_python_3_8_or_newer():
    # README: Python 2 cannot install the rpyc these scripts use.
    assert importlib.metadata.metadata('rpyc')['Requires-Python'] == '>=3.8'

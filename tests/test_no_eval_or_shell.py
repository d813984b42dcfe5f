"""No input ever reaches ``eval``, ``exec``, a shell or pickle: checked in the source itself.

A grep would be fooled by ``model.eval()`` (PyTorch's evaluation mode); the syntax tree
tells a call of the builtin from a method of the same name.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO_ROOT
from tests.source_trees import syntax_trees

PACKAGES = ["encoder", "indexer", "storage", "service", "rsclip", "search_api", "evaluation"]
BUILTINS = {"eval", "exec", "compile", "__import__"}
MODULE_CALLS = {("os", "system"), ("os", "popen"), ("pickle", "loads"), ("pickle", "load"), ("marshal", "loads")}
SHELL_MODULES = {"subprocess", "pty", "commands"}


def _sources():
    for package in PACKAGES:
        folder = REPO_ROOT / package
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


def _offences(path, root=REPO_ROOT, among=None) -> list[str]:
    """What ``path`` does that production code must not; ``among``: the files parsed with it in one child."""
    tree = syntax_trees(among or [path])[path.resolve()]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {name}" for name in names if name.split(".")[0] in SHELL_MODULES]
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in BUILTINS:
            found.append(f"calls {function.id}()")
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            if (function.value.id, function.attr) in MODULE_CALLS:
                found.append(f"calls {function.value.id}.{function.attr}()")
        if any(keyword.arg == "shell" for keyword in node.keywords):
            found.append("passes shell=")
    return [f"{path.relative_to(root)}:{offence}" for offence in found]


SOURCES = list(_sources())


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_no_eval_exec_shell_or_pickle_in_production_code(path):
    assert _offences(path, among=SOURCES) == []


def test_the_check_itself_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import subprocess\nimport os\neval(x)\nos.system(x)\nmodel.eval()\nrun(x, shell=True)\n")
    found = _offences(sample, root=tmp_path)
    assert [text.split(":", 1)[1] for text in found] == [
        "imports subprocess", "calls eval()", "calls os.system()", "passes shell="
    ]


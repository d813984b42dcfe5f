"""The packages form floors: each imports only the floors below it, never one above.

encoder, storage  <-  indexer  <-  service  <-  evaluation, search_api  <-  rsclip (CLI)

A lower floor that imports a higher one makes a circle (the CLI's package imported by
the API that the CLI starts); these tests read every module's imports and fail on one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.source_trees import syntax_trees

ROOT = Path(__file__).resolve().parent.parent

# What each package must never import (its own floor and those below are fine).
FORBIDDEN = {
    "encoder": {"storage", "indexer", "evaluation", "service", "search_api", "rsclip"},
    "storage": {"encoder", "indexer", "evaluation", "service", "search_api", "rsclip"},
    "indexer": {"evaluation", "service", "search_api", "rsclip"},
    "evaluation": {"search_api", "rsclip"},
    "service": {"evaluation", "search_api", "rsclip"},
    "search_api": {"rsclip"},
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


ALL_MODULES = [module for package in sorted(FORBIDDEN) for module in _modules(package)]


def imported_packages(path: Path) -> set[str]:
    tree = syntax_trees(ALL_MODULES)[path.resolve()]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_no_higher_floor(package):
    offenders = []
    for module in _modules(package):
        wrong = imported_packages(module) & FORBIDDEN[package]
        if wrong:
            offenders.append(f"{module.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not offenders, "\n".join(offenders)


def test_storage_modules_use_no_private_helper_of_another_module():
    """``from storage.x import _helper`` is a circle in disguise: shared helpers get a public home."""
    offenders = []
    for module in _modules("storage"):
        tree = syntax_trees(ALL_MODULES)[module.resolve()]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("storage."):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                if private:
                    offenders.append(f"{module.relative_to(ROOT)}: {node.module} {private}")
    assert not offenders, "\n".join(offenders)

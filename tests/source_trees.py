"""Syntax trees of source files, parsed in a child interpreter that runs nothing else.

CPython before 3.11.8 and 3.12.1 keeps the AST builder's recursion counter per interpreter,
not per thread (python/cpython gh-106905). An ``ast.parse`` in the test process while a
thread that an earlier test left behind (Ray's driver, torch's compile workers) parses
something too can fail with ``SystemError: AST constructor recursion depth mismatch``;
CI's Python 3.11.7 did so once, on a file that parses fine. A fresh child has no other
thread. Its trees come back pickled: rebuilding nodes from a pickle does not pass through
that counter.
"""

from __future__ import annotations

import functools
import json
import pickle
import subprocess
import sys
from pathlib import Path

_CHILD = """
import ast, json, pickle, sys
paths = json.load(sys.stdin)
trees = {path: ast.parse(open(path, encoding="utf-8").read(), filename=path) for path in paths}
sys.stdout.buffer.write(pickle.dumps(trees))
"""


@functools.lru_cache(maxsize=8)
def _parse_all(paths: tuple[str, ...]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps(list(paths)).encode(),
        capture_output=True, check=False, timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"parsing {len(paths)} files failed:\n{done.stderr.decode(errors='replace')}")
    return pickle.loads(done.stdout)


def syntax_trees(paths) -> dict[Path, object]:
    """``{path: ast.Module}`` for every path, parsed in one child (cached per set of paths)."""
    ordered = tuple(sorted(str(Path(path).resolve()) for path in paths))
    return {Path(path): tree for path, tree in _parse_all(ordered).items()}


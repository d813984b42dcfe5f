"""bench/load.py runs end to end on a tiny scale: it stops by itself and its checks hold.

The figures themselves are not asserted (no timing in tests); that nothing was lost or
duplicated and that no request got a 5xx are.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO_ROOT


def _load_script():
    spec = importlib.util.spec_from_file_location("bench_load", REPO_ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_load_run_passes_its_own_checks(tmp_path, tiny_checkpoint, capsys):
    load = _load_script()
    status = load.main([
        "--duration", "3", "--clients", "4", "--initial", "12", "--added", "16",
        "--model", str(tiny_checkpoint), "--work-dir", str(tmp_path / "work"), "--json", str(tmp_path / "figures.json"),
    ])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "PASS" in out and "req/s" in out and "server RSS" in out
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["server_errors_5xx"] == 0
    assert figures["items"]["catalog_items"] == figures["items"]["served_vectors"] == 28
    assert figures["items"]["indexer_duplicates_skipped"] > 0  # the added chunks hold copies


@pytest.mark.parametrize("argv", [["--duration", "0"], ["--duration", "601"], ["--clients", "1000"], ["--max-requests", "0"]])
def test_unbounded_runs_are_refused(argv):
    with pytest.raises(SystemExit) as exited:
        _load_script().main(argv)
    assert exited.value.code == 2

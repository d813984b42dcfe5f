"""bench/catalogs.py runs end to end on a tiny scale and prints both engines side by side.

The figures are not asserted (no timing in tests): that the run completes on a real
PostgreSQL server and reports every figure for both engines is.
"""

from __future__ import annotations

from bench.catalogs import main


def test_a_tiny_catalog_bench_reports_every_figure_for_both_engines(postgres_url, capsys):
    assert main(["--items", "300", "--dimension", "64", "--calls", "3", "--database-url", postgres_url]) == 0
    out = capsys.readouterr().out
    table = out[out.index("side by side") :]
    for figure in ("index (Store.add batches)", "reader open", "search p50", "filtered search p95", "follow check p50"):
        line = next(line for line in table.splitlines() if figure in line)
        assert line.rstrip().endswith("x"), line  # SQLite, PostgreSQL, and their ratio

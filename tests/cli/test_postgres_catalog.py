"""Every command with ``--database-url postgresql+psycopg://...``: the catalog on a real PostgreSQL
server (tests/catalogs.py), the vectors in the data directory."""

from __future__ import annotations

import json

import pytest

from encoder.tiny_checkpoint import build_tiny_siglip
from storage import Store


@pytest.fixture
def on_postgres(cli_run, postgres_url, tmp_path, tiny_checkpoint, mixed_corpus):
    """``run(*argv) -> (status, out, err)`` with the catalog flags added, after a first index run."""
    data_dir = tmp_path / "rsdata"

    def run(*argv):
        return cli_run(*argv, "--data-dir", data_dir, "--database-url", postgres_url)

    inputs, _ = mixed_corpus
    code, _, err = run("index", *inputs, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    return run, inputs, data_dir


def test_every_command_works_on_a_postgresql_catalog(on_postgres, postgres_url, tmp_path):
    run, inputs, data_dir = on_postgres
    assert not (data_dir / "catalog.sqlite").exists()  # the catalog is on the server
    code, out, _ = run("index", *inputs, "--quiet")
    assert code == 0 and "8 unchanged" in out
    code, out, _ = run("search", "a harbor", "-k", "3", "--json")
    assert code == 0 and len(json.loads(out)) == 3
    stats = json.loads(run("stats", "--json")[1])
    assert stats["items"] == stats["vectors"] == 7
    assert stats["database_url"].startswith("postgresql+psycopg://")
    code, out, _ = run("check", "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = run("export", "--out", tmp_path / "export", "--json")
    assert code == 0 and json.loads(out)["rows"] == 7
    (inputs[0] / "a.jpg").unlink()
    code, out, _ = run("prune", "--json")
    assert code == 0 and json.loads(out)["index_items"] == 6
    other = build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=4)
    summary = json.loads(run("reindex", "--model", other, "--quiet", "--json")[1])
    assert summary["switched"] and summary["dimension"] == 32
    code, out, _ = run("check", "--json")
    assert code == 0 and json.loads(out)["ok"]


def test_a_second_writer_on_the_same_postgresql_catalog_is_refused_in_one_line(on_postgres, postgres_url, tmp_path):
    run, inputs, data_dir = on_postgres
    elsewhere = tmp_path / "another-machines-mount"  # another data directory: the lock is the catalog's
    with Store(elsewhere, database_url=postgres_url, writable=True):
        code, _, err = run("index", *inputs, "--quiet")
    assert code == 1
    assert err.startswith("rsclip: error: Another rsclip process is writing to the catalog postgresql+psycopg://")
    assert err.count("\n") == 1
    code, out, _ = run("index", *inputs, "--quiet")  # the lock went with the writer's connection
    assert code == 0 and "8 unchanged" in out

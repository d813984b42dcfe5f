"""The index lifecycle from the command line: index again, prune, reindex, check, check --repair."""

from __future__ import annotations

import json
import sqlite3

import pytest

from encoder.tiny_checkpoint import build_tiny_siglip
from rsclip.cli import main


@pytest.fixture
def rsclip(cli_run):
    return cli_run


@pytest.fixture
def rsclip_json(cli_run):
    def run(*argv) -> dict:
        code, out, err = cli_run(*argv, "--json")
        assert code in (0, 2), err
        return json.loads(out)

    return run


@pytest.fixture
def indexed(tmp_path, rsclip, tiny_checkpoint, mixed_corpus):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "rsdata"
    code, _, err = rsclip("index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    return data_dir, inputs, expected


def test_a_second_index_run_reports_unchanged_files(indexed, rsclip):
    data_dir, inputs, _ = indexed
    code, out, _ = rsclip("index", *inputs, "--data-dir", data_dir, "--quiet")
    assert code == 0 and "8 unchanged, 0 replaced" in out


def test_prune_forgets_deleted_files_and_archive_members(indexed, rsclip, rsclip_json):
    data_dir, inputs, _ = indexed
    folder, _, archive_tar = inputs
    (folder / "a.jpg").unlink()
    archive_tar.unlink()
    summary = rsclip_json("prune", "--data-dir", data_dir)
    assert (summary["removed_locations"], summary["removed_images"], summary["index_items"]) == (3, 3, 4)
    assert rsclip_json("check", "--data-dir", data_dir)["ok"]
    code, out, _ = rsclip("prune", "--data-dir", data_dir)
    assert code == 0 and "0 gone" in out


def test_index_with_prune_reports_what_it_removed(indexed, rsclip):
    data_dir, inputs, _ = indexed
    (inputs[0] / "sub" / "c.tif").unlink()
    code, out, _ = rsclip("index", *inputs, "--data-dir", data_dir, "--prune", "--quiet")
    assert code == 0 and "1 gone file(s) pruned" in out and "holds 6 image(s)" in out


def test_reindex_with_another_model_then_search_uses_it(indexed, rsclip, rsclip_json, tmp_path):
    data_dir, _, _ = indexed
    other = build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=4)
    summary = rsclip_json("reindex", "--data-dir", data_dir, "--model", other, "--quiet")
    assert summary["switched"] and (summary["embedded"], summary["dimension"]) == (7, 32)
    stats = rsclip_json("stats", "--data-dir", data_dir)
    assert (stats["dimension"], stats["vectors"], stats["model"]) == (32, 7, str(other.resolve()))
    code, out, _ = rsclip("search", "a harbor", "-k", "2", "--json", "--data-dir", data_dir)
    assert code == 0 and len(json.loads(out)) == 2


def test_a_failed_reindex_exits_1_says_what_to_do_and_keeps_the_old_model(indexed, rsclip, rsclip_json, tmp_path):
    data_dir, inputs, _ = indexed
    (inputs[0] / "a.jpg").unlink()
    other = build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=4)
    code, out, err = rsclip("reindex", "--data-dir", data_dir, "--model", other, "--quiet")
    assert code == 1
    assert "a.jpg" in out and "rsclip prune" in err and "resumes" in err and "Traceback" not in err
    assert rsclip_json("stats", "--data-dir", data_dir)["dimension"] == 64
    assert rsclip("prune", "--data-dir", data_dir)[0] == 0
    summary = rsclip_json("reindex", "--data-dir", data_dir, "--model", other, "--quiet")
    assert summary["switched"] and (summary["resumed_with"], summary["embedded"], summary["total"]) == (6, 0, 6)


def lose_vectors(data_dir, *image_ids: int) -> None:
    connection = sqlite3.connect(data_dir / "catalog.sqlite")
    connection.execute(f"DELETE FROM embeddings WHERE image_id IN ({','.join(map(str, image_ids))})")
    connection.commit()
    connection.close()


def test_check_repair_re_embeds_lost_vectors_from_the_files_and_rebuilds_faiss(indexed, rsclip, rsclip_json):
    data_dir, _, _ = indexed
    lose_vectors(data_dir, 2, 5)
    code, out, _ = rsclip("check", "--data-dir", data_dir)
    assert code == 2
    assert "images-without-vector" in out and "faiss-orphan-ids" in out
    code, out, _ = rsclip("check", "--repair", "--data-dir", data_dir)
    assert code == 0 and "re-embedded" in out and out.rstrip().endswith("OK: catalog and vector index agree.")
    report = rsclip_json("check", "--data-dir", data_dir)
    assert report["ok"] and report["faiss_vectors"] == report["catalog_vectors"] == 7


def test_check_repair_refuses_to_re_embed_with_another_model(indexed, rsclip, tmp_path):
    data_dir, _, _ = indexed
    lose_vectors(data_dir, 2)
    other = build_tiny_siglip(tmp_path / "other", hidden_size=64, seed=9)
    code, _, err = rsclip("check", "--repair", "--data-dir", data_dir, "--model", other)
    assert code == 1 and "same model" in err


@pytest.mark.parametrize("command", ["reindex", "prune", "check"])
def test_new_commands_have_complete_help(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "--data-dir" in capsys.readouterr().out


def test_commands_on_a_missing_index_say_to_index_first(tmp_path, rsclip):
    for command in ("reindex", "prune", "check"):
        code, _, err = rsclip(command, "--data-dir", tmp_path / "nothing")
        assert code == 1 and "rsclip index" in err

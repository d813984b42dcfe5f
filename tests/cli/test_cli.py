"""The rsclip command end to end: index, search, stats, and the errors users see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from encoder.tiny_checkpoint import build_tiny_siglip
from rsclip.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def indexed(tmp_path, capsys, tiny_checkpoint, mixed_corpus):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "rsdata"
    code, out, err = run_cli(capsys, "index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    return data_dir, expected, out


def test_index_reports_summary_and_the_corrupt_file_and_exits_zero(indexed):
    _, _, out = indexed
    assert "Indexed 7 new image(s)" in out
    assert "1 duplicate(s), 1 failed" in out
    assert "broken.jpg" in out


def test_search_by_image_returns_that_image_first_as_json(indexed, capsys):
    data_dir, expected, _ = indexed
    (source, member), _ = next(iter(expected.items()))
    query = Path(source) / member
    code, out, _ = run_cli(capsys, "search", "--image", query, "-k", "3", "--json", "--data-dir", data_dir)
    assert code == 0
    results = json.loads(out)
    assert {"id", "source", "member", "score"} <= set(results[0])
    assert (results[0]["source"], results[0]["member"]) == (source, member)
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_text_search_prints_a_ranked_table(indexed, capsys):
    data_dir, _, _ = indexed
    code, out, err = run_cli(capsys, "search", "a river winding through farmland", "-k", "4", "--data-dir", data_dir)
    assert code == 0
    assert "random weights" in err  # the tests' checkpoint is random; users are told
    lines = out.strip().splitlines()
    assert lines[0].split() == ["rank", "score", "id", "size", "path"]
    assert len(lines) == 5


def test_similar_leaves_the_image_itself_out(indexed, capsys):
    data_dir, _, _ = indexed
    code, out, _ = run_cli(capsys, "search", "--similar", "1", "-k", "3", "--json", "--data-dir", data_dir)
    assert code == 0
    assert 1 not in [row["id"] for row in json.loads(out)]


def test_reindexing_the_same_inputs_adds_nothing(indexed, capsys, mixed_corpus):
    data_dir, _, _ = indexed
    inputs, _ = mixed_corpus
    code, out, _ = run_cli(capsys, "index", *inputs, "--data-dir", data_dir, "--quiet", "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["added"] == 0 and summary["index_items"] == 7


def test_stats_shows_count_model_dimension_and_index_type(indexed, capsys, tiny_checkpoint, encoder):
    data_dir, _, _ = indexed
    code, out, _ = run_cli(capsys, "stats", "--json", "--data-dir", data_dir)
    stats = json.loads(out)
    assert code == 0
    assert stats["items"] == stats["vectors"] == 7
    assert stats["model"] == str(tiny_checkpoint.resolve())
    assert stats["dimension"] == encoder.spec.dimension
    assert stats["index_type"] == "IDMap2,Flat"
    assert len(stats["sources"]) == 3
    code, out, _ = run_cli(capsys, "stats", "--data-dir", data_dir)
    assert "items          : 7" in out and "IDMap2,Flat" in out


def test_stats_shows_each_kind_of_query_at_its_own_depth():
    from rsclip.commands.stats_cmd import describe_build
    from storage import IndexBuild

    build = IndexBuild("IVF4096,PQ512x4fs", 10_000_000, 1805.0, nprobe=160, recall_at_10=0.99, text_recall_at_10=0.97,
                       text_queries="model", rerank=256, text_nprobe=576, text_rerank=2048)
    shown = describe_build(build)
    assert "0.990 for image queries (nprobe 160, 256 re-ranked exactly)" in shown
    assert "0.970 for text queries (nprobe 576, 2048 re-ranked exactly)" in shown
    older = IndexBuild("IVF64,SQfp16", 3000, 1.0, nprobe=12, recall_at_10=0.98, text_recall_at_10=0.96)
    assert "(nprobe 12)" in describe_build(older) and "synthetic text-like queries (nprobe 12)" in describe_build(older)


def test_searching_with_another_model_is_refused_clearly(indexed, capsys, tmp_path):
    data_dir, _, _ = indexed
    other = build_tiny_siglip(tmp_path / "other-model", hidden_size=64, seed=3)
    code, _, err = run_cli(capsys, "search", "a harbor", "--data-dir", data_dir, "--model", other)
    assert code == 1
    assert "was built with model" in err and "Traceback" not in err


def test_unknown_model_is_one_line_without_traceback(tmp_path, capsys, mixed_corpus):
    inputs, _ = mixed_corpus
    code, _, err = run_cli(capsys, "index", *inputs, "--data-dir", tmp_path / "d", "--model", "nobody/no-such-model")
    assert code == 1
    assert err.count("\n") == 1 and "--model" in err


def test_search_without_an_index_says_to_index_first(tmp_path, capsys):
    code, _, err = run_cli(capsys, "search", "x", "--data-dir", tmp_path / "empty")
    assert code == 1 and "rsclip index" in err


@pytest.mark.parametrize(
    "argv, message",
    [(["search", "   "], "empty"), (["search", "x", "-k", "0"], "-k"), (["search"], "exactly one")],
)
def test_bad_search_arguments_are_user_errors(indexed, capsys, argv, message):
    data_dir, _, _ = indexed
    code, _, err = run_cli(capsys, *argv, "--data-dir", data_dir)
    assert code == 1 and message in err


def test_environment_variables_choose_data_dir_and_model(indexed, capsys, monkeypatch, tiny_checkpoint):
    data_dir, _, _ = indexed
    monkeypatch.setenv("RSCLIP_DATA", str(data_dir))
    monkeypatch.setenv("RSCLIP_MODEL", str(tiny_checkpoint))
    code, out, _ = run_cli(capsys, "search", "farmland", "-k", "2", "--json")
    assert code == 0 and len(json.loads(out)) == 2


@pytest.mark.parametrize("command", ["index", "search", "stats", "demo"])
def test_every_command_has_complete_help(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "--data-dir" in out and "--model" in out


def test_installed_console_script_runs_a_real_index_in_a_subprocess(tmp_path, tiny_checkpoint, mixed_corpus):
    inputs, _ = mixed_corpus
    script = Path(sys.executable).parent / "rsclip"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rsclip"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        command + ["index", *map(str, inputs), "--data-dir", str(tmp_path / "d"), "--model", str(tiny_checkpoint)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Indexed 7 new image(s)" in result.stdout
    assert "Traceback" not in result.stderr

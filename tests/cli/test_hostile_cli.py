"""rsclip index on hostile input: exit 0 when the run completed, --strict exits 3 on any failure;
the summary and ``rsclip stats`` count failures by kind and name each one safely."""

from __future__ import annotations

import json
import os
import tarfile

import pytest

from rsclip.cli import main
from rsclip.commands.limit_flags import EXIT_INPUTS_FAILED, byte_size
from tests.indexer.hostile import encoded, noise, png_header_only, tar_add


def run_cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def bad_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes(encoded(noise(1)))
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.jpg").write_bytes(b"words")
    (folder / "bomb.png").write_bytes(png_header_only(5000, 5000))
    (folder / "escape\x1b[2J.png").write_bytes(encoded(noise(2)))
    os.mkfifo(folder / "fifo.png")
    with tarfile.open(folder / "links.tar", "w") as archive:
        tar_add(archive, "sym.png", type=tarfile.SYMTYPE, linkname="/etc/shadow")
    return folder


def _index(capsys, folder, data_dir, checkpoint, *extra):
    return run_cli(capsys, "index", folder, "--data-dir", data_dir, "--model", checkpoint, "--quiet", *extra)


def test_a_completed_run_exits_zero_and_strict_exits_three(capsys, tmp_path, bad_folder, tiny_checkpoint):
    code, out, _ = _index(capsys, bad_folder, tmp_path / "d", tiny_checkpoint, "--max-pixels", "1000000")
    assert code == 0
    assert "5 failed (" in out
    code, out, _ = _index(capsys, bad_folder, tmp_path / "d", tiny_checkpoint, "--strict", "--max-pixels", "1000000")
    assert code == EXIT_INPUTS_FAILED
    assert "Indexed 0 new image(s)" in out and "2 unchanged" in out


def test_strict_exits_zero_when_nothing_failed(capsys, tmp_path, tiny_checkpoint):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.png").write_bytes(encoded(noise(3)))
    code, _, err = _index(capsys, tmp_path / "in", tmp_path / "d", tiny_checkpoint, "--strict")
    assert code == 0, err


def test_json_summary_counts_failures_by_kind_and_names_each(capsys, tmp_path, bad_folder, tiny_checkpoint):
    code, out, _ = _index(capsys, bad_folder, tmp_path / "d", tiny_checkpoint, "--json", "--max-pixels", "1000000")
    summary = json.loads(out)
    assert code == 0
    assert summary["failures_by_kind"] == {"special-file": 1, "link": 1, "empty": 1, "not-an-image": 1, "too-many-pixels": 1}
    by_member = {failure["member"]: failure for failure in summary["failures"]}
    assert by_member["sym.png"]["kind"] == "link" and "/etc/shadow" in by_member["sym.png"]["reason"]
    assert summary["added"] == 2 and summary["seen"] == 7


def test_output_never_carries_raw_control_characters_from_names(capsys, tmp_path, bad_folder, tiny_checkpoint):
    _index(capsys, bad_folder, tmp_path / "d", tiny_checkpoint)
    code, out, err = run_cli(capsys, "search", "--image", bad_folder / "good.png", "--data-dir", tmp_path / "d", "-k", "5")
    assert code == 0, err
    assert "\x1b" not in out and "escape\\x1b[2J.png" in out


def test_stats_shows_the_last_runs_failures(capsys, tmp_path, bad_folder, tiny_checkpoint):
    _index(capsys, bad_folder, tmp_path / "d", tiny_checkpoint)
    code, out, _ = run_cli(capsys, "stats", "--data-dir", tmp_path / "d")
    assert code == 0
    assert "last index run" in out and "5 failed" in out
    assert "failed by kind : " in out and "1 link" in out
    assert "links.tar!sym.png" in out
    code, out, _ = run_cli(capsys, "stats", "--data-dir", tmp_path / "d", "--json")
    last = json.loads(out)["last_index_run"]
    assert last["failed"] == 5 and len(last["failures"]) == 5
    assert last["inputs"] == [str(bad_folder)]


@pytest.mark.parametrize(
    "flag, value", [("--max-pixels", "0"), ("--max-file-bytes", "lots"), ("--max-members", "-3"), ("--max-compression-ratio", "x")]
)
def test_bad_limit_values_are_usage_errors(capsys, tmp_path, flag, value):
    with pytest.raises(SystemExit) as exited:
        main(["index", str(tmp_path), flag, value])
    assert exited.value.code == 2
    assert flag in capsys.readouterr().err


def test_sizes_read_like_people_write_them():
    assert byte_size("512M") == 512 << 20 and byte_size("2G") == 2 << 30 and byte_size("1.5KiB") == 1536
    assert byte_size("1048576") == 1 << 20

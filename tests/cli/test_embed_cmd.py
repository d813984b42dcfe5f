"""rsclip embed: vectors for images (folders, archives) or lines of text, as .npy + CSV + JSON."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile

import numpy as np
import pytest

from tests.conftest import noise_image
from tests.search_api.conftest import png_bytes


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        noise_image(seed).save(folder / f"p{seed}.png")
    (folder / "copy_of_p0.png").write_bytes((folder / "p0.png").read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    with zipfile.ZipFile(tmp_path / "more.zip", "w") as archive:
        archive.writestr("z/p7.png", png_bytes(7))
    return tmp_path


def test_embed_images_writes_vectors_and_a_sidecar_that_says_what_each_row_is(
    cli_run, photos, encoder, tiny_checkpoint
):
    out = photos / "out" / "features.npy"
    status, stdout, _err = cli_run(
        "embed", photos / "photos", photos / "more.zip", "--out", out, "--model", tiny_checkpoint, "--quiet"
    )
    assert status == 0
    vectors = np.load(out)
    rows = _rows(out.with_suffix(".csv"))
    assert vectors.shape == (len(rows), encoder.spec.dimension) and vectors.dtype == np.float32
    by_member = {row["member"]: (int(row["row"]), row) for row in rows}
    # Files are read in name order, so of two identical files the first name keeps the row.
    assert set(by_member) == {"copy_of_p0.png", "p1.png", "p2.png", "z/p7.png"}
    row_number, row = by_member["z/p7.png"]
    assert row["source"] == str(photos / "more.zip")
    assert row["sha256"] == hashlib.sha256(png_bytes(7)).hexdigest()
    assert vectors[row_number] == pytest.approx(encoder.encode_images([noise_image(7)])[0], abs=1e-5)
    assert "failed: " in stdout and "broken.jpg" in stdout
    assert "1 duplicate file(s) left out" in stdout
    note = json.loads(out.with_suffix(".json").read_text())
    assert note["model_fingerprint"] == encoder.spec.fingerprint and note["rows"] == len(rows) == 4


def test_embed_text_writes_one_row_per_non_empty_line(cli_run, tmp_path, encoder, tiny_checkpoint):
    lines = tmp_path / "captions.txt"
    lines.write_text("a forest next to a lake\n\n   \nmany boats in a harbor\n", encoding="utf-8")
    out = tmp_path / "text.npy"
    status, stdout, _err = cli_run("embed", "--text", lines, "--out", out, "--model", tiny_checkpoint, "--json")
    assert status == 0
    assert json.loads(stdout)["rows"] == 2
    assert _rows(out.with_suffix(".csv")) == [
        {"row": "0", "line": "1", "text": "a forest next to a lake"},
        {"row": "1", "line": "4", "text": "many boats in a harbor"},
    ]
    expected = encoder.encode_texts(["a forest next to a lake", "many boats in a harbor"])
    assert np.load(out) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("argv", [["--out", "x.npy"], ["some/folder", "--text", "lines.txt", "--out", "x.npy"]])
def test_embed_needs_exactly_one_of_paths_or_text(cli_run, argv):
    status, _out, err = cli_run("embed", *argv)
    assert status == 1 and "give image PATHs or --text FILE" in err


def test_embed_text_from_a_missing_or_empty_file_is_a_clear_error(cli_run, tmp_path, tiny_checkpoint):
    status, _out, err = cli_run("embed", "--text", tmp_path / "nope.txt", "--out", tmp_path / "x.npy")
    assert status == 1 and "cannot read" in err
    (tmp_path / "blank.txt").write_text("\n \n")
    status, _out, err = cli_run("embed", "--text", tmp_path / "blank.txt", "--out", tmp_path / "x.npy")
    assert status == 1 and "no non-empty lines" in err
    assert not (tmp_path / "x.npy").exists()


def test_embed_of_inputs_with_no_image_writes_an_empty_matrix(cli_run, tmp_path, encoder, tiny_checkpoint):
    (tmp_path / "empty").mkdir()
    status, _out, _err = cli_run(
        "embed", tmp_path / "empty", "--out", tmp_path / "none.npy", "--model", tiny_checkpoint
    )
    assert status == 0
    assert np.load(tmp_path / "none.npy").shape == (0, encoder.spec.dimension)
    assert _rows(tmp_path / "none.csv") == []

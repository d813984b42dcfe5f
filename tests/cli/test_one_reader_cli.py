"""The CLI reads a GeoTIFF as indexing does: `search --image` and `embed` give the indexed
chip's own vector (16-bit, rotated with zero fill, and a band stack)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.rasters import STACK_FLAGS, one_chip_scenes, vectors_by_member
from tests.vectors import assert_stored_equal


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_checkpoint):
    from rsclip.cli import main

    root = tmp_path_factory.mktemp("one-reader")
    scenes = one_chip_scenes(root / "scenes")
    common = ["--data-dir", str(root / "data"), "--model", str(tiny_checkpoint)]
    assert main(["index", str(root / "scenes"), *STACK_FLAGS, "--quiet", *common]) == 0
    return root, scenes, common, vectors_by_member(root / "data")


def test_search_by_a_rotated_16bit_geotiff_finds_its_own_chip_first(indexed, cli_run):
    _root, scenes, common, _vectors = indexed
    status, out, err = cli_run("search", "--image", scenes["rotated"], "--chip-size", "128", "--json", *common)
    assert status == 0, err
    best = json.loads(out)[0]
    assert best["member"] == "rotated16.tif" and best["score"] == pytest.approx(1.0, abs=1e-4)
    assert "query image: chip 0,0 100x90 of rotated16.tif" in err


def test_embed_gives_the_indexed_vectors_of_scenes_and_stacks_and_says_how(indexed, cli_run, tiny_checkpoint):
    root, _scenes, _common, vectors = indexed
    out = root / "features.npy"
    status, stdout, err = cli_run(
        "embed", root / "scenes", *STACK_FLAGS, "--out", out, "--model", tiny_checkpoint, "--json"
    )
    assert status == 0, err
    summary = json.loads(stdout)
    assert (summary["precision"], summary["device"]) == ("fp32", "cpu")
    assert json.loads(out.with_suffix(".json").read_text())["precision"] == "fp32"
    assert "embedding" in err and "indexing" not in err  # the progress bar says what runs
    with open(out.with_suffix(".csv"), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    embedded = np.load(out)
    assert {row["member"].rpartition("/")[2] for row in rows} == set(vectors) == {"rotated16.tif", "LC08_TEST_B4.TIF"}
    for row in rows:
        assert_stored_equal(embedded[int(row["row"])], vectors[row["member"].rpartition("/")[2]])
    stack_row = next(row for row in rows if "B4" in row["member"])
    assert stack_row["scene"].endswith("LC08_TEST_B{4,3,2}.TIF") and stack_row["crs"] == "EPSG:32633"


def test_a_stack_pattern_that_matches_nothing_is_refused_with_what_was_found(indexed, cli_run):
    root, _scenes, common, _vectors = indexed
    status, _out, err = cli_run("index", root / "scenes", "--stack", "*_X{band}.tif", "--bands", "4,3,2", *common)
    assert status == 1
    assert "*_X{band}.tif" in err and "rotated16.tif" in err and "matches none of the 4 file(s)" in err

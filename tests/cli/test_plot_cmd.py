"""`rsclip plot`: a map PNG and its JSON from an index built with the tiny checkpoint."""

from __future__ import annotations

import json
import zipfile

import pytest
from PIL import Image

from rsclip.cli import main


@pytest.fixture
def indexed(tmp_path, make_image, tiny_checkpoint):
    """Seven images in two class folders plus a zip, indexed into a data directory."""
    scenes = tmp_path / "scenes"
    for number, name in enumerate(["forest", "harbor"]):
        (scenes / name).mkdir(parents=True)
        for index in range(3):
            make_image(number * 10 + index).save(scenes / name / f"{index}.png")
    make_image(99).save(tmp_path / "extra.png")
    with zipfile.ZipFile(tmp_path / "more.zip", "w") as archive:
        archive.write(tmp_path / "extra.png", "extra.png")
    data_dir = tmp_path / "rsdata"
    argv = ["index", str(scenes), str(tmp_path / "more.zip"), "--data-dir", str(data_dir), "--model", str(tiny_checkpoint), "--quiet"]
    assert main(argv) == 0
    return data_dir


def test_plot_writes_a_png_and_json_with_every_indexed_point(indexed, tmp_path, capsys):
    out = tmp_path / "map.png"
    assert main(["plot", "--data-dir", str(indexed), "--out", str(out), "--thumbnails", "3"]) == 0
    assert "Mapped 7 of 7 images" in capsys.readouterr().out
    assert Image.open(out).format == "PNG"
    document = json.loads(out.with_suffix(".json").read_text())
    assert len(document["points"]) == 7 and document["image"] == "map.png"
    assert sorted({point["label"] for point in document["points"]}) == ["forest", "harbor", "more.zip"]
    assert len(document["thumbnails"]) == 3 and document["thumbnail_failures"] == []
    assert document["method"] == "tsne" and document["seed"] == 0
    assert document["model"]["dimension"] > 0


def test_plot_samples_reproducibly_with_the_same_seed(indexed, tmp_path, capsys):
    def ids(seed: int, name: str) -> list[int]:
        out = tmp_path / name
        argv = ["plot", "--data-dir", str(indexed), "--out", str(out), "--max-points", "4", "--thumbnails", "0", "--seed", str(seed)]
        assert main(argv) == 0
        document = json.loads(out.with_suffix(".json").read_text())
        return [point["id"] for point in document["points"]], [(point["x"], point["y"]) for point in document["points"]]

    first, second = ids(1, "a.png"), ids(1, "b.png")
    assert first == second
    assert len(first[0]) == 4


def test_plot_colours_by_a_labels_file(indexed, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("image,label\nforest/0.png,green\nextra.png,odd one\n")
    out = tmp_path / "labelled.png"
    assert main(["plot", "--data-dir", str(indexed), "--out", str(out), "--labels", str(labels), "--thumbnails", "0"]) == 0
    counts = {}
    for point in json.loads(out.with_suffix(".json").read_text())["points"]:
        counts[point["label"]] = counts.get(point["label"], 0) + 1
    assert counts == {"green": 1, "odd one": 1, "(unlabelled)": 5}


def test_plot_of_a_missing_index_is_a_one_line_error(tmp_path, capsys):
    assert main(["plot", "--data-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.png")]) == 1
    assert "No index" in capsys.readouterr().err

"""`rsclip eval retrieval` and `rsclip eval zeroshot` end to end with the tiny checkpoint."""

from __future__ import annotations

import json

from PIL import Image

from rsclip.cli import main


def _write_captioned(tmp_path, make_image):
    images = tmp_path / "images"
    images.mkdir()
    entries = []
    for index in range(3):
        name = f"{index + 1}.tif"
        make_image(index).save(images / name)
        entries.append({"filename": name, "split": "test", "sentences": [{"raw": f"scene {index} with roads"}, {"raw": "a town"}]})
    entries.append({"filename": "99.tif", "split": "test", "sentences": [{"raw": "a lost image"}]})
    captions = tmp_path / "dataset_toy.json"
    captions.write_text(json.dumps({"dataset": "toy", "images": entries}))
    return captions, images


def test_eval_retrieval_prints_the_table_and_reports_missing_images(tmp_path, make_image, tiny_checkpoint, capsys):
    captions, images = _write_captioned(tmp_path, make_image)
    code = main(["eval", "retrieval", "--captions", str(captions), "--images", str(images), "--model", str(tiny_checkpoint), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "image->text" in out and "text->image" in out and "mR" in out
    assert "3 scored of 4 listed (1 missing" in out
    assert "99.tif: missing" in out
    assert "ties:" in out  # "a town" is under every image: the report says ties touched queries


def test_eval_retrieval_json_records_model_dataset_and_is_reproducible(tmp_path, make_image, tiny_checkpoint, capsys):
    captions, images = _write_captioned(tmp_path, make_image)
    argv = ["eval", "retrieval", "--captions", str(captions), "--images", str(images), "--model", str(tiny_checkpoint), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["scores"] == second["scores"]
    assert set(first["scores"]["image_to_text"]) == {"R@1", "R@5", "R@10"}
    assert first["model"]["id"] == str(tiny_checkpoint.resolve())
    assert first["dataset"]["name"] == "toy" and first["dataset"]["split"] == "test"
    assert first["excluded"] == [{"image": "99.tif", "reason": "missing: no such file in the images folder"}]
    assert first["scores"]["tied_queries"]["image_to_text"] >= 1  # "a town" under all three images


def test_eval_retrieval_with_a_bad_caption_file_is_a_one_line_error(tmp_path, tiny_checkpoint, capsys):
    (tmp_path / "x.json").write_text("[1, 2]")
    code = main(["eval", "retrieval", "--captions", str(tmp_path / "x.json"), "--images", str(tmp_path), "--model", str(tiny_checkpoint)])
    assert code == 1
    assert "not a Karpathy caption file" in capsys.readouterr().err


def test_eval_zeroshot_writes_the_confusion_matrix_and_per_class_accuracy(tmp_path, make_image, tiny_checkpoint, capsys):
    root = tmp_path / "UCM"
    for number, name in enumerate(["agricultural", "beach", "denseresidential"]):
        (root / name).mkdir(parents=True)
        for index in range(2):
            make_image(number * 10 + index).save(root / name / f"{name}{index:02d}.tif")
    confusion = tmp_path / "confusion.png"
    argv = ["eval", "zeroshot", str(root), "--model", str(tiny_checkpoint), "--confusion", str(confusion), "--quiet"]
    argv += ["--template", "{}", "--template", "a {}"]  # short: the tiny model reads 16 tokens
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "top-1" in out and "denseresidential" in out
    assert Image.open(confusion).size[0] > 100
    assert main(argv + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["class"] for row in result["per_class"]] == ["agricultural", "beach", "denseresidential"]
    assert sum(map(sum, result["confusion"]["matrix"])) == 6
    assert result["templates"] == ["{}", "a {}"]
    assert result["top5"] is None


def test_eval_fidelity_compares_int8_with_fp32_and_the_change_in_recall(tmp_path, make_image, tiny_checkpoint, capsys):
    captions, images = _write_captioned(tmp_path, make_image)
    code = main([
        "eval", "fidelity", str(images), "--precision", "int8", "--captions", str(captions), "--split", "all",
        "--model", str(tiny_checkpoint), "--json",
    ])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["candidate"]["precision"] == "int8" and result["reference"]["precision"] == "fp32"
    assert result["images"] == 3 and result["image_cosine"]["count"] == 3
    assert set(result["retrieval"]) == {"reference", "candidate", "change"}
    assert isinstance(result["bar"]["passes"], bool)


def test_eval_fidelity_prints_the_verdict(tmp_path, make_image, tiny_checkpoint, capsys):
    _, images = _write_captioned(tmp_path, make_image)
    code = main(["eval", "fidelity", str(images), "--precision", "fp32", "--model", str(tiny_checkpoint), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "cosine to fp32 min 1.00000" in out and "clears the bar" in out

"""Reading caption files (Karpathy JSON, *_caps.txt + *_filename.txt) and class folders."""

from __future__ import annotations

import json

import pytest

from evaluation.datasets import class_phrase, read_caption_file, read_class_folders
from service.errors import UserError


def write_karpathy(path, images, dataset="toy"):
    entries = [
        {"filename": name, "split": split, "sentences": [{"raw": text, "tokens": text.split()} for text in captions]}
        for name, split, captions in images
    ]
    path.write_text(json.dumps({"dataset": dataset, "images": entries}), encoding="utf-8")
    return path


def test_karpathy_file_gives_images_captions_and_splits(tmp_path):
    path = write_karpathy(
        tmp_path / "dataset_toy.json",
        [("1.tif", "train", ["a river .", "water ."]), ("2.tif", "test", ["a port .", " ", "boats ."])],
    )
    captions = read_caption_file(path)
    assert captions.format == "karpathy" and captions.name == "toy"
    assert [image.filename for image in captions.select("test")] == ["2.tif"]
    assert captions.select("test")[0].captions == ("a port .", "boats .")  # blank sentences dropped
    assert len(captions.select("all")) == 2
    assert captions.split_counts() == {"train": 1, "test": 1}
    assert len(captions.sha256) == 64


def test_karpathy_filepath_is_kept_as_the_sub_folder(tmp_path):
    path = tmp_path / "coco_style.json"
    path.write_text(
        json.dumps({"images": [{"filepath": "val", "filename": "x.jpg", "split": "test", "sentences": [{"raw": "x"}]}]})
    )
    image = read_caption_file(path).images[0]
    assert (image.folder, image.filename) == ("val", "x.jpg")


def test_a_file_that_is_not_a_caption_file_is_refused_clearly(tmp_path):
    (tmp_path / "bad.json").write_text('{"annotations": []}')
    with pytest.raises(UserError, match="not a Karpathy caption file"):
        read_caption_file(tmp_path / "bad.json")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="_caps.txt"):
        read_caption_file(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="no caption file"):
        read_caption_file(tmp_path / "absent.json")


def test_an_image_listed_twice_is_refused(tmp_path):
    path = write_karpathy(tmp_path / "d.json", [("1.tif", "test", ["a"]), ("1.tif", "test", ["b"])])
    with pytest.raises(UserError, match="listed twice"):
        read_caption_file(path)


def test_line_files_with_consecutive_captions_per_image(tmp_path):
    (tmp_path / "test_caps.txt").write_text("\n".join(f"caption {i}" for i in range(6)) + "\n\n")
    (tmp_path / "test_filename.txt").write_text("a.jpg\nb.jpg\n")
    captions = read_caption_file(tmp_path / "test_caps.txt")
    assert captions.format == "lines" and captions.name == "test"
    assert [(image.filename, image.captions) for image in captions.images] == [
        ("a.jpg", ("caption 0", "caption 1", "caption 2")),
        ("b.jpg", ("caption 3", "caption 4", "caption 5")),
    ]
    assert captions.select("test") == list(captions.images)  # a line file is one split


def test_line_files_with_one_file_name_per_caption(tmp_path):
    (tmp_path / "val_caps.txt").write_text("one\ntwo\nthree\n")
    (tmp_path / "val_filename.txt").write_text("a.jpg\nb.jpg\na.jpg\n")
    images = read_caption_file(tmp_path / "val_caps.txt").images
    assert [(image.filename, image.captions) for image in images] == [("a.jpg", ("one", "three")), ("b.jpg", ("two",))]


def test_line_files_that_do_not_match_are_refused(tmp_path):
    (tmp_path / "test_caps.txt").write_text("one\ntwo\nthree\n")
    with pytest.raises(UserError, match="test_filename.txt"):
        read_caption_file(tmp_path / "test_caps.txt")
    (tmp_path / "test_filename.txt").write_text("a.jpg\nb.jpg\n")
    with pytest.raises(UserError, match="cannot be shared out"):
        read_caption_file(tmp_path / "test_caps.txt")


def test_class_folders_number_classes_in_sorted_order(tmp_path, make_image):
    for name, count in (("forest", 2), ("Airport", 1)):
        (tmp_path / name).mkdir()
        for index in range(count):
            make_image(index).save(tmp_path / name / f"{index}.png")
    (tmp_path / "readme.txt").write_text("not a class")
    folders = read_class_folders(tmp_path)
    assert folders.classes == ("Airport", "forest")
    assert sorted(label for label, _ in folders.items) == [0, 1, 1]


def test_class_folders_need_at_least_two_classes(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(UserError, match="at least two"):
        read_class_folders(tmp_path)


@pytest.mark.parametrize(
    "folder, phrase",
    [("AnnualCrop", "annual crop"), ("storage_tanks", "storage tanks"), ("baseball-diamond", "baseball diamond"), ("denseresidential", "denseresidential")],
)
def test_class_phrase_turns_folder_names_into_words(folder, phrase):
    assert class_phrase(folder) == phrase

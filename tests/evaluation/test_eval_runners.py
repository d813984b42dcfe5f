"""The runners with the tiny real checkpoint and image files written here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.datasets import read_caption_file, read_class_folders
from evaluation.metrics import retrieval_scores, zeroshot_scores
from evaluation.runners import (
    average_unit_vectors,
    class_text_vectors,
    embed_texts,
    run_retrieval,
    run_zeroshot,
)
from service.errors import UserError


@pytest.fixture
def captioned(tmp_path, make_image):
    """Four test images listed (one missing, one not an image) and one train image."""
    images = tmp_path / "images"
    images.mkdir()
    for index, name in enumerate(["a.png", "b.jpg", "t.png"]):
        make_image(index).save(images / name)
    (images / "c.png").write_bytes(b"this is not an image")
    entries = [
        ("a.png", "test", ["a river through fields", "green fields divided by roads"]),
        ("b.jpg", "test", ["an airport with two runways", "a river through fields"]),
        ("c.png", "test", ["a desert with sand dunes"]),
        ("d.png", "test", ["snow covered mountains"]),
        ("t.png", "train", ["a harbor with many boats"]),
    ]
    document = {
        "dataset": "toy",
        "images": [
            {"filename": name, "split": split, "sentences": [{"raw": text} for text in texts]}
            for name, split, texts in entries
        ],
    }
    (tmp_path / "dataset_toy.json").write_text(json.dumps(document))
    return read_caption_file(tmp_path / "dataset_toy.json"), images


def test_retrieval_reports_missing_and_undecodable_images_and_scores_the_rest(encoder, captioned):
    captions, images = captioned
    report = run_retrieval(encoder, captions, images, split="test", batch_size=1)
    excluded = {item.name.rsplit("/", 1)[-1]: item.reason for item in report.excluded}
    assert set(excluded) == {"c.png", "d.png"}
    assert excluded["d.png"].startswith("missing")
    assert "not a recognised image" in excluded["c.png"]
    assert report.dataset["evaluated_images"] == 2 and report.dataset["evaluated_captions"] == 4
    assert (report.dataset["missing"], report.dataset["unreadable"], report.dataset["listed_in_split"]) == (1, 1, 4)


def test_retrieval_scores_are_the_metrics_of_the_encoders_own_vectors(encoder, captioned):
    captions, images = captioned
    report = run_retrieval(encoder, captions, images, split="test", batch_size=1)
    from PIL import Image

    image_vectors = encoder.encode_images([Image.open(images / "a.png"), Image.open(images / "b.jpg")])
    unique = ["a river through fields", "green fields divided by roads", "an airport with two runways"]
    text_vectors = encoder.encode_texts(unique)[[0, 1, 2, 0]]  # A's and B's captions; one text under both
    expected = retrieval_scores(image_vectors @ text_vectors.T, np.array([0, 0, 1, 1]))
    for got, want in ((report.scores, expected), (report.scores.optimistic, expected.optimistic)):
        assert got.image_to_text == pytest.approx(want.image_to_text)
        assert got.text_to_image == pytest.approx(want.text_to_image)
    assert report.scores.tied_image_queries == expected.tied_image_queries


def test_retrieval_records_model_and_dataset_and_is_reproducible(encoder, captioned):
    captions, images = captioned
    first = run_retrieval(encoder, captions, images).as_dict()
    second = run_retrieval(encoder, captions, images).as_dict()
    assert first["scores"] == second["scores"]
    assert first["model"]["fingerprint"] == encoder.spec.fingerprint
    assert first["dataset"]["caption_file_sha256"] == captions.sha256
    assert first["dataset"]["split"] == "test"


def test_retrieval_with_no_image_of_the_split_present_says_what_to_do(encoder, captioned, tmp_path):
    captions, _ = captioned
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="--split all"):
        run_retrieval(encoder, captions, tmp_path / "empty")
    with pytest.raises(UserError, match="no images in split 'val'"):
        run_retrieval(encoder, captions, tmp_path / "empty", split="val")


def test_embed_texts_encodes_repeated_texts_once_but_returns_one_row_each(encoder):
    texts = ["a forest", "a lake", "a forest"]
    vectors = embed_texts(encoder, texts, batch_size=1)
    assert vectors.shape == (3, encoder.spec.dimension)
    assert np.array_equal(vectors[0], vectors[2])
    assert np.allclose(vectors[1], encoder.encode_texts(["a lake"])[0], atol=1e-6)


def test_prompt_vectors_average_unit_vectors_then_renormalise():
    per_template = np.array([[[3.0, 4.0]], [[0.0, 2.0]]])  # two templates, one class
    # unit rows (0.6, 0.8) and (0, 1); mean (0.3, 0.9); renormalised / sqrt(0.9)
    assert average_unit_vectors(per_template)[0] == pytest.approx([0.3 / 0.9**0.5, 0.9 / 0.9**0.5])


def test_class_text_vectors_are_unit_length_one_per_class(encoder):
    vectors = class_text_vectors(encoder, ["forest", "lake", "desert"], ["a photo of {}.", "an image of {}."])
    assert vectors.shape == (3, encoder.spec.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.fixture
def class_tree(tmp_path, make_image):
    root = tmp_path / "scenes"
    for number, name in enumerate(["forest", "harbor", "desert_dunes"]):
        (root / name).mkdir(parents=True)
        for index in range(2):
            make_image(10 * number + index).save(root / name / f"{index}.png")
    (root / "harbor" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


def test_zeroshot_scores_every_readable_image_against_its_folder(encoder, class_tree):
    folders = read_class_folders(class_tree)
    templates = ["{}", "a {}"]  # the tiny model reads 16 tokens: longer prompts lose the class name
    report = run_zeroshot(encoder, folders, templates=templates, batch_size=4)
    assert report.classes == ["desert_dunes", "forest", "harbor"]
    assert report.phrases == ["desert dunes", "forest", "harbor"]
    assert [item.name.rsplit("/", 1)[-1] for item in report.excluded] == ["broken.jpg"]
    assert report.scores.confusion.sum() == 6
    from PIL import Image

    paths = [class_tree / name / f"{index}.png" for name in report.classes for index in range(2)]
    image_vectors = encoder.encode_images([Image.open(path) for path in paths])
    expected = zeroshot_scores(image_vectors @ class_text_vectors(encoder, report.phrases, templates).T, np.repeat([0, 1, 2], 2))
    assert report.scores.top1 == pytest.approx(expected.top1)
    assert report.scores.confusion.tolist() == expected.confusion.tolist()
    result = report.as_dict()
    assert [row["images"] for row in result["per_class"]] == [2, 2, 2]
    assert result["templates"] == templates


def test_zeroshot_refuses_a_template_without_a_place_for_the_class(encoder, class_tree):
    with pytest.raises(UserError, match="needs a {}"):
        run_zeroshot(encoder, read_class_folders(class_tree), templates=["a satellite photo"])


def test_zeroshot_uses_given_class_names_in_the_prompts(encoder, class_tree):
    phrases = {"harbor": "a harbour with boats"}
    report = run_zeroshot(encoder, read_class_folders(class_tree), templates=["{}"], phrases=phrases)
    assert report.phrases == ["desert dunes", "forest", "a harbour with boats"]


def test_zeroshot_refuses_prompts_cut_off_before_the_class_name(encoder, class_tree):
    # The tiny tokenizer spells these words out piece by piece: 16 tokens end before the class.
    long_template = "a remote sensing image of {}."
    with pytest.raises(UserError, match="same text vector.*16 tokens"):
        run_zeroshot(encoder, read_class_folders(class_tree), templates=[long_template])

"""Classify, similarity and embed: the model's own numbers, over HTTP, for uploads and indexed ids."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import noise_image
from tests.search_api.conftest import png_bytes

LABELS = ["farmland", "forest", "harbor", "desert"]


def _upload(seed: int = 2):
    return {"file": ("photo.png", png_bytes(seed), "image/png")}


def _vector_of(app, image_id):
    return app.state.services.store.vector(image_id)


def test_classify_an_indexed_image_ranks_labels_by_the_models_probability(client, app, encoder, indexed):
    image_id = indexed.ids["scenes/scene_1.png"]
    response = client.post("/classify", data={"image_id": str(image_id), "labels": LABELS, "template": "{}"})
    assert response.status_code == 200
    body = response.json()
    assert body["template"] == "{}" and body["image_id"] == image_id
    expected = encoder.probabilities(_vector_of(app, image_id)[None], encoder.encode_texts(LABELS))[0]
    by_label = {r["label"]: r["probability"] for r in body["results"]}
    assert by_label == pytest.approx(dict(zip(LABELS, expected.tolist())), abs=1e-5)
    probabilities = [r["probability"] for r in body["results"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_classify_an_upload_fills_the_default_template(client, encoder):
    response = client.post("/classify", files=_upload(), data={"labels": ["forest", "river"]})
    assert response.status_code == 200
    body = response.json()
    assert body["template"] == "a remote sensing image of {}"
    assert {r["prompt"] for r in body["results"]} == {
        "a remote sensing image of forest",
        "a remote sensing image of river",
    }
    image = encoder.encode_images([noise_image(2)])
    prompts = [r["prompt"] for r in body["results"]]
    expected = encoder.probabilities(image, encoder.encode_texts(prompts))[0]
    assert [r["probability"] for r in body["results"]] == pytest.approx(expected.tolist(), abs=1e-5)


@pytest.mark.parametrize(
    "data, files, reason",
    [
        ({"labels": ["forest"], "template": "no placeholder"}, "upload", "{}"),
        ({"labels": ["  "]}, "upload", "label"),
        ({}, "upload", "labels"),
        ({"labels": ["forest"]}, None, "exactly one image"),
        ({"labels": ["forest"], "image_id": "1"}, "upload", "exactly one image"),
        ({"labels": ["x"] * 201}, "upload", "more than 200"),
    ],
)
def test_classify_refuses_bad_requests_with_422_and_a_reason(client, data, files, reason):
    response = client.post("/classify", data=data, files=_upload() if files else None)
    assert response.status_code == 422
    assert reason in str(response.json()["detail"])


def test_classify_an_unknown_id_is_404(client):
    assert client.post("/classify", data={"image_id": "98765", "labels": ["forest"]}).status_code == 404


def test_classify_refuses_an_upload_that_is_no_image_with_415(client):
    response = client.post("/classify", data={"labels": ["forest"]}, files={"file": ("a.txt", b"hello", "text/plain")})
    assert response.status_code == 415


def test_similarity_keeps_the_order_of_the_texts_and_matches_the_model(client, app, encoder, indexed):
    image_id = indexed.ids["chips.zip!zipped/chip_5.png"]
    texts = ["a harbor with boats", "green fields", "a desert"]
    body = client.post("/similarity", data={"image_id": str(image_id), "texts": texts}).json()
    assert [r["text"] for r in body["results"]] == texts
    image_vector = _vector_of(app, image_id)[None]
    text_vectors = encoder.encode_texts(texts)
    assert [r["probability"] for r in body["results"]] == pytest.approx(
        encoder.probabilities(image_vector, text_vectors)[0].tolist(), abs=1e-5
    )
    assert [r["score"] for r in body["results"]] == pytest.approx((image_vector @ text_vectors.T)[0].tolist(), abs=1e-5)


def test_similarity_of_an_upload_works_and_bad_requests_are_refused(client):
    assert client.post("/similarity", files=_upload(), data={"texts": ["forest"]}).status_code == 200
    assert client.post("/similarity", files=_upload(), data={"texts": [""]}).status_code == 422
    assert client.post("/similarity", data={"texts": ["forest"]}).status_code == 422
    assert client.post("/similarity", data={"image_id": "98765", "texts": ["forest"]}).status_code == 404


def test_embed_text_returns_the_encoders_unit_vector(client, encoder):
    body = client.post("/embed", data={"text": "a forest next to a lake"}).json()
    assert body["kind"] == "text" and body["dimension"] == encoder.spec.dimension == len(body["vector"])
    assert body["vector"] == pytest.approx(encoder.encode_texts(["a forest next to a lake"])[0].tolist(), abs=1e-6)
    assert np.linalg.norm(body["vector"]) == pytest.approx(1.0, abs=1e-5)


def test_embed_an_upload_and_an_indexed_image(client, app, encoder, indexed):
    uploaded = client.post("/embed", files=_upload(3)).json()
    assert uploaded["kind"] == "image"
    assert uploaded["vector"] == pytest.approx(encoder.encode_images([noise_image(3)])[0].tolist(), abs=1e-5)
    image_id = indexed.ids["scenes/scene_3.png"]
    stored = client.post("/embed", data={"image_id": str(image_id)}).json()
    assert stored["vector"] == pytest.approx(_vector_of(app, image_id).tolist(), abs=1e-6)


@pytest.mark.parametrize(
    "data, with_file, status",
    [
        ({}, False, 422),
        ({"text": "forest"}, True, 422),
        ({"text": "  "}, False, 422),
        ({"image_id": "98765"}, False, 404),
    ],
)
def test_embed_refuses_bad_requests(client, data, with_file, status):
    response = client.post("/embed", data=data, files=_upload() if with_file else None)
    assert response.status_code == status
    assert response.json()["detail"]


def test_embed_refuses_an_upload_that_is_no_image_with_415(client):
    assert client.post("/embed", files={"file": ("a.txt", b"hello", "text/plain")}).status_code == 415

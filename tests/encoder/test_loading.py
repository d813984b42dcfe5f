"""Loading any SigLIP checkpoint folder through the Auto classes, and failing clearly."""

from __future__ import annotations

import json

import pytest

from encoder import ModelNotFoundError, load_encoder
from encoder.tiny_checkpoint import build_tiny_siglip


def test_spec_is_read_from_the_checkpoint_not_assumed(tmp_path):
    folder = build_tiny_siglip(tmp_path / "ck", hidden_size=48, image_size=40, patch_size=8, text_length=12)
    encoder = load_encoder(str(folder))
    assert encoder.spec.family == "siglip"
    assert encoder.spec.dimension == 48
    assert encoder.spec.image_size == 40
    assert encoder.spec.text_max_length == 12
    assert encoder.spec.model_id == str(folder.resolve())


def test_checkpoint_folder_holds_a_real_tokenizer_and_processor(tiny_checkpoint):
    names = {path.name for path in tiny_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "spiece.model"} <= names
    processor = json.loads((tiny_checkpoint / "processor_config.json").read_text())
    assert processor["image_processor"]["image_processor_type"] == "SiglipImageProcessor"


def test_same_weights_give_same_fingerprint_and_other_weights_another(tmp_path, tiny_checkpoint, encoder):
    again = load_encoder(str(tiny_checkpoint))
    other = load_encoder(str(build_tiny_siglip(tmp_path / "other", hidden_size=64, seed=7)))
    assert again.spec.fingerprint == encoder.spec.fingerprint
    assert other.spec.fingerprint != encoder.spec.fingerprint


def test_missing_hub_model_offline_says_how_to_get_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as caught:
        load_encoder("lcybuaa/Git-RSCLIP-does-not-exist")
    message = str(caught.value)
    assert "--model" in message and "download" in message
    assert "Traceback" not in message


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        load_encoder(str(tmp_path / "nowhere" / "Git-RSCLIP"))


def test_folder_without_config_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        load_encoder(str(tmp_path / "empty"))


def test_non_image_text_model_is_refused(tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)).save_pretrained(
        tmp_path / "bert"
    )
    with pytest.raises(ModelNotFoundError, match="SigLIP or CLIP"):
        load_encoder(str(tmp_path / "bert"))


def test_random_weight_checkpoints_are_marked_and_others_are_not(tmp_path, encoder):
    assert encoder.spec.random_weights is True
    folder = build_tiny_siglip(tmp_path / "unmarked")
    config = json.loads((folder / "config.json").read_text())
    del config["rsclip_random_weights"]
    (folder / "config.json").write_text(json.dumps(config))
    assert load_encoder(str(folder)).spec.random_weights is False

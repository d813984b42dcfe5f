"""`rsclip index --precision/--device/--batch-size` and the same settings from the environment."""

from __future__ import annotations

import json

import pytest

from rsclip.cli import main
from service.errors import UserError
from service.settings import Settings


def _index(capsys, *argv) -> dict:
    assert main(["index", *argv, "--quiet", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_index_with_bf16_and_a_batch_size_stores_vectors_close_to_fp32(tmp_path, capsys, tiny_checkpoint, encoder, make_image):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(5):
        make_image(seed).save(folder / f"{seed}.png")
    data = tmp_path / "data"
    summary = _index(capsys, str(folder), "--data-dir", str(data), "--model", str(tiny_checkpoint),
                     "--precision", "bf16", "--batch-size", "2", "--device", "cpu")
    assert summary["added"] == 5

    from storage import Store

    with Store(data) as store:
        for record in store.get_many(range(1, 6)).values():
            reference = encoder.encode_images([make_image(int(record.member[0]))])[0]
            assert float(store.vector(record.id) @ reference) >= 0.999


def test_stats_shows_the_index_quality_line(tmp_path, capsys):
    from storage import IndexPolicy, NewImage, Store
    from storage.records import ModelIdentity

    rng = __import__("numpy").random.default_rng(0)
    vectors = rng.standard_normal((300, 8)).astype("float32")
    vectors /= (vectors**2).sum(1, keepdims=True) ** 0.5
    with Store(tmp_path, writable=True, index_policy=IndexPolicy(exact_max_bytes=100 * 8 * 4, cell_size=32)) as store:
        store.bind_model(ModelIdentity("m", "0" * 16, 8))
        store.add([NewImage("/s", f"{i}.tif", f"{i:064x}", 1, 8, 8, "TIFF") for i in range(300)], vectors)
        store.save()
    assert main(["stats", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "index type     : IVF" in out
    assert "recall@10 vs exact" in out and "synthetic text-like queries" in out


def test_runtime_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RSCLIP_DEVICE", "cpu")
    monkeypatch.setenv("RSCLIP_PRECISION", "fp32")
    monkeypatch.setenv("RSCLIP_BATCH_SIZE", "5")
    runtime = Settings.from_env().runtime()
    assert (runtime.device, runtime.precision, runtime.batch_size) == ("cpu", "fp32", 5)


def test_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("RSCLIP_PRECISION", "fp32")
    assert Settings.from_env(precision="bf16").runtime().precision == "bf16"


def test_bad_runtime_settings_are_user_errors(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("RSCLIP_BATCH_SIZE", "lots")
    with pytest.raises(UserError, match="RSCLIP_BATCH_SIZE"):
        Settings.from_env()
    monkeypatch.delenv("RSCLIP_BATCH_SIZE")
    assert main(["index", str(tmp_path), "--data-dir", str(tmp_path / "d"), "--batch-size", "0"]) == 1
    assert "batch size must be at least 1" in capsys.readouterr().err


def test_compile_comes_from_the_flag_or_the_environment(monkeypatch, capsys, tmp_path):
    assert Settings.from_env().compile is None  # auto: decided by the job's size
    monkeypatch.setenv("RSCLIP_COMPILE", "off")
    assert Settings.from_env().runtime().compile is False
    runtime = Settings.from_env(precision="fp32", compile="on").runtime()
    assert runtime.compile and runtime.compile_after == 0  # asked for: from the first batch
    monkeypatch.setenv("RSCLIP_COMPILE", "sometimes")
    with pytest.raises(UserError, match="compile must be one of auto, on, off"):
        Settings.from_env()
    monkeypatch.delenv("RSCLIP_COMPILE")
    with pytest.raises(SystemExit):  # argparse refuses it, with the choices
        main(["index", str(tmp_path), "--data-dir", str(tmp_path / "d"), "--compile", "never"])
    assert "invalid choice: 'never'" in capsys.readouterr().err

"""`rsclip demo` runs offline: tiny random checkpoint, generated scenes, a loud notice."""

from __future__ import annotations

from rsclip.cli import main


def test_demo_without_the_real_model_uses_a_tiny_checkpoint_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["demo", "--data-dir", str(tmp_path / "demo")])
    captured = capsys.readouterr()
    assert code == 0
    assert "MEANINGLESS" in captured.err
    assert "Indexed 24 new image(s)" in captured.out
    assert (tmp_path / "demo" / "tiny-random-siglip" / "config.json").is_file()
    assert "search: 'a river winding through farmland'" in captured.out


def test_demo_uses_a_given_model_without_the_notice(tmp_path, capsys, tiny_checkpoint):
    code = main(["demo", "--data-dir", str(tmp_path / "demo"), "--model", str(tiny_checkpoint)])
    captured = capsys.readouterr()
    assert code == 0
    assert "MEANINGLESS" not in captured.err
    assert not (tmp_path / "demo" / "tiny-random-siglip").exists()

"""``rsclip index --ray`` and ``rsclip reindex --ray`` as users run them, on the test cluster."""

from __future__ import annotations

import sys

from storage import Store
from tests.cli.test_crash_safety import KILLED, assert_indexed_exactly_once, rsclip_child, run_in_process


def test_ray_flag_without_ray_installed_says_how_to_install_it(tmp_path, cli_run, monkeypatch, make_image):
    make_image(1).save(tmp_path / "a.png")
    for name in [name for name in sys.modules if name == "ray" or name.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError, as where it is not installed

    status, _, err = cli_run("index", tmp_path, "--data-dir", tmp_path / "data", "--ray", "auto")

    assert status == 1
    assert "pip install 'rsclip-search[ray]'" in err and "every node" in err
    assert not (tmp_path / "data").exists()  # refused before anything was opened or loaded


def test_a_ray_index_killed_mid_run_is_completed_by_the_next_and_reindexes_on_ray(
    tmp_path, capsys, tiny_checkpoint, mixed_corpus, ray_cluster
):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "data"
    on_ray = ["--ray", ray_cluster.address, "--actors", "1", "--batch-size", "2"]
    child = rsclip_child("index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, *on_ray, "--quiet",
                         kill_at="index.batch:2")
    _, err = child.communicate(timeout=900)  # a model load per actor: slow on a busy 2-core machine
    assert child.returncode == KILLED, err
    with Store(data_dir) as store:
        committed = store.count()
    assert 0 < committed < 7

    summary = run_in_process(capsys, "index", *inputs, "--data-dir", data_dir, *on_ray)
    assert summary["added"] == 7 - committed
    assert [failure["member"] for failure in summary["failures"]] == ["broken.jpg"]
    assert_indexed_exactly_once(data_dir, expected)

    reindexed = run_in_process(capsys, "reindex", "--data-dir", data_dir, *on_ray)
    assert (reindexed["embedded"], reindexed["switched"], reindexed["failures"]) == (7, True, [])
    assert_indexed_exactly_once(data_dir, expected)

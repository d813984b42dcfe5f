"""SIGKILL a real ``rsclip`` child process mid-run; the next run completes the work and the
index ends up consistent, every image in it exactly once. A second writer is refused.

Kill points are deterministic (``RSCLIP_TEST_KILL_AT``, see storage/killpoints.py): the
child sends itself SIGKILL there, so no cleanup of any kind runs. One more test kills
the child from outside at whatever moment it has reached.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from encoder.tiny_checkpoint import build_tiny_siglip
from rsclip.cli import main
from storage import Store
from storage.check import check_store
from storage.killpoints import ENV_KILL_AT
from tests.conftest import noise_image

REPO_ROOT = Path(__file__).resolve().parents[2]
KILLED = -signal.SIGKILL


def rsclip_child(*argv, kill_at: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop(ENV_KILL_AT, None)
    if kill_at:
        env[ENV_KILL_AT] = kill_at
    command = [sys.executable, "-m", "rsclip", *map(str, argv)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_child(*argv, kill_at: str | None = None) -> subprocess.CompletedProcess:
    child = rsclip_child(*argv, kill_at=kill_at)
    out, err = child.communicate(timeout=300)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def run_in_process(capsys, *argv) -> dict:
    code = main([*map(str, argv), "--quiet", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def assert_indexed_exactly_once(data_dir: Path, expected: dict[tuple[str, str], bytes]) -> None:
    """check agrees, and each expected file is one location of one image with one vector."""
    import hashlib

    with Store(data_dir, writable=True, recover=False) as store:
        report = check_store(store)
        assert report.ok, report.problems
        distinct = {hashlib.sha256(data).hexdigest() for data in expected.values()}
        assert report.images == report.catalog_vectors == report.faiss_vectors == len(distinct)
        for (source, member), data in expected.items():
            recorded = store.recorded_location(source, member)
            assert recorded is not None and recorded.sha256 == hashlib.sha256(data).hexdigest()
        ids = store._vectors.ids()
        assert len(ids) == len(np.unique(ids))


@pytest.fixture
def corpus(mixed_corpus):
    inputs, expected = mixed_corpus
    duplicate = (str(inputs[0]), "sub/dup.png")
    expected = {**expected, duplicate: (inputs[0] / "sub" / "dup.png").read_bytes()}
    return inputs, expected


@pytest.mark.parametrize("kill_at", ["index.batch:3", "store.save:1"], ids=["after-3-batches", "in-faiss-save"])
def test_an_index_run_killed_mid_run_is_completed_by_the_next(tmp_path, capsys, tiny_checkpoint, corpus, kill_at):
    inputs, expected = corpus
    data_dir = tmp_path / "data"
    killed = run_child("index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--batch-size", "2",
                       "--quiet", kill_at=kill_at)
    assert killed.returncode == KILLED, killed.stderr
    with Store(data_dir) as store:
        committed = store.count()
    assert 0 < committed <= 7
    summary = run_in_process(capsys, "index", *inputs, "--data-dir", data_dir)
    assert summary["added"] == 7 - committed
    assert_indexed_exactly_once(data_dir, expected)


def test_a_run_killed_while_replacing_and_pruning_is_completed_by_the_next(tmp_path, capsys, tiny_checkpoint, corpus):
    inputs, expected = corpus
    data_dir = tmp_path / "data"
    run_in_process(capsys, "index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint)
    folder = inputs[0]
    (folder / "a.jpg").unlink()
    noise_image(500).save(folder / "b.png")  # replaced; its old content lives on in sub/dup.png
    for seed in range(501, 506):
        noise_image(seed).save(folder / f"new_{seed}.png")
    killed = run_child("index", *inputs, "--data-dir", data_dir, "--prune", "--batch-size", "2", "--quiet",
                       kill_at="index.batch:2")
    assert killed.returncode == KILLED, killed.stderr
    summary = run_in_process(capsys, "index", *inputs, "--data-dir", data_dir, "--prune")
    assert summary["pruned"] == 1
    del expected[(str(folder), "a.jpg")]
    expected[(str(folder), "b.png")] = (folder / "b.png").read_bytes()
    expected.update({(str(folder), f"new_{s}.png"): (folder / f"new_{s}.png").read_bytes() for s in range(501, 506)})
    assert_indexed_exactly_once(data_dir, expected)


def test_an_index_run_killed_from_outside_at_an_arbitrary_moment_is_completed_by_the_next(
    tmp_path, capsys, tiny_checkpoint
):
    archive = tmp_path / "many.zip"
    expected = {}
    with zipfile.ZipFile(archive, "w") as handle:
        for seed in range(80):
            buffer = io.BytesIO()
            noise_image(seed, size=(24, 24)).save(buffer, format="PNG")
            handle.writestr(f"chips/{seed:03d}.png", buffer.getvalue())
            expected[(str(archive), f"chips/{seed:03d}.png")] = buffer.getvalue()
    data_dir = tmp_path / "data"
    child = rsclip_child("index", archive, "--data-dir", data_dir, "--model", tiny_checkpoint, "--batch-size", "2",
                         "--quiet")
    rows = 0
    deadline = time.monotonic() + 240
    while child.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(data_dir / "catalog.sqlite", timeout=1) as connection:
                rows = connection.execute("select count(*) from images").fetchone()[0]
        except sqlite3.Error:
            rows = 0  # not created yet
        if rows >= 3:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    child.communicate(timeout=60)
    assert child.returncode == KILLED, "the run ended before it could be killed mid-way"
    summary = run_in_process(capsys, "index", archive, "--data-dir", data_dir)
    assert summary["unchanged"] + summary["added"] == 80
    assert_indexed_exactly_once(data_dir, expected)


@pytest.fixture(scope="module")
def second_checkpoint(tmp_path_factory):
    return build_tiny_siglip(tmp_path_factory.mktemp("m") / "tiny-32", hidden_size=32, seed=11)


@pytest.mark.parametrize("kill_at", ["reindex.batch:2", "reindex.before-switch:1", "reindex.after-switch:1"])
def test_a_reindex_killed_at_any_stage_leaves_one_generation_in_service_and_is_resumed(
    tmp_path, capsys, tiny_checkpoint, second_checkpoint, corpus, kill_at
):
    inputs, expected = corpus
    data_dir = tmp_path / "data"
    run_in_process(capsys, "index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint)
    killed = run_child("reindex", "--data-dir", data_dir, "--model", second_checkpoint, "--batch-size", "2",
                       "--quiet", kill_at=kill_at)
    assert killed.returncode == KILLED, killed.stderr
    switched = kill_at.startswith("reindex.after-switch")
    with Store(data_dir) as reader:  # what a server would open now
        assert reader.model.dimension == (32 if switched else 64)
        assert reader.search(np.ones(reader.model.dimension, dtype=np.float32), k=3)[0]
    if switched:  # the switch happened; the next writer deletes the old generation
        with Store(data_dir, writable=True):
            pass
        assert sorted(p.name for p in data_dir.glob("vectors-g*")) == ["vectors-g2.f16", "vectors-g2.faiss", "vectors-g2.ids"]
    else:
        summary = run_in_process(capsys, "reindex", "--data-dir", data_dir, "--model", second_checkpoint)
        assert summary["switched"] and summary["resumed_with"] == (4 if "batch" in kill_at else 7)
    assert_indexed_exactly_once(data_dir, expected)
    with Store(data_dir) as reader:
        assert reader.model.dimension == 32


def test_a_second_index_process_on_the_same_data_directory_is_refused_clearly(tmp_path, tiny_checkpoint, corpus):
    inputs, _ = corpus
    data_dir = tmp_path / "data"
    with Store(data_dir, writable=True):  # this process is the writer now
        refused = run_child("index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert refused.returncode == 1
    assert "Another rsclip process is writing" in refused.stderr and "Traceback" not in refused.stderr
    with Store(data_dir) as store:
        assert store.count() == 0  # nothing was written by the refused process


def test_a_running_server_serves_what_a_killed_indexer_committed_and_check_passes(tmp_path, capsys, tiny_checkpoint):
    """kill -9 between two FAISS saves: the catalog holds items the FAISS file lacks. A server
    already running reconciles them at its next check (no restart, no index run), and
    ``rsclip check`` reports the lag without failing (issue 11, item 7)."""
    import httpx

    from tests.cli.conftest import free_port, rsclip_server

    first, more = tmp_path / "first", tmp_path / "more"
    for folder, seeds in ((first, range(3)), (more, range(600, 606))):
        folder.mkdir()
        for seed in seeds:
            noise_image(seed).save(folder / f"{seed}.png")
    data_dir = tmp_path / "data"
    run_in_process(capsys, "index", first, "--data-dir", data_dir, "--model", tiny_checkpoint)
    port = free_port()
    serve = ["serve", "--data-dir", data_dir, "--model", tiny_checkpoint, "--port", port]
    with rsclip_server([str(a) for a in serve], port, cwd=tmp_path, startup_seconds=300) as (url, _server):
        killed = run_child("index", more, "--data-dir", data_dir, "--batch-size", "2", "--quiet",
                           kill_at="index.batch:2")
        assert killed.returncode == KILLED, killed.stderr
        with sqlite3.connect(data_dir / "catalog.sqlite") as connection:
            committed = [row[0] for row in connection.execute("select id from images where member like '6%'")]
        assert len(committed) == 4  # two batches of two, never saved to FAISS
        deadline = time.monotonic() + 20
        while httpx.get(f"{url}/search/similar/{committed[-1]}").status_code != 200:
            assert time.monotonic() < deadline, "the server never served what the killed run committed"
            time.sleep(0.2)
        for image_id in committed:
            hits = httpx.get(f"{url}/search/similar/{image_id}", params={"k": 10}).json()["results"]
            assert len(hits) == 6, f"image {image_id} is not searchable"  # every other item
    checked = run_child("check", "--data-dir", data_dir, "--json")
    assert checked.returncode == 0, checked.stdout
    report = json.loads(checked.stdout)
    assert report["ok"] and {p["code"] for p in report["problems"]} == {"faiss-missing-ids"}
    assert report["catalog_vectors"] == 7 and report["faiss_vectors"] == 3

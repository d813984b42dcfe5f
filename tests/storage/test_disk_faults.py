"""Disk full and read-only data directories: one clear error, and the index stays intact and searchable.

The in-process tests make the real write paths fail (SQLite's own page limit gives its
real "database or disk is full"; the FAISS save's fsync raises ENOSPC/EROFS) and run
everywhere. The mount tests use a real full tmpfs and a real read-only bind mount, and
run where mounting is allowed (root); they go through the ``rsclip`` command.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import event
from sqlalchemy.engine import Engine

from indexer import IndexRun
from rsclip.cli import main
from service.searcher import Searcher, model_identity
from storage import Store, StoreWriteError, atomic


def _write_images(folder: Path, count: int, first_seed: int, make_image) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        make_image(first_seed + n, size=(16, 16)).save(folder / f"{n}.png")
    return folder


def _index(data_dir, encoder, inputs, **options):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        return IndexRun(store, encoder, progress=False, **options).run(inputs)


def _assert_intact_and_searchable(data_dir, encoder, expected: dict, at_least: int):
    """Every image indexed before the fault is stored, has its vector, and finds itself first."""
    with Store(data_dir) as store:
        stats = store.stats()
        assert stats.items == stats.vectors >= at_least
        searcher = Searcher(store, encoder)
        for (source, member), data in expected.items():
            top = searcher.search_image(Image.open(io.BytesIO(data)), k=1)[0]
            assert (top.image.source, top.image.member) == (source, member)
        return stats.items


def test_sqlite_disk_full_mid_run_is_a_store_write_error_and_keeps_every_committed_batch(
    tmp_path, encoder, mixed_corpus, make_image
):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "data"
    _index(data_dir, encoder, inputs)
    more = _write_images(tmp_path / "more", 60, 500, make_image)

    def cap_the_database(dbapi_connection, _record):
        # SQLite's own size cap: growing past it fails exactly like a full disk (SQLITE_FULL).
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    event.listen(Engine, "connect", cap_the_database)
    try:
        with pytest.raises(StoreWriteError, match="database or disk is full") as failed:
            _index(data_dir, encoder, [more], batch_size=4)
    finally:
        event.remove(Engine, "connect", cap_the_database)
    assert "can still be searched" in str(failed.value)
    items = _assert_intact_and_searchable(data_dir, encoder, expected, at_least=len(expected))
    report = _index(data_dir, encoder, [more])  # space again: the same command continues
    assert report.added == 60 - (items - len(expected))
    _assert_intact_and_searchable(data_dir, encoder, expected, at_least=len(expected) + 60)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_faiss_save_that_cannot_write_leaves_the_old_file_and_no_temp(tmp_path, encoder, mixed_corpus, make_image, monkeypatch, code):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "data"
    _index(data_dir, encoder, inputs)
    vectors_file = next(data_dir.glob("vectors-*.faiss"))
    before = vectors_file.read_bytes()

    real_fsync = os.fsync

    def no_space(fd):  # only the FAISS save's temp file: the vector file's appends still reach the disk
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(StoreWriteError, match=os.strerror(code)):
        _index(data_dir, encoder, [_write_images(tmp_path / "more", 5, 700, make_image)])
    monkeypatch.undo()
    assert vectors_file.read_bytes() == before
    assert [p.name for p in data_dir.iterdir() if p.name.endswith(".tmp")] == []
    _assert_intact_and_searchable(data_dir, encoder, expected, at_least=len(expected) + 5)


def _cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _fill(folder: Path, leave_bytes: int) -> Path:
    ballast = folder / "ballast"
    stats = os.statvfs(folder)
    with open(ballast, "wb") as handle:
        try:
            handle.write(bytes(max(stats.f_bavail * stats.f_frsize - leave_bytes, 0)))
        except OSError:
            pass  # full already: what was asked for
    return ballast


def test_real_disk_full_during_rsclip_index(small_tmpfs, tmp_path, capsys, tiny_checkpoint, encoder, mixed_corpus, make_image):
    inputs, expected = mixed_corpus
    disk = small_tmpfs(4096)
    data_dir = disk / "data"
    code, _, err = _cli(capsys, "index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    more = _write_images(tmp_path / "more", 300, 900, make_image)
    ballast = _fill(disk, leave_bytes=96 * 1024)

    code, _, err = _cli(capsys, "index", more, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet", "--batch-size", "4")
    assert code == 1
    assert "Cannot write to the data directory" in err and "Traceback" not in err

    _fill(disk, leave_bytes=0)  # completely full now: searching must still work
    code, out, err = _cli(capsys, "search", "--image", next(iter(inputs[0].glob("*.png"))), "--data-dir", data_dir, "--json")
    assert code == 0, err
    _assert_intact_and_searchable(data_dir, encoder, expected, at_least=len(expected))

    for path in disk.glob("ballast*"):
        path.unlink()
    code, out, err = _cli(capsys, "index", more, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    _assert_intact_and_searchable(data_dir, encoder, expected, at_least=len(expected) + 300)
    assert not ballast.exists()


def test_read_only_data_directory(read_only_view, tmp_path, capsys, tiny_checkpoint, encoder, mixed_corpus):
    inputs, expected = mixed_corpus
    data_dir = tmp_path / "data"
    code, _, err = _cli(capsys, "index", *inputs, "--data-dir", data_dir, "--model", tiny_checkpoint, "--quiet")
    assert code == 0, err
    view = read_only_view(data_dir)

    code, _, err = _cli(capsys, "index", *inputs, "--data-dir", view, "--model", tiny_checkpoint, "--quiet")
    assert code == 1
    assert "Read-only file system" in err and "Traceback" not in err

    code, out, err = _cli(capsys, "stats", "--data-dir", view, "--json")
    assert code == 0, err
    _assert_intact_and_searchable(view, encoder, expected, at_least=len(expected))

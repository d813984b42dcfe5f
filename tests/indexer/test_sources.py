"""Folders, zips and tars yield their images in memory, with where each came from."""

from __future__ import annotations

import io
import tarfile
import zipfile

from indexer.sources import SourceFailure, SourceItem, iter_sources, location


def _png_bytes(make_image, seed):
    buffer = io.BytesIO()
    make_image(seed).save(buffer, format="PNG")
    return buffer.getvalue()


def _items(paths):
    return [entry for entry in iter_sources(paths) if isinstance(entry, SourceItem)]


def test_folder_is_walked_recursively_in_a_stable_order_and_skips_non_images(tmp_path, make_image):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    make_image(1).save(tmp_path / "b" / "deep" / "x.png")
    make_image(2).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    items = _items([tmp_path])
    assert [item.member for item in items] == ["a.jpg", "b/deep/x.png"]
    assert all(item.source == str(tmp_path) for item in items)
    assert items[1].read() == (tmp_path / "b" / "deep" / "x.png").read_bytes()


def test_zip_members_are_read_in_memory_not_extracted(tmp_path, make_image):
    archive = tmp_path / "chips.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("scenes/one.png", _png_bytes(make_image, 1))
        handle.writestr("readme.md", "text")
    before = set(tmp_path.rglob("*"))
    read = [(item.source, item.member, item.read()) for item in iter_sources([archive])]
    assert read == [(str(archive), "scenes/one.png", _png_bytes(make_image, 1))]
    assert set(tmp_path.rglob("*")) == before


def test_tar_gz_members_are_streamed(tmp_path, make_image):
    archive = tmp_path / "chips.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        for seed in range(3):
            data = _png_bytes(make_image, seed)
            info = tarfile.TarInfo(f"chips/{seed}.png")
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    read = [(item.member, item.read()) for item in iter_sources([archive])]
    assert read == [(f"chips/{seed}.png", _png_bytes(make_image, seed)) for seed in range(3)]


def test_archives_inside_folders_are_opened(tmp_path, make_image):
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as handle:
        handle.writestr("one.png", _png_bytes(make_image, 1))
    items = _items([tmp_path])
    assert [(item.source, item.member) for item in items] == [(str(tmp_path / "inner.zip"), "one.png")]


def test_corrupt_archive_and_missing_path_are_failures_not_exceptions(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b not gzip either")
    entries = list(iter_sources([tmp_path / "broken.zip", tmp_path / "broken.tar.gz", tmp_path / "gone"]))
    assert all(isinstance(entry, SourceFailure) for entry in entries)
    assert [entry.source for entry in entries] == [str(tmp_path / name) for name in ("broken.zip", "broken.tar.gz", "gone")]


def test_location_marks_archive_members_with_a_bang():
    assert location("/data/chips.zip", "a/b.png") == "/data/chips.zip!a/b.png"
    assert location("/data/folder", "a/b.png") == "/data/folder/a/b.png"

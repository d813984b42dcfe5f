from __future__ import annotations

import pytest

from storage.atomic import atomic_write_bytes


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "index.faiss"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["index.faiss"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "index.faiss"
    target.write_bytes(b"old")

    class Exploding:
        def __buffer__(self, flags):
            raise OSError("disk full")

    with pytest.raises((OSError, TypeError)):
        atomic_write_bytes(target, Exploding())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.faiss"]

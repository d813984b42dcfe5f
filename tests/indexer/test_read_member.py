"""read_member: the bytes of an indexed item back from its folder or archive."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from indexer.sources import iter_sources, read_member


def test_read_member_reads_back_what_iter_sources_found(tmp_path):
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "a.png").write_bytes(b"folder bytes")
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as archive:
        archive.writestr("in/zip.png", b"zip bytes")
    with tarfile.open(tmp_path / "pack.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("in/tar.png")
        info.size = len(b"tar bytes")
        archive.addfile(info, io.BytesIO(b"tar bytes"))
    items = list(iter_sources([tmp_path / "folder", tmp_path / "pack.zip", tmp_path / "pack.tar.gz"]))
    assert [read_member(item.source, item.member) for item in items] == [b"folder bytes", b"zip bytes", b"tar bytes"]


def test_read_member_of_something_gone_raises_file_not_found(tmp_path):
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as archive:
        archive.writestr("a.png", b"x")
    with pytest.raises(FileNotFoundError):
        read_member(str(tmp_path / "pack.zip"), "b.png")
    with pytest.raises(FileNotFoundError):
        read_member(str(tmp_path), "nothing.png")

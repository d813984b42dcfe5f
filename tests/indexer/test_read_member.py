"""read_member: one recorded image back from its folder or archive, never from outside it."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from indexer.sources import MemberNotFoundError, iter_sources, read_member


def _tar(path, members: dict[str, bytes], mode: str) -> None:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.png").write_bytes(b"folder-a")
    (tmp_path / "secret.png").write_bytes(b"outside")
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as archive:
        archive.writestr("inner/b.png", b"zip-b")
    _tar(tmp_path / "set.tar", {"./c.png": b"tar-c"}, "w")
    _tar(tmp_path / "set.tar.gz", {"deep/d.png": b"tgz-d"}, "w:gz")
    return tmp_path


def test_every_item_the_indexer_sees_reads_back_to_the_same_bytes(sources):
    seen = 0
    for item in iter_sources([sources]):  # item.read() is valid only while iterating
        assert read_member(item.source, item.member) == item.read()
        seen += 1
    assert seen == 5


@pytest.mark.parametrize(
    "member", ["../secret.png", "sub/../../secret.png", "/etc/passwd", "sub\\..\\..\\secret.png"]
)
def test_paths_that_lead_outside_the_source_are_refused(sources, member):
    with pytest.raises(MemberNotFoundError, match="refusing|not a path"):
        read_member(str(sources / "folder"), member)


def test_traversal_names_are_refused_for_archives_too(sources):
    with pytest.raises(MemberNotFoundError):
        read_member(str(sources / "set.zip"), "../secret.png")


@pytest.mark.parametrize(
    "source, member", [("folder", "sub/gone.png"), ("set.zip", "inner/gone.png"), ("set.tar.gz", "deep/gone.png")]
)
def test_a_member_that_is_gone_raises_member_not_found_with_its_name(sources, source, member):
    with pytest.raises(MemberNotFoundError, match="gone.png"):
        read_member(str(sources / source), member)


def test_a_missing_archive_raises_member_not_found(sources):
    with pytest.raises(MemberNotFoundError, match="missing.zip"):
        read_member(str(sources / "missing.zip"), "inner/b.png")


def test_read_member_reads_back_every_item_of_folders_zips_and_tars(mixed_corpus):
    _, expected = mixed_corpus
    for (source, member), data in expected.items():
        assert read_member(source, member) == data, (source, member)


def test_read_member_of_something_gone_raises_file_not_found(mixed_corpus):
    inputs, _ = mixed_corpus
    folder, archive_zip, archive_tar = (str(path) for path in inputs)
    for source in (folder, archive_zip, archive_tar):
        with pytest.raises(FileNotFoundError):
            read_member(source, "not/there.png")

"""read_member: the bytes of an indexed item back from its folder or archive."""

from __future__ import annotations

import pytest

from indexer.sources import read_member


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

"""Hostile folders and archives: every bad entry is a named failure with a kind; nothing is
followed, extracted or read past a limit, and the good entries around it still come through."""

from __future__ import annotations

import tarfile
import zipfile

import pytest

from indexer.limits import FailureKind as K
from indexer.limits import InputLimits, InputRefused
from indexer.sources import MemberNotFoundError, SourceFailure, SourceItem, iter_sources, read_member
from tests.indexer.hostile import (
    build_hostile_corpus,
    encoded,
    hostile_limits,
    noise,
    snapshot,
    tar_add,
    write_zip,
)


def _split(entries):
    items = {(e.source, e.member): e for e in entries if isinstance(e, SourceItem)}
    failures = {(e.source, e.member): e for e in entries if isinstance(e, SourceFailure)}
    return items, failures


@pytest.fixture
def corpus(tmp_path):
    inputs, failures, indexed = build_hostile_corpus(tmp_path / "in")
    entries = list(iter_sources(inputs, hostile_limits()))
    return tmp_path, inputs, failures, indexed, entries


DECODE_KINDS = {K.EMPTY, K.CORRUPT_IMAGE, K.NOT_AN_IMAGE, K.TOO_MANY_PIXELS}


def _found_when_read(key, kind) -> bool:
    """Decoding finds these; so does reading a folder file (rasters there are read by path, any size)."""
    return kind in DECODE_KINDS or (kind == K.TOO_LARGE and key[0].endswith("/hostile"))


def test_every_refusal_the_listing_can_see_is_reported_with_its_kind(corpus):
    _, _, expected, _, entries = corpus
    _, failures = _split(entries)
    listed = {key: kind for key, kind in expected.items() if not _found_when_read(key, kind)}
    assert {key: failure.kind for key, failure in failures.items()} == listed
    assert all(failure.reason for failure in failures.values())


def test_good_members_around_bad_ones_still_come_through_with_names_as_written(corpus):
    _, _, expected, indexed, entries = corpus
    items, _ = _split(entries)
    assert set(items) == indexed | {key for key, kind in expected.items() if _found_when_read(key, kind)}
    members = {member for _, member in items}
    assert {"../../outside.png", "/abs/evil.png", "../escape.png", "/root/abs.png"} <= members


def test_listing_and_reading_write_nothing_anywhere(corpus):
    root, _, _, _, _ = corpus
    before = snapshot(root)
    for entry in iter_sources([root / "in"], hostile_limits()):
        if isinstance(entry, SourceItem):
            try:
                entry.read()
            except InputRefused:
                pass
    assert snapshot(root) == before
    assert not (root / "outside.png").exists() and not (root.parent / "outside.png").exists()


def test_symlinks_in_a_tar_are_never_followed(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(encoded(noise(1)))
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as handle:
        tar_add(handle, "secret-link.png", type=tarfile.SYMTYPE, linkname=str(secret))
    [entry] = list(iter_sources([archive]))
    assert isinstance(entry, SourceFailure) and entry.kind == K.LINK
    assert str(secret) in entry.reason


def test_non_utf8_and_control_character_names_are_stored_as_visible_escapes(corpus):
    _, _, _, _, entries = corpus
    items, _ = _split(entries)
    members = {member for _, member in items}
    assert {"caf\\xe9.png", "evil\\x1b[31m.png", "ok/café.png", "ok/cafΘ.png"} <= members
    for member in members:
        member.encode("utf-8")  # storable: no lone surrogates
        assert "\x1b" not in member


def test_truncated_tar_gz_yields_the_members_before_the_cut_then_one_failure(corpus):
    _, _, _, _, entries = corpus
    truncated = [e for e in entries if e.source.endswith("truncated.tar.gz")]
    assert [type(e).__name__ for e in truncated] == ["SourceItem", "SourceFailure"]
    assert "after 1 member" in truncated[-1].reason


def test_zip_bomb_is_refused_from_its_declared_sizes_without_inflating(tmp_path):
    archive = write_zip(tmp_path / "bomb.zip", {"flat.tif": bytes(64 << 20)})  # 64 MiB of zeros, ~64 KB zipped
    [entry] = list(iter_sources([archive]))
    assert entry.kind == K.COMPRESSION_RATIO
    assert "expands" in entry.reason and "--max-compression-ratio" in entry.reason


def test_archive_total_limit_stops_the_archive_and_says_so(tmp_path):
    members = {f"{n}.png": encoded(noise(n, (64, 64))) for n in range(4)}  # ~12 KB each
    archive = write_zip(tmp_path / "big.zip", members, compression=zipfile.ZIP_STORED)
    entries = list(iter_sources([archive], InputLimits(max_archive_bytes=30_000)))
    assert [type(e).__name__ for e in entries] == ["SourceItem", "SourceItem", "SourceFailure"]
    assert entries[-1].kind == K.ARCHIVE_LIMIT and "--max-archive-bytes" in entries[-1].reason


def test_zip_member_count_limit_reads_the_first_members_and_reports_the_rest(tmp_path):
    archive = write_zip(tmp_path / "crowded.zip", {f"{n}.png": b"x" for n in range(12)})
    entries = list(iter_sources([archive], InputLimits(max_members=10)))
    assert len([e for e in entries if isinstance(e, SourceItem)]) == 10
    assert entries[-1].kind == K.ARCHIVE_LIMIT and "--max-members" in entries[-1].reason


def test_very_many_tiny_tar_members_stream_with_flat_memory(tmp_path, monkeypatch):
    archive = tmp_path / "tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        for number in range(5000):
            tar_add(handle, f"t/{number}.png", b"p")
    headers_held = []
    original_next = tarfile.TarFile.next

    def next_member(self):
        headers_held.append(len(self.members))
        return original_next(self)

    monkeypatch.setattr(tarfile.TarFile, "next", next_member)
    seen = sum(isinstance(entry, SourceItem) for entry in iter_sources([archive]))
    assert seen == 5000
    assert max(headers_held) <= 1  # headers are forgotten as the stream moves on


def test_a_folder_file_over_the_size_limit_is_refused_before_its_bytes_are_read(tmp_path):
    (tmp_path / "huge.png").write_bytes(bytes(5000))
    [entry] = list(iter_sources([tmp_path], InputLimits(max_file_bytes=4096)))
    assert entry.path == str(tmp_path / "huge.png")  # a raster reader may still read it window by window
    with pytest.raises(InputRefused) as refused:
        entry.read()
    assert refused.value.kind == K.TOO_LARGE and "--max-file-bytes" in refused.value.reason


def test_a_single_special_file_given_as_input_is_not_read(tmp_path):
    [entry] = list(iter_sources(["/dev/zero"]))
    assert isinstance(entry, SourceFailure) and entry.kind == K.SPECIAL_FILE


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root reads any folder")
def test_an_unreadable_sub_folder_is_reported_and_the_walk_goes_on(tmp_path):
    (tmp_path / "closed").mkdir()
    (tmp_path / "open.png").write_bytes(encoded(noise(1)))
    (tmp_path / "closed").chmod(0)
    try:
        items, failures = _split(list(iter_sources([tmp_path])))
    finally:
        (tmp_path / "closed").chmod(0o755)
    assert set(items) == {(str(tmp_path), "open.png")}
    assert failures[(str(tmp_path), "closed")].kind == K.UNREADABLE


def test_read_member_finds_archive_members_by_the_label_the_indexer_stored(corpus):
    _, inputs, _, _, _ = corpus
    read_back = set()
    for item in iter_sources(inputs, hostile_limits()):  # item.read() is valid only while iterating
        plain = ".." not in item.member and not item.member.startswith("/") and "\\" not in item.member
        if isinstance(item, SourceItem) and plain and item.size <= hostile_limits().max_file_bytes:
            assert read_member(item.source, item.member, hostile_limits()) == item.read()
            read_back.add(item.member)
    assert {"ok/café.png", "ok/cafΘ.png", "real.png", "t0.png"} <= read_back


def test_read_member_never_reads_a_link_or_an_over_limit_member(corpus):
    root, _, _, _, _ = corpus
    with pytest.raises(MemberNotFoundError):
        read_member(str(root / "in" / "archives" / "links.tar"), "sym.png")
    with pytest.raises(MemberNotFoundError, match="--max-file-bytes"):
        read_member(str(root / "in" / "archives" / "odd.zip"), "declared.png", hostile_limits())
    with pytest.raises(MemberNotFoundError, match="not a regular file"):
        read_member(str(root / "in" / "hostile"), "fifo.png")

"""Zip and tar archives, read member by member in memory and never extracted.

Because nothing is written to disk, a member called ``../../etc/x.png`` or
``/etc/x.png`` is harmless: it is indexed under that name, as a label. What can hurt
is reading, so every member is checked before its bytes are pulled in:

- links (symbolic or hard) and device files, FIFOs and sockets are reported, never followed
  or read; archives inside archives are reported and not opened (extract and index them
  separately);
- a member's declared size, its compression ratio and the archive's running total
  are held to :class:`indexer.limits.InputLimits`, and the bytes actually read are
  capped, in case a header lies;
- a truncated or damaged archive yields what it could read, then one failure.
"""

from __future__ import annotations

import lzma
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from indexer.items import SourceFailure, SourceItem
from indexer.limits import FailureKind, InputLimits, InputRefused, read_capped
from indexer.names import archive_kind, is_image_name, safe_name, zip_member_name

# What a damaged archive raises while being listed or streamed.
_ARCHIVE_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
    NotImplementedError,
)

Entry = SourceItem | SourceFailure


def iter_archive(path: Path, limits: InputLimits) -> Iterator[Entry]:
    """Yield the archive's images; on damage, what was read so far and then one failure."""
    source = safe_name(str(path))
    yielded = 0
    try:
        reader = _iter_zip if archive_kind(path) == "zip" else _iter_tar
        for entry in reader(path, source, limits):
            yielded += 1
            yield entry
    except _ARCHIVE_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            yield SourceFailure(source, "", f"cannot read: {exc.strerror or exc}", FailureKind.UNREADABLE)
            return
        where = f" after {yielded} member(s)" if yielded else ""
        reason = f"truncated or damaged archive{where}: {exc or type(exc).__name__}"
        yield SourceFailure(source, "", reason, FailureKind.CORRUPT_ARCHIVE)


def _refused(source: str, member: str, refusal: InputRefused) -> SourceFailure:
    return SourceFailure(source, member, refusal.reason, refusal.kind)


def _not_a_plain_file(mode_kind: str, name: str, link_target: str = "") -> tuple[str, str] | None:
    """(kind, reason) for a member that is not to be read, or None for a regular file to consider."""
    if mode_kind in ("symlink", "hardlink"):
        what = "symbolic link" if mode_kind == "symlink" else "hard link"
        target = f" to {link_target!r}" if link_target else ""
        return FailureKind.LINK, f"{what}{target} inside an archive: not followed"
    if mode_kind != "file":
        return FailureKind.SPECIAL_FILE, f"{mode_kind} inside an archive: not read"
    if archive_kind(name):
        return FailureKind.NESTED_ARCHIVE, "archive inside an archive: not opened (extract it and index it separately)"
    return None


# -- zip ----------------------------------------------------------------------------
def _zip_mode_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16  # unix st_mode, when a unix archiver wrote one; often bare permissions
    if stat.S_IFMT(mode) in (0, stat.S_IFREG):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    return _special_kind(mode)


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    return "special file"


def _iter_zip(path: Path, source: str, limits: InputLimits) -> Iterator[Entry]:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        too_many = limits.refuse_member_count(len(infos))
        declared_total = 0
        for info in infos[: limits.max_members]:
            if info.is_dir():
                continue
            name = zip_member_name(info)
            mode_kind = _zip_mode_kind(info)
            if mode_kind == "directory":
                continue
            odd = _not_a_plain_file(mode_kind, name)
            if odd is not None:
                yield SourceFailure(source, name, odd[1], odd[0])
                continue
            if not is_image_name(name):
                continue
            if info.flag_bits & 0x1:
                yield SourceFailure(source, name, "encrypted member (needs a password): not read", FailureKind.UNREADABLE)
                continue
            refusal = limits.refuse_size(info.file_size) or limits.refuse_ratio(info.file_size, info.compress_size)
            if refusal is not None:
                yield _refused(source, name, refusal)
                continue
            declared_total += info.file_size
            over_total = limits.refuse_archive_total(declared_total)
            if over_total is not None:
                yield _refused(source, name, over_total)
                return
            yield SourceItem(source, name, info.file_size, _zip_mtime(info), _zip_reader(archive, info, limits))
        if too_many is not None:
            yield _refused(source, "", too_many)


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: InputLimits):
    def read() -> bytes:
        try:
            with archive.open(info) as handle:
                return read_capped(handle, limits.max_file_bytes)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise InputRefused(FailureKind.CORRUPT_ARCHIVE, f"damaged member: {exc or type(exc).__name__}") from None

    return read


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    try:
        return datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


# -- tar ----------------------------------------------------------------------------
def _tar_mode_kind(member: tarfile.TarInfo) -> str:
    if member.isfile():
        return "file"
    if member.isdir():
        return "directory"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "FIFO"
    return "special file"


def _iter_tar(path: Path, source: str, limits: InputLimits) -> Iterator[Entry]:
    compressed = max(path.stat().st_size, 1)
    expanded = 0
    listed = 0
    # Streaming mode ("r|*") reads compressed tars front to back without seeking.
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            archive.members = []  # streaming keeps every header otherwise: memory would grow per member
            listed += 1
            expanded += member.size if member.isfile() else 0  # walking past a member expands it too
            stop = (
                limits.refuse_member_count(listed)
                or limits.refuse_archive_total(expanded)
                or limits.refuse_ratio(expanded, compressed, what="archive")
            )
            if stop is not None:
                if stop.kind == FailureKind.COMPRESSION_RATIO:
                    stop = InputRefused(stop.kind, stop.reason + "; the rest of it was skipped")
                yield _refused(source, "", stop)
                return
            entry = _tar_entry(archive, member, source, limits)
            if entry is not None:
                yield entry


def _tar_entry(archive: tarfile.TarFile, member: tarfile.TarInfo, source: str, limits: InputLimits) -> Entry | None:
    name = safe_name(member.name)
    mode_kind = _tar_mode_kind(member)
    if mode_kind == "directory":
        return None
    odd = _not_a_plain_file(mode_kind, name, safe_name(member.linkname))
    if odd is not None:
        return SourceFailure(source, name, odd[1], odd[0])
    if not is_image_name(name):
        return None
    refusal = limits.refuse_size(member.size)
    if refusal is not None:
        return _refused(source, name, refusal)
    handle = archive.extractfile(member)
    try:
        data = b"" if handle is None else read_capped(handle, limits.max_file_bytes)
    except InputRefused as refused:
        return _refused(source, name, refused)
    return SourceItem(source, name, member.size, float(member.mtime), lambda data=data: data)


# -- reading one recorded member back ------------------------------------------------
def read_archive_member(path: Path, member: str, limits: InputLimits) -> bytes:
    """The bytes of the regular-file member the indexer stored as ``member`` (its label).

    Raises KeyError when no such member is there, InputRefused when it breaks a limit.
    Links and special files are never read, as when indexing.
    """
    if archive_kind(path) == "zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if zip_member_name(info) == member and _zip_mode_kind(info) == "file" and not info.is_dir():
                    refusal = limits.refuse_size(info.file_size) or limits.refuse_ratio(info.file_size, info.compress_size)
                    if refusal is not None:
                        raise refusal
                    return _zip_reader(archive, info, limits)()
        raise KeyError(member)
    with tarfile.open(path, mode="r|*") as archive:
        for entry in archive:
            archive.members = []
            if entry.isfile() and safe_name(entry.name) == member:
                refusal = limits.refuse_size(entry.size)
                if refusal is not None:
                    raise refusal
                return read_capped(archive.extractfile(entry), limits.max_file_bytes)
    raise KeyError(member)

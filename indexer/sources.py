"""Walk the user's inputs and yield every image file in them, with where it came from.

Inputs are folders (walked recursively), archives (.zip, .tar, .tar.gz/.tgz, also
when found inside a folder; see indexer.archives) and single image files. Archive
members are read into memory, never extracted to disk.

In folders, symbolic links to files are followed (a folder of links is a common way
to assemble a dataset), links to folders are not walked, and anything that is not a
regular file once followed (a device, a FIFO, a broken link) is reported, never read:
``x.png -> /dev/zero`` must not fill the memory. Unreadable sub-folders are reported.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from indexer.archives import iter_archive, read_archive_member
from indexer.items import SourceFailure, SourceItem
from indexer.limits import FailureKind, InputLimits, InputRefused, read_capped
from indexer.names import IMAGE_SUFFIXES, archive_kind, is_image_name, location, safe_name

__all__ = [
    "IMAGE_SUFFIXES",
    "MemberNotFoundError",
    "SourceFailure",
    "SourceItem",
    "archive_kind",
    "is_image_name",
    "iter_sources",
    "location",
    "read_member",
]


def iter_sources(
    paths: Iterable[str | Path], limits: InputLimits | None = None
) -> Iterator[SourceItem | SourceFailure]:
    """Yield every image under ``paths`` in a stable order, and a failure for each input not read."""
    limits = limits or InputLimits()
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            yield from _iter_folder(path, limits)
        elif archive_kind(path) and path.is_file():
            yield from iter_archive(path, limits)
        else:
            yield _single_file(path, limits)


def _single_file(path: Path, limits: InputLimits) -> SourceItem | SourceFailure:
    folder, name = safe_name(str(path.parent)), safe_name(path.name)
    try:
        status = path.stat()
    except FileNotFoundError:
        return SourceFailure(safe_name(str(path)), "", "no such file or folder", FailureKind.UNREADABLE)
    except OSError as exc:
        return SourceFailure(safe_name(str(path)), "", f"cannot read: {exc.strerror or exc}", FailureKind.UNREADABLE)
    return _file_entry(path, folder, name, status, limits)


def _iter_folder(folder: Path, limits: InputLimits) -> Iterator[SourceItem | SourceFailure]:
    source = safe_name(str(folder))
    walk_errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=walk_errors.append):
        yield from _walk_failures(walk_errors, folder, source)
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if archive_kind(name):
                yield from iter_archive(path, limits) if path.is_file() else [_odd_file(path, folder, source)]
            elif is_image_name(name):
                member = safe_name(path.relative_to(folder).as_posix())
                try:
                    status = path.stat()
                except OSError as exc:
                    reason = "broken symbolic link" if path.is_symlink() else f"cannot read: {exc.strerror or exc}"
                    yield SourceFailure(source, member, reason, FailureKind.UNREADABLE)
                    continue
                yield _file_entry(path, source, member, status, limits)
    yield from _walk_failures(walk_errors, folder, source)


def _walk_failures(errors: list[OSError], folder: Path, source: str) -> Iterator[SourceFailure]:
    while errors:
        error = errors.pop(0)
        where = Path(error.filename or folder)
        member = safe_name(where.relative_to(folder).as_posix()) if where != folder else ""
        yield SourceFailure(source, member, f"cannot read folder: {error.strerror or error}", FailureKind.UNREADABLE)


def _odd_file(path: Path, folder: Path, source: str) -> SourceFailure:
    member = safe_name(path.relative_to(folder).as_posix())
    if not path.exists():
        return SourceFailure(source, member, "broken symbolic link", FailureKind.UNREADABLE)
    return SourceFailure(source, member, "not a regular file: not read", FailureKind.SPECIAL_FILE)


def _file_entry(path: Path, source: str, member: str, status: os.stat_result, limits: InputLimits):
    """A regular file becomes an item with a capped reader; anything else a failure.

    The size limit is applied when the bytes are read into memory, not when the file is
    listed: a raster scene is read from its path window by window and may be any size.
    """
    if not stat.S_ISREG(status.st_mode):
        return SourceFailure(source, member, "not a regular file (device, FIFO or socket): not read", FailureKind.SPECIAL_FILE)

    def read() -> bytes:
        refusal = limits.refuse_size(status.st_size)
        if refusal is not None:
            raise refusal
        with open(path, "rb") as handle:
            return read_capped(handle, limits.max_file_bytes)

    return SourceItem(source, member, status.st_size, status.st_mtime, read, str(path))


class MemberNotFoundError(FileNotFoundError):
    """A recorded image can no longer be read where the catalog says it is."""


def read_member(source: str, member: str, limits: InputLimits | None = None) -> bytes:
    """The bytes of one recorded image: ``member`` of folder or archive ``source``.

    Archives are read in place (never extracted) and members looked up by the label
    the indexer stored. A member that would lead outside ``source`` (absolute, or with
    ``..``) is refused, whatever the catalog says; so are links inside archives,
    special files and anything over ``limits``. An empty member means ``source`` is
    the file itself. Raises MemberNotFoundError (a FileNotFoundError) when the item is
    gone or unreadable.
    """
    parts = PurePosixPath(member).parts
    if PurePosixPath(member).is_absolute() or ".." in parts or "\\" in member:
        raise MemberNotFoundError(f"refusing {member!r}: not a path inside {source}")
    limits = limits or InputLimits()
    path = Path(source)
    try:
        if archive_kind(path) and path.is_file():
            return read_archive_member(path, member, limits)
        target = path / Path(*parts) if member else path
        entry = _file_entry(target, source, member, target.stat(), limits)
        if isinstance(entry, SourceFailure):
            raise MemberNotFoundError(f"cannot read {location(source, member)}: {entry.reason}")
        return entry.read()
    except MemberNotFoundError:
        raise
    except KeyError:
        raise MemberNotFoundError(f"{location(source, member)} is no longer in the archive") from None
    except InputRefused as refused:
        raise MemberNotFoundError(f"cannot read {location(source, member)}: {refused.reason}") from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as exc:
        raise MemberNotFoundError(f"cannot read {location(source, member)}: {exc}") from None

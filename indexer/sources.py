"""Walk the user's inputs and yield every image file in them, with where it came from.

Inputs are folders (walked recursively), archives (.zip, .tar, .tar.gz/.tgz, also
when found inside a folder; see indexer.archives) and single image files. Archive
members are read into memory, never extracted to disk.

In folders, symbolic links to files inside the same folder tree are followed (a
folder of links is a common way to assemble a dataset), links that lead out of it are
reported and never followed (the folder is what the user chose to index; a link to
``/proc/self/environ`` or another user's file is not), links to folders are not walked,
and anything that is not a regular file once followed (a device, a FIFO, a broken link)
is reported, never read: ``x.png -> /dev/zero`` must not fill the memory. Unreadable
sub-folders are reported.

Reading a recorded item again (:func:`read_member`) follows the same rules, so what is
served later is never more than what could have been indexed.
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
    "ContentChangedError",
    "MemberNotFoundError",
    "SourceFailure",
    "SourceItem",
    "archive_kind",
    "is_image_name",
    "iter_sources",
    "location",
    "open_regular",
    "read_member",
    "resolve_inside",
]

# Trees of the kernel's own files: never image content, however a path reaches them.
_SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


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
    try:
        # Stored as a member of its folder, and read back by the same rule as a folder's files.
        resolve_inside(path, path.parent)
    except InputRefused as refused:
        return SourceFailure(safe_name(str(path)), "", refused.reason, refused.kind)
    return _file_entry(path, folder, name, status, limits)


def _iter_folder(folder: Path, limits: InputLimits) -> Iterator[SourceItem | SourceFailure]:
    source = safe_name(str(folder))
    walk_errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=walk_errors.append):
        yield from _walk_failures(walk_errors, folder, source)
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink():
                try:
                    resolve_inside(path, folder)
                except InputRefused as refused:
                    member = safe_name(path.relative_to(folder).as_posix())
                    yield SourceFailure(source, member, refused.reason, refused.kind)
                    continue
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
        # Opened as a regular file again: the path may have become a FIFO since it was listed.
        with os.fdopen(open_regular(path), "rb") as handle:
            return read_capped(handle, limits.max_file_bytes)

    return SourceItem(source, member, status.st_size, status.st_mtime, read, str(path))


class MemberNotFoundError(FileNotFoundError):
    """A recorded image can no longer be read where the catalog says it is."""


class ContentChangedError(OSError):
    """A recorded location now holds other bytes than the ones that were indexed there.

    Raised by whoever verifies what was read (an original, a chip's scene) against the
    catalog's fingerprint: such bytes are never served, rendered or cached.
    """


def resolve_inside(path: Path, root: Path) -> Path:
    """``path`` with every link followed, provided it stays inside ``root``; else InputRefused.

    ``root`` is the folder that was indexed (or, for a single file given by the user,
    the file itself). The kernel's trees (/proc, /sys, /dev) are refused wherever a
    path leads, so even a chosen input cannot make the server read them.
    """
    real = Path(os.path.realpath(path))
    real_root = Path(os.path.realpath(root))
    if any(real == tree or tree in real.parents for tree in _SYSTEM_TREES):
        raise InputRefused(FailureKind.SPECIAL_FILE, f"leads to {real}, a system file: never read")
    if real != real_root and real_root not in real.parents:
        raise InputRefused(FailureKind.LINK, f"symbolic link leads outside {safe_name(str(root))}: not followed")
    return real


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file once opened; else InputRefused.

    Non-blocking, so a FIFO swapped in for an image cannot hang the reader, and checked
    with ``fstat`` on the opened descriptor, so the check and the read see one file.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputRefused(FailureKind.SPECIAL_FILE, "not a regular file (device, FIFO or socket): not read")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


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
            resolve_inside(path, path)  # never an archive reached through /proc
            return read_archive_member(path, member, limits)
        target = path / Path(*parts) if member else path
        resolve_inside(target, path)  # a link swapped in must not lead out of the indexed folder
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

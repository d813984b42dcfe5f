"""Walk the user's inputs and yield every image file in them, with where it came from.

Inputs are folders (walked recursively), archives (.zip, .tar, .tar.gz/.tgz, also
when found inside a folder) and single image files. Archive members are read into
memory, never extracted to disk. Nested archives inside archives are not opened.
"""

from __future__ import annotations

import logging
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".jp2", ".img"})
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


@dataclass(frozen=True)
class SourceItem:
    """One image file in a folder or archive. ``read`` is valid only while iterating."""

    source: str  # absolute path of the folder or archive
    member: str  # posix path inside it, as written there
    size: int
    mtime: float | None
    read: Callable[[], bytes]
    path: str | None = None  # the file on disk, when it is one: big rasters are read from it window by window


@dataclass(frozen=True)
class SourceFailure:
    """An input, or part of one, that could not be read at all."""

    source: str
    member: str
    reason: str


def location(source: str, member: str) -> str:
    """How people should see an item: ``archive.zip!inner/path.jpg`` or ``folder/path.jpg``."""
    if not member:
        return source
    separator = "!" if archive_kind(Path(source)) else "/"
    return f"{source.rstrip('/')}{separator}{member}"


def is_image_name(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix in IMAGE_SUFFIXES


def archive_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    return None


def iter_sources(paths: Iterable[str | Path]) -> Iterator[SourceItem | SourceFailure]:
    """Yield every image under ``paths`` in a stable order, and a failure for each unreadable input."""
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            yield from _iter_folder(path)
        elif archive_kind(path):
            yield from _iter_archive(path)
        elif path.is_file():
            stat = path.stat()
            yield SourceItem(str(path.parent), path.name, stat.st_size, stat.st_mtime, path.read_bytes, str(path))
        else:
            yield SourceFailure(str(path), "", "no such file or folder")


def _iter_folder(folder: Path) -> Iterator[SourceItem | SourceFailure]:
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() and not path.exists():
                continue
            if archive_kind(path):
                yield from _iter_archive(path)
            elif is_image_name(name):
                try:
                    stat = path.stat()
                except OSError as exc:
                    yield SourceFailure(str(folder), path.relative_to(folder).as_posix(), exc.strerror or str(exc))
                    continue
                member = path.relative_to(folder).as_posix()
                yield SourceItem(str(folder), member, stat.st_size, stat.st_mtime, path.read_bytes, str(path))


def _iter_archive(path: Path) -> Iterator[SourceItem | SourceFailure]:
    try:
        if archive_kind(path) == "zip":
            yield from _iter_zip(path)
        else:
            yield from _iter_tar(path)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        yield SourceFailure(str(path), "", f"unreadable archive: {exc}")


def _iter_zip(path: Path) -> Iterator[SourceItem]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not is_image_name(info.filename):
                continue
            mtime = _zip_mtime(info)
            yield SourceItem(str(path), info.filename, info.file_size, mtime, lambda info=info: archive.read(info))


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    import datetime

    try:
        return datetime.datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError):
        return None


def _iter_tar(path: Path) -> Iterator[SourceItem]:
    # Streaming mode ("r|*") reads compressed tars front to back without seeking.
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            if not member.isfile() or not is_image_name(member.name):
                continue
            handle = archive.extractfile(member)
            data = handle.read() if handle is not None else b""
            yield SourceItem(str(path), member.name, member.size, float(member.mtime), lambda data=data: data)


class MemberNotFoundError(FileNotFoundError):
    """A recorded image can no longer be read where the catalog says it is."""


def read_member(source: str, member: str) -> bytes:
    """The bytes of one recorded image: ``member`` of folder or archive ``source``.

    Archives are read in place (never extracted). A member that would lead outside
    ``source`` (absolute, or with ``..``) is refused, whatever the catalog says. An
    empty member means ``source`` is the file itself. Raises MemberNotFoundError
    (a FileNotFoundError) when the item is gone or unreadable.
    """
    parts = PurePosixPath(member).parts
    if PurePosixPath(member).is_absolute() or ".." in parts or "\\" in member:
        raise MemberNotFoundError(f"refusing {member!r}: not a path inside {source}")
    path = Path(source)
    kind = archive_kind(path)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                return archive.read(member)
        if kind == "tar":
            with tarfile.open(path, mode="r:*") as archive:
                handle = archive.extractfile(archive.getmember(member))
                if handle is None:
                    raise KeyError(member)
                return handle.read()
        return (path / Path(*parts)).read_bytes() if member else path.read_bytes()
    except KeyError:
        raise MemberNotFoundError(f"{location(source, member)} is no longer in the archive") from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise MemberNotFoundError(f"cannot read {location(source, member)}: {exc}") from None

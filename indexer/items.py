"""What sources hand to the pipeline: an image's bytes with where they came from, or why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from indexer.limits import FailureKind


@dataclass(frozen=True)
class SourceItem:
    """One image file in a folder or archive. ``read`` is valid only while iterating.

    ``read`` may raise :class:`indexer.limits.InputRefused` when the bytes break a limit
    that the listing could not see (a member longer than declared, a file that grew).
    """

    source: str  # absolute path of the folder or archive, safe to print
    member: str  # path inside it, as written there (see indexer.names.safe_name)
    size: int
    mtime: float | None
    read: Callable[[], bytes]
    path: str | None = None  # the file on disk, when it is one: big rasters are read from it window by window


@dataclass(frozen=True)
class SourceFailure:
    """An input, or part of one, that was not read: a name, a reason and a kind to count it by."""

    source: str
    member: str
    reason: str
    kind: str = FailureKind.UNREADABLE

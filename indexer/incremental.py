"""What an index run knows about files it has indexed before: skip, replace, prune.

- A file whose path, size and mtime match what the catalog recorded is skipped
  without being read (``--rehash`` turns that shortcut off).
- Otherwise its content hash decides: content already stored only records where it
  is now; new content is embedded, and content the path held before goes away once
  no file holds it.
- With prune, every location under the inputs is marked first and each one the run
  sees is unmarked; what stays marked is gone and is swept at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from indexer.sources import SourceItem
from storage import Store
from storage.records import ChangeSummary, Placement, RecordedLocation

_FLUSH_EVERY = 512  # seen marks and placements written per transaction
_FOLDERS_CACHED = 4  # a folder walk comes back to a folder after an archive found inside it


def input_root(raw: str | Path) -> str:
    """An input path as ``iter_sources`` turns it into sources (absolute, links kept)."""
    return str(Path(raw).expanduser().absolute())


class ChangeTracker:
    def __init__(self, store: Store, *, rehash: bool = False, prune_roots: Iterable[str] | None = None):
        self.store = store
        self.rehash = rehash
        self.prune_roots = None if prune_roots is None else [input_root(root) for root in prune_roots]
        self._seen: list[int] = []
        self._folders: dict[tuple[str, str], dict[str, RecordedLocation]] = {}
        self._placements: list[Placement] = []
        if self.prune_roots is not None:
            store.mark_for_sweep(self.prune_roots)

    @property
    def pruning(self) -> bool:
        return self.prune_roots is not None

    def previous(self, item: SourceItem) -> RecordedLocation | None:
        """What the catalog recorded for this file, looked up a folder at a time."""
        key = (item.source, item.member.rpartition("/")[0])
        recorded = self._folders.get(key)
        if recorded is None:
            recorded = self._folders[key] = self.store.recorded_in_directory(*key)
            if len(self._folders) > _FOLDERS_CACHED:
                del self._folders[next(iter(self._folders))]
        return recorded.get(item.member)

    def unchanged(self, item: SourceItem, previous: RecordedLocation | None) -> bool:
        """Same path, size and mtime as recorded: skip without reading (and keep it from the sweep)."""
        if previous is None or self.rehash or previous.byte_size != item.size or previous.mtime != item.mtime:
            return False
        if self.pruning:
            self._seen.append(previous.id)
            if len(self._seen) >= _FLUSH_EVERY:
                self.store.unmark(self._seen)
                self._seen.clear()
        return True

    def place(self, item: SourceItem, sha256: str, byte_size: int) -> None:
        """This file holds content that is (or is about to be) stored: record where."""
        self._placements.append(Placement(item.source, item.member, byte_size, item.mtime, sha256))
        if len(self._placements) >= _FLUSH_EVERY:
            self._placements = self.store.place(self._placements)

    def keep(self, source: str, member: str) -> None:
        """An input that failed to read or decode is still there: prune must not take it."""
        if self.pruning and Path(source).exists():
            self.store.keep_source(source, member)

    def flush(self, final: bool = False) -> None:
        """Write what was learnt; call after the batch's new images are stored.

        A duplicate of content still in the decode queue cannot be placed yet and is
        kept for the next flush; at the final flush such content never made it (it
        failed to decode), so there is nothing to point at.
        """
        if self._placements:
            self._placements = self.store.place(self._placements)
            if final:
                self._placements = []
        if self._seen:
            self.store.unmark(self._seen)
            self._seen.clear()

    def sweep(self) -> ChangeSummary:
        if not self.pruning:
            return ChangeSummary()
        return self.store.sweep(self.prune_roots)

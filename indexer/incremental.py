"""What an index run knows about files it has indexed before: skip, replace, prune.

- A file whose path, size and mtime match what the catalog recorded is skipped
  without being read (``--rehash`` turns that shortcut off). A raster scene is one
  file with one location per chip: it is skipped, chips and all, the same way.
- Otherwise its content hash decides: content already stored only records where it
  is now; new content is embedded, and content the path held before goes away once
  no file holds it.
- With prune, every location under the inputs is marked first and each one the run
  sees is unmarked; what stays marked is gone and is swept at the end.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

from indexer.sources import SourceItem
from indexer.stacks import BandStack
from storage import Store
from storage.locations import window_part
from storage.records import ChangeSummary, Placement, RecordedLocation

_FLUSH_EVERY = 512  # seen marks and placements written per transaction
_FOLDERS_CACHED = 4
_NOT_SHAPING = frozenset({"max_chips"})  # raster options that refuse scenes but never change a chip  # a folder walk comes back to a folder after an archive found inside it


def input_root(raw: str | Path) -> str:
    """An input path as ``iter_sources`` turns it into sources (absolute, links kept)."""
    return str(Path(raw).expanduser().absolute())


def recorded_member(entry: SourceItem | BandStack) -> str:
    """Where an input's items are recorded: its file; for a band stack, its first (red) band's."""
    return entry.items[0].member if isinstance(entry, BandStack) else entry.member


def entry_state(entry: SourceItem | BandStack) -> tuple[int, float | None]:
    """(size, mtime) as recorded on its items: a band stack's files summed, the newest mtime."""
    if isinstance(entry, BandStack):
        return sum(item.size for item in entry.items), entry.mtime
    return entry.size, entry.mtime


def raster_recipe(options) -> str:
    """A short fingerprint of the chipping options (``indexer.raster.RasterOptions``):
    a scene is skipped as unchanged only if it was chipped with the same ones. Options that
    only refuse scenes (``max_chips``) and an unset ``nodata`` are left out, so indexes made
    before those options keep their fingerprint."""
    shaping = tuple(
        getattr(options, f.name)
        for f in dataclasses.fields(options)
        if f.name not in _NOT_SHAPING and not (f.name == "nodata" and options.nodata is None)
    )
    return hashlib.sha256(repr(shaping).encode()).hexdigest()[:12]


def chip_placement(chip, recipe: str) -> Placement:
    """Where a planned raster chip (``indexer.chips.PlannedChip``) lies, as a location."""
    scene, window = chip.scene, chip.window
    part = window_part((window.x, window.y, window.width, window.height), recipe)
    return Placement(scene.source, scene.member, scene.byte_size, scene.mtime, chip.sha256, part)


class ChangeTracker:
    def __init__(self, store: Store, *, rehash: bool = False, prune_roots: Iterable[str] | None = None):
        self.store = store
        self.rehash = rehash
        self.prune_roots = None if prune_roots is None else [input_root(root) for root in prune_roots]
        self._seen: list[int] = []
        self._folders: dict[tuple[str, str], dict[str, list[RecordedLocation]]] = {}
        self._placements: list[Placement] = []
        # Placements of content not stored yet (still decoding or in the model), by sha256:
        # written once :meth:`stored` says their content arrived, never resubmitted before.
        self._waiting: dict[str, list[Placement]] = {}
        self._superseded: list[int] = []
        if self.prune_roots is not None:
            store.mark_for_sweep(self.prune_roots)

    @property
    def pruning(self) -> bool:
        return self.prune_roots is not None

    def previous(self, entry: SourceItem | BandStack) -> list[RecordedLocation]:
        """What the catalog recorded for this input (one location, or one per chip), a folder
        at a time. The input is there, so none of that is swept."""
        member = recorded_member(entry)
        key = (entry.source, member.rpartition("/")[0])
        recorded = self._folders.get(key)
        if recorded is None:
            recorded = self._folders[key] = self.store.recorded_in_directory(*key)
            if len(self._folders) > _FOLDERS_CACHED:
                del self._folders[next(iter(self._folders))]
        previous = recorded.get(member, [])
        if self.pruning and previous:
            self._seen.extend(location.id for location in previous)
            if len(self._seen) >= _FLUSH_EVERY:
                self.store.unmark(self._seen)
                self._seen.clear()
        return previous

    def unchanged(self, entry: SourceItem | BandStack, previous: list[RecordedLocation], recipe: str) -> int:
        """How many items to skip without reading: those recorded with the same size and mtime
        (1 for a picture; a scene's chips cut with the same ``recipe``), else 0."""
        size, mtime = entry_state(entry)
        same_cut = [loc for loc in previous if loc.part == "" or loc.part.endswith(f"@{recipe}")]
        if self.rehash or any(loc.byte_size != size or loc.mtime != mtime for loc in same_cut):
            return 0
        return len(same_cut)

    def supersede(self, previous: list[RecordedLocation], recipe: str, parts_now: set[str]) -> None:
        """A changed file no longer has some of the parts it had (a scene that shrank, a picture
        that became a scene): forget those at the next flush."""
        self._superseded.extend(
            loc.id
            for loc in previous
            if (loc.part == "" or loc.part.endswith(f"@{recipe}")) and loc.part not in parts_now
        )

    def place(self, placement: Placement) -> None:
        """This file (or chip of it) holds content that is (or is about to be) stored: record where."""
        waiting = self._waiting.get(placement.sha256)
        if waiting is not None:  # its content is not stored yet: asking the catalog again is wasted work
            waiting.append(placement)
            return
        self._placements.append(placement)
        if len(self._placements) >= _FLUSH_EVERY:
            self._submit()

    def stored(self, hashes: Iterable[str]) -> None:
        """This content is in the catalog now: its waiting placements go out at the next write."""
        for sha256 in hashes:
            self._placements.extend(self._waiting.pop(sha256, ()))

    def _submit(self) -> None:
        """Write the placements; those whose content is not stored yet wait for :meth:`stored`.

        Each placement is sent to the catalog once or twice, so N copies of one content
        cost O(N), however long that content waits in an unfilled batch.
        """
        for placement in self.store.place(self._placements):
            self._waiting.setdefault(placement.sha256, []).append(placement)
        self._placements = []

    def keep(self, source: str, member: str) -> None:
        """An input that failed to read or decode is still there: prune must not take it."""
        if self.pruning and Path(source).exists():
            self.store.keep_source(source, member)

    def flush(self, final: bool = False) -> None:
        """Write what was learnt; call after the batch's new images are stored.

        A duplicate of content still in the decode queue cannot be placed yet and
        waits until :meth:`stored` names its content; at the final flush content still
        waiting never made it (it failed to decode), so there is nothing to point at.
        """
        if self._placements:
            self._submit()
        if final:
            self._waiting.clear()
        if self._seen:
            self.store.unmark(self._seen)
            self._seen.clear()
        if self._superseded:
            self.store.forget(self._superseded)
            self._superseded.clear()

    def sweep(self) -> ChangeSummary:
        if not self.pruning:
            return ChangeSummary()
        return self.store.sweep(self.prune_roots)

"""``rsclip prune``: forget files and archive members that are gone, without indexing anything.

Mark-and-sweep over every recorded location: mark all, look at each recorded source
(a folder: does each file still exist; an archive: its member list, read once) and
unmark what is there, then sweep what is still marked, with the images only those
held. An archive that exists but cannot be read keeps everything it held: it may be
there, we just could not look. A folder or archive that no longer exists is gone.
"""

from __future__ import annotations

import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from indexer.sources import archive_kind
from storage import Store


@dataclass
class PruneReport:
    checked: int = 0  # locations looked at
    removed_locations: int = 0
    removed_images: int = 0
    unreadable: list[str] = field(default_factory=list)  # sources kept because they could not be read


def present_members(source: str, members: list[str]) -> set[str] | None:
    """Which of ``members`` ``source`` still holds; None if it exists but cannot be read."""
    path = Path(source)
    kind = archive_kind(path)
    if kind is None:
        return {member for member in members if (path / member).is_file()}
    if not path.exists():
        return set()
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        else:
            with tarfile.open(path, mode="r:*") as archive:
                names = {info.name for info in archive.getmembers() if info.isfile()}
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    return names.intersection(members)


def prune_missing(store: Store) -> PruneReport:
    report = PruneReport()
    store.mark_for_sweep(None)
    for source in store.sources():
        recorded = store.locations_in(source)
        report.checked += len(recorded)
        present = present_members(source, [location.member for location in recorded])
        if present is None:
            report.unreadable.append(source)
            store.keep_source(source)
            continue
        store.unmark([location.id for location in recorded if location.member in present])
    swept = store.sweep(None)
    report.removed_locations, report.removed_images = swept.removed_locations, swept.removed_images
    store.save()
    return report

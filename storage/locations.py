"""Which files and archive members hold each image: the catalog side of incremental updates.

An image row is one distinct content (its sha256); a location is a ``(source, member)``
(and for a raster chip its window, ``part``) that held that content when last seen,
with the size and mtime the file had then. Several
locations may hold the same content; an image no location holds any more is deleted
(its vectors go with it), so "file replaced" and "file deleted" end the same way.

Prune is mark-and-sweep, as in rclip: mark every location under the inputs, clear the
mark of each one the walk sees, delete what is still marked. The marks live in the
catalog, so memory stays flat however many files there are, and a crash in between
only leaves marks the next prune resets.

Functions here run inside the caller's session and transaction; ``Store`` owns those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath

import numpy as np
from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import ImageRow, LocationRow
from storage.records import ChangeSummary, NewImage, Placement, RecordedLocation

_CHUNK = 400  # keeps IN (...) lists under SQLite's parameter limit


def chunks(items: Sequence, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def window_part(window: Sequence[int], recipe: str = "") -> str:
    """A raster chip's place in its scene file: its window (x, y, width, height), and the
    recipe (a fingerprint of the chipping options) that cut it, as ``"x,y,w,h@recipe"``.

    Other options cut other chips from the same file: they are other locations.
    """
    return ",".join(str(int(value)) for value in window) + (f"@{recipe}" if recipe else "")


def part_of(image: NewImage, recipe: str = "") -> str:
    """Which part of its file an image is: a raster chip's window, or "" for the whole file."""
    return "" if image.geo is None else window_part(image.geo.window, recipe)


def _recorded(session: Session, *conditions) -> list[RecordedLocation]:
    rows = session.execute(
        select(LocationRow, ImageRow.sha256)
        .join(ImageRow, ImageRow.id == LocationRow.image_id)
        .where(*conditions)
        .order_by(LocationRow.source, LocationRow.member, LocationRow.part)
    )
    return [
        RecordedLocation(row.id, row.source, row.member, row.byte_size, row.mtime, row.image_id, sha256, row.part)
        for row, sha256 in rows
    ]


def point(session: Session, entries: Sequence[tuple[str, str, str, int, float | None, int]]) -> set[int]:
    """Make each ``(source, member, part, byte_size, mtime, image_id)`` location refer to its image.

    A location seen again is unmarked for the sweep. Returns the ids of images that
    lost a location to other content (the caller releases them).
    """
    released: set[int] = set()
    by_key = {entry[:3]: entry for entry in entries}
    keys = list(by_key)
    existing: dict[tuple[str, str, str], LocationRow] = {}
    place = tuple_(LocationRow.source, LocationRow.member, LocationRow.part)
    for chunk in chunks(keys, _CHUNK // 3):
        rows = session.execute(select(LocationRow).where(place.in_(chunk)))
        existing.update({(row.source, row.member, row.part): row for row in rows.scalars()})
    for key, (source, member, part, byte_size, mtime, image_id) in by_key.items():
        row = existing.get(key)
        if row is None:
            session.add(
                LocationRow(source=source, member=member, part=part, byte_size=byte_size, mtime=mtime, image_id=image_id)
            )
            continue
        if row.image_id != image_id:
            released.add(row.image_id)
        row.image_id, row.byte_size, row.mtime, row.indexing = image_id, byte_size, mtime, False
    session.flush()
    return released


def release(session: Session, image_ids: Iterable[int]) -> list[int]:
    """Delete the images no location holds any more; returns their ids.

    An image that keeps other locations but lost the one it is shown under is shown
    under a remaining one instead.
    """
    deleted: list[int] = []
    for chunk in chunks(sorted(set(image_ids))):
        remaining: dict[int, list[tuple[str, str, int, float | None]]] = {}
        rows = session.execute(
            select(LocationRow.image_id, LocationRow.source, LocationRow.member, LocationRow.byte_size, LocationRow.mtime)
            .where(LocationRow.image_id.in_(chunk))
            .order_by(LocationRow.id)
        )
        for image_id, *place in rows:
            remaining.setdefault(image_id, []).append(tuple(place))
        dead = [image_id for image_id in chunk if image_id not in remaining]
        for image in session.execute(select(ImageRow).where(ImageRow.id.in_(list(remaining)))).scalars():
            places = remaining[image.id]
            if (image.source, image.member) not in {(source, member) for source, member, _, _ in places}:
                image.source, image.member, image.byte_size, image.mtime = places[0]
        if dead:
            session.execute(delete(ImageRow).where(ImageRow.id.in_(dead)))  # embeddings and locations cascade
        deleted.extend(dead)
    return deleted


def remove(session: Session, location_ids: Sequence[int]) -> list[int]:
    """Delete locations; returns the ids of images that thereby went away."""
    affected: set[int] = set()
    for chunk in chunks(list(location_ids)):
        affected.update(session.execute(select(LocationRow.image_id).where(LocationRow.id.in_(chunk))).scalars())
        session.execute(delete(LocationRow).where(LocationRow.id.in_(chunk)))
    return release(session, affected)


def homeless_images(session: Session) -> list[int]:
    """Images no location holds (left by a schema upgrade of a path that changed content)."""
    return list(session.execute(select(ImageRow.id).where(~exists().where(LocationRow.image_id == ImageRow.id))).scalars())


def drop_homeless(session: Session) -> list[int]:
    homeless = homeless_images(session)
    for chunk in chunks(homeless):
        session.execute(delete(ImageRow).where(ImageRow.id.in_(chunk)))
    return homeless


# -- mark and sweep -------------------------------------------------------------
def under(roots: Iterable[str] | None):
    """SQL condition: the location lies inside one of ``roots`` (absolute paths); None = all.

    A location is ``source`` (folder or archive) + ``member``, so "inside P" means the
    source is P or below it, or the source is a folder above P and the member leads
    into P (the same files once indexed from a parent folder).
    """
    if roots is None:
        return LocationRow.id.is_not(None)
    conditions = []
    for raw in roots:
        root = str(raw).rstrip("/") or "/"
        conditions += [LocationRow.source == root, func.substr(LocationRow.source, 1, len(root) + 1) == root + "/"]
        path = PurePosixPath(root)
        for ancestor in path.parents:
            inner = path.relative_to(ancestor).as_posix()
            conditions.append(
                and_(
                    LocationRow.source == str(ancestor),
                    or_(LocationRow.member == inner, func.substr(LocationRow.member, 1, len(inner) + 1) == inner + "/"),
                )
            )
    return or_(*conditions) if conditions else LocationRow.id.is_(None)


def mark(session: Session, roots: Iterable[str] | None) -> int:
    """Start a sweep: clear old marks, mark every location under ``roots``. Returns how many."""
    session.execute(update(LocationRow).where(LocationRow.indexing).values(indexing=False))
    return session.execute(update(LocationRow).where(under(roots)).values(indexing=True)).rowcount


def unmark(session: Session, location_ids: Sequence[int]) -> None:
    for chunk in chunks(list(location_ids)):
        session.execute(update(LocationRow).where(LocationRow.id.in_(chunk)).values(indexing=False))


def unmark_source(session: Session, source: str, member: str = "") -> None:
    """Keep what an unreadable input holds: it may be there, we just could not look."""
    condition = LocationRow.source == source
    if member:
        condition = and_(condition, LocationRow.member == member)
    session.execute(update(LocationRow).where(condition).values(indexing=False))


def swept(session: Session, roots: Iterable[str] | None) -> list[int]:
    """Ids of the locations under ``roots`` still marked: not seen, so gone."""
    return list(
        session.execute(select(LocationRow.id).where(LocationRow.indexing, under(roots)).order_by(LocationRow.id)).scalars()
    )


class LocationMethods:
    """The :class:`~storage.store.Store` methods for incremental updates and prune.

    Mixed into Store (they use its engine and vector index); kept here so that
    everything about locations has one home.
    """

    def recorded_location(self, source: str, member: str, part: str = "") -> RecordedLocation | None:
        """Where the catalog last saw this file or member (or chip of it), or None if never."""
        with Session(self._engine) as session:
            found = _recorded(
                session, LocationRow.source == source, LocationRow.member == member, LocationRow.part == part
            )
        return found[0] if found else None

    def recorded_in_directory(self, source: str, directory: str) -> dict[str, list[RecordedLocation]]:
        """Every recorded member of ``source`` directly inside ``directory`` ("" = top level),
        with all its locations (one per chip for a raster scene).

        One range scan of the (source, member) index, so an index run looks up a whole
        folder's files at once instead of one query per file.
        """
        conditions = [LocationRow.source == source]
        if directory:
            prefix = directory + "/"
            conditions += [
                LocationRow.member >= prefix,
                LocationRow.member < directory + chr(ord("/") + 1),
                func.substr(LocationRow.member, len(prefix) + 1).not_like("%/%"),
            ]
        else:
            conditions.append(LocationRow.member.not_like("%/%"))
        found: dict[str, list[RecordedLocation]] = {}
        with Session(self._engine) as session:
            for location in _recorded(session, *conditions):
                found.setdefault(location.member, []).append(location)
        return found

    def locations_of(self, image_id: int) -> list[RecordedLocation]:
        with Session(self._engine) as session:
            return _recorded(session, LocationRow.image_id == int(image_id))

    def sources(self) -> list[str]:
        """Every folder and archive the catalog holds files of."""
        with Session(self._engine) as session:
            return list(session.execute(select(LocationRow.source).distinct().order_by(LocationRow.source)).scalars())

    def locations_in(self, source: str) -> list[RecordedLocation]:
        with Session(self._engine) as session:
            return _recorded(session, LocationRow.source == source)

    def place(self, placements: Sequence[Placement]) -> list[Placement]:
        """Record files that hold content already stored (duplicates, touched or moved files).

        Content a file held before and no file holds now is removed. Returns the
        placements whose content is not in the catalog (nothing is recorded for them).
        """
        unknown: list[Placement] = []

        def change(session: Session) -> list[int]:
            hashes = sorted({placement.sha256 for placement in placements})
            ids: dict[str, int] = {}
            for chunk in chunks(hashes):
                ids.update(session.execute(select(ImageRow.sha256, ImageRow.id).where(ImageRow.sha256.in_(chunk))).all())
            unknown.extend(p for p in placements if p.sha256 not in ids)
            entries = [
                (p.source, p.member, p.part, p.byte_size, p.mtime, ids[p.sha256]) for p in placements if p.sha256 in ids
            ]
            return release(session, point(session, entries))

        if placements:
            self._change(change)
        return unknown

    def forget(self, location_ids: Sequence[int]) -> ChangeSummary:
        """Delete these locations, and the images only they held (with their vectors)."""
        removed = self._change(lambda session: remove(session, location_ids)) if len(location_ids) else []
        return ChangeSummary(removed_images=len(removed), removed_locations=len(location_ids))

    def mark_for_sweep(self, roots: Iterable[str] | None) -> int:
        """Mark every location under ``roots`` (None: all); what is not seen again gets swept."""
        with self._transaction() as session:
            return mark(session, None if roots is None else list(roots))

    def unmark(self, location_ids: Sequence[int]) -> None:
        """These were seen: keep them."""
        if len(location_ids):
            with self._transaction() as session:
                unmark(session, location_ids)

    def keep_source(self, source: str, member: str = "") -> None:
        """An input that could not be read: keep what it holds."""
        with self._transaction() as session:
            unmark_source(session, source, member)

    def sweep(self, roots: Iterable[str] | None) -> ChangeSummary:
        """Delete the marked (unseen) locations under ``roots`` and the images only they held.

        With ``roots=None`` (a prune of everything) also images no location holds at all.
        """
        roots = None if roots is None else list(roots)
        gone: list[int] = []

        def change(session: Session) -> list[int]:
            gone.extend(swept(session, roots))
            removed = remove(session, gone)
            return removed + drop_homeless(session) if roots is None else removed

        removed = self._change(change)
        return ChangeSummary(removed_images=len(removed), removed_locations=len(gone))

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        if not self.writable:
            raise PermissionError("this Store was opened read-only")
        with Session(self._engine) as session, session.begin():
            yield session

    def _change(self, change: Callable[[Session], list[int]]) -> list[int]:
        """Run ``change`` in one transaction; then drop the vectors of the images it deleted."""
        with self._transaction() as session:
            removed = change(session)
        if self._vectors is not None:
            self._vectors.remove(np.asarray(removed, dtype=np.int64))
        return removed

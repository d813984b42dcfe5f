"""Group single-band files of one scene (Landsat ``*_B4.TIF``, ``*_B3.TIF``...) into one item.

A stage between the sources and the pipeline: items whose name matches the stack
pattern are held back until every asked band of their scene has arrived, then
released together as one :class:`BandStack`; all other items pass straight through.
Matching files of bands that were not asked for are not indexed on their own.
A scene still missing a band when the inputs end is reported as a failure.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from indexer.limits import InputLimits
from indexer.sources import SourceFailure, SourceItem, iter_sources

BAND_FIELD = "{band}"
_NAMES_SHOWN = 5


@dataclass(frozen=True)
class BandStack:
    """The files of one scene, one per asked band, in the asked (red, green, blue) order."""

    source: str
    member: str  # the scene: the pattern's {band} filled with the asked bands, e.g. LC08_..._B{4,3,2}.TIF
    items: tuple[SourceItem, ...]
    mtime: float | None


class StackPattern:
    """A file name pattern with one ``{band}`` field, e.g. ``*_B{band}.TIF`` (shell-style, any case)."""

    def __init__(self, pattern: str):
        head, tail = pattern.split(BAND_FIELD)
        body = _glob(head) + r"(?P<band>[A-Za-z0-9]+?)" + _glob(tail)
        self._regex = re.compile(rf"(?:.*/)?{body}\Z", re.IGNORECASE | re.DOTALL)

    def match(self, member: str) -> tuple[str, str] | None:
        """(scene key, band) for a matching name, else None. Files of one scene share the key."""
        found = self._regex.match(member)
        if found is None:
            return None
        start, end = found.span("band")
        return member[:start] + BAND_FIELD + member[end:], found.group("band")


def unmatched_stack(paths: Iterable[str], pattern: str, limits: InputLimits | None = None) -> str | None:
    """Why a ``--stack`` pattern is wrong for these inputs (it matches no file), else None.

    Without this, every band file would be indexed as a grey scene of its own. The walk
    stops at the first match, so a right pattern costs the listing of one file.
    """
    matcher, found, count = StackPattern(pattern), [], 0
    for entry in iter_sources(paths, limits):
        if isinstance(entry, SourceFailure):
            continue
        if matcher.match(entry.member) is not None:
            return None
        count += 1
        if len(found) < _NAMES_SHOWN:
            found.append(entry.member)
    if not count:
        return f"--stack {pattern!r} matches no file: the inputs hold no image files"
    more = f" and {count - len(found)} more" if count > len(found) else ""
    return f"--stack {pattern!r} matches none of the {count} file(s) found: {', '.join(found)}{more}"


def _glob(part: str) -> str:
    # fnmatch.translate anchors with \Z and wraps in (?s:...); keep only the body.
    translated = fnmatch.translate(part)
    return translated[len("(?s:") : -len(")\\Z")]


def band_key(band: str) -> str:
    """``04``, ``4`` and ``B4``-style names compare alike: leading zeros and case do not count."""
    return str(int(band)) if band.isdigit() else band.upper()


def group_band_stacks(
    entries: Iterable[SourceItem | SourceFailure], pattern: str, bands: Sequence[str]
) -> Iterator[SourceItem | SourceFailure | BandStack]:
    matcher = StackPattern(pattern)
    wanted = [band_key(band) for band in bands]
    pending: dict[tuple[str, str], dict[str, SourceItem]] = {}
    for entry in entries:
        found = None if isinstance(entry, SourceFailure) else matcher.match(entry.member)
        if found is None:
            yield entry
            continue
        key, band = found
        if band_key(band) not in wanted:
            continue
        group = pending.setdefault((entry.source, key), {})
        group[band_key(band)] = _held(entry)
        if len(group) == len(wanted):
            del pending[(entry.source, key)]
            items = tuple(group[band] for band in wanted)
            mtimes = [item.mtime for item in items if item.mtime is not None]
            scene = key.replace(BAND_FIELD, "{" + ",".join(bands) + "}")
            yield BandStack(entry.source, scene, items, max(mtimes) if mtimes else None)
    for (source, key), group in pending.items():
        missing = [band for band, wanted_key in zip(bands, wanted) if wanted_key not in group]
        yield SourceFailure(source, key, f"band stack lacks band(s) {', '.join(missing)}")


def _held(item: SourceItem) -> SourceItem:
    """Archive members can only be read while their archive is being walked: read them now."""
    if item.path is not None:
        return item
    data = item.read()
    return SourceItem(item.source, item.member, item.size, item.mtime, lambda: data, None)

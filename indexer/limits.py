"""How much the indexer will read from one input, and the kinds of refusal it reports.

Archives come from strangers: a 40 KB zip can declare terabytes, a tar.gz can expand
a thousandfold, a folder can hold a symlink to ``/dev/zero`` named ``x.png``. Every
read is checked against these limits *before* the bytes are pulled into memory and
capped while they are, so a hostile input costs a reported failure, never the run.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30


class FailureKind:
    """Short, stable labels for why an input was not indexed (counted in the report and stats)."""

    UNREADABLE = "unreadable"  # missing path, permission denied, I/O error, encrypted member
    CORRUPT_ARCHIVE = "corrupt-archive"  # the zip/tar itself is truncated or damaged
    EMPTY = "empty"  # zero bytes
    NOT_AN_IMAGE = "not-an-image"  # an image name on bytes that are no image format
    CORRUPT_IMAGE = "corrupt-image"  # an image format that does not decode (truncated, damaged)
    TOO_MANY_PIXELS = "too-many-pixels"  # over --max-pixels (decompression bomb)
    TOO_LARGE = "too-large"  # a file or member over --max-file-bytes
    COMPRESSION_RATIO = "compression-ratio"  # expands more than --max-compression-ratio (zip bomb)
    ARCHIVE_LIMIT = "archive-limit"  # an archive over --max-archive-bytes or --max-members: the rest skipped
    LINK = "link"  # symbolic or hard link inside an archive: never followed
    SPECIAL_FILE = "special-file"  # device, FIFO or socket: never read
    NESTED_ARCHIVE = "nested-archive"  # an archive inside an archive: not opened
    RASTER = "raster"  # a raster scene that cannot be cut into chips as asked (indexer.raster)
    TOO_MANY_CHIPS = "too-many-chips"  # a scene declaring more chips than --max-chips-per-scene


class InputRefused(Exception):
    """Raised by a source's ``read`` when the bytes break a limit the listing could not see."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class InputLimits:
    """Per-input ceilings; the defaults let through any real remote-sensing chip or scene file."""

    max_file_bytes: int = 1 * GiB  # one file or archive member, as declared and as actually read
    max_archive_bytes: int = 64 * GiB  # uncompressed bytes walked through in one archive
    max_members: int = 1_000_000  # entries listed in one archive
    max_compression_ratio: float = 100.0  # uncompressed / compressed, once past ratio_floor_bytes
    ratio_floor_bytes: int = 10 * MiB  # small members may compress as well as they like

    def __post_init__(self):
        for name in ("max_file_bytes", "max_archive_bytes", "max_members", "max_compression_ratio"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")

    def refuse_size(self, size: int) -> InputRefused | None:
        if size > self.max_file_bytes:
            return InputRefused(
                FailureKind.TOO_LARGE,
                f"{size:,} bytes is over the limit of {self.max_file_bytes:,} per file (--max-file-bytes)",
            )
        return None

    def refuse_ratio(self, expanded: int, compressed: int, what: str = "member") -> InputRefused | None:
        """A zip-bomb check: refuse when ``expanded`` bytes came from far fewer ``compressed`` ones."""
        if expanded <= self.ratio_floor_bytes:
            return None
        ratio = expanded / max(compressed, 1)
        if ratio > self.max_compression_ratio:
            return InputRefused(
                FailureKind.COMPRESSION_RATIO,
                f"{what} expands {ratio:,.0f} times ({compressed:,} -> {expanded:,} bytes), over the limit of "
                f"{self.max_compression_ratio:g} (--max-compression-ratio; zip bomb?)",
            )
        return None

    def refuse_archive_total(self, total: int) -> InputRefused | None:
        if total > self.max_archive_bytes:
            return InputRefused(
                FailureKind.ARCHIVE_LIMIT,
                f"archive expands past {self.max_archive_bytes:,} bytes (--max-archive-bytes); "
                f"the rest of it was skipped",
            )
        return None

    def refuse_member_count(self, count: int) -> InputRefused | None:
        if count > self.max_members:
            return InputRefused(
                FailureKind.ARCHIVE_LIMIT,
                f"archive has more than {self.max_members:,} members (--max-members); the rest were skipped",
            )
        return None


def read_capped(handle, limit: int) -> bytes:
    """Read at most ``limit`` bytes; refuse if there is more (a size that lied, a growing file)."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputRefused(
            FailureKind.TOO_LARGE, f"more than {limit:,} bytes, over the limit per file (--max-file-bytes)"
        )
    return data

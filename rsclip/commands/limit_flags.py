"""The input-limit flags of ``rsclip index`` (--max-pixels, --max-file-bytes, ...) and --strict."""

from __future__ import annotations

import argparse
import re

from indexer.decode import DEFAULT_MAX_PIXELS
from indexer.limits import InputLimits

_DEFAULTS = InputLimits()
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

# Exit status of `rsclip index --strict` when the run completed but some input failed.
EXIT_INPUTS_FAILED = 3


def byte_size(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1048576"`` -> bytes (binary units; a trailing B or iB is allowed)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 512M, 2G or 1048576")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "hostile input",
        "Inputs over a limit are reported by name with the reason and skipped; the run goes on.",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with status {EXIT_INPUTS_FAILED} when any input failed (default: exit 0 once the run completes)",
    )
    group.add_argument(
        "--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse images with more pixels, read from the header before decoding ({DEFAULT_MAX_PIXELS:,})",
    )
    group.add_argument(
        "--max-file-bytes", type=byte_size, default=_DEFAULTS.max_file_bytes, metavar="SIZE",
        help="refuse a file or archive member larger than this (1G)",
    )
    group.add_argument(
        "--max-archive-bytes", type=byte_size, default=_DEFAULTS.max_archive_bytes, metavar="SIZE",
        help="stop reading an archive once it has expanded to this many bytes (64G)",
    )
    group.add_argument(
        "--max-members", type=positive_int, default=_DEFAULTS.max_members, metavar="N",
        help=f"read at most this many entries of one archive ({_DEFAULTS.max_members:,})",
    )
    group.add_argument(
        "--max-compression-ratio", type=positive_float, default=_DEFAULTS.max_compression_ratio, metavar="R",
        help=f"refuse members (zip) or archives (tar.gz) over {_DEFAULTS.ratio_floor_bytes >> 20} MiB that "
        f"expand more than R times (zip bombs; {_DEFAULTS.max_compression_ratio:g})",
    )


def limits_from(args) -> InputLimits:
    return InputLimits(
        max_file_bytes=args.max_file_bytes,
        max_archive_bytes=args.max_archive_bytes,
        max_members=args.max_members,
        max_compression_ratio=args.max_compression_ratio,
    )

"""The ``rsclip index`` flags that say how raster scenes become chips."""

from __future__ import annotations

import argparse

from indexer.raster import RasterOptions
from indexer.raster_options import DEFAULT_MAX_CHIPS
from service.errors import UserError


QUERY_FLAGS = ("--bands", "--chip-size", "--stretch", "--nodata")


def add_raster_arguments(parser: argparse.ArgumentParser, *, query: bool = False) -> None:
    """The index's raster flags; ``query``: only those that shape one query picture, as the index was cut."""
    title = "raster scenes (GeoTIFF and other georeferenced, multi-band or non-8-bit rasters)"
    if query:
        title = "a GeoTIFF query image: read as `rsclip index` reads it (give the same flags as to index)"
    group = _OnlyQueryFlags(parser.add_argument_group(title)) if query else parser.add_argument_group(title)
    group.add_argument(
        "--bands",
        metavar="R,G,B",
        help="bands shown to the model, from 1 (e.g. 3,2,1; one band is shown as grey); "
        "default: the bands marked red, green, blue, else 1,2,3. With --stack: the band names, red first",
    )
    group.add_argument("--chip-size", type=int, default=256, metavar="PX", help="chip side in pixels (256)")
    group.add_argument("--overlap", type=int, default=0, metavar="PX", help="pixels shared by neighbouring chips (0)")
    group.add_argument(
        "--max-nodata", type=float, default=0.5, metavar="SHARE", help="skip chips with a larger nodata share (0.5)"
    )
    group.add_argument(
        "--resample-to", type=float, metavar="METERS", help="resample to this ground resolution before cutting chips"
    )
    group.add_argument(
        "--stretch", default="2,98", metavar="LOW,HIGH", help="percentiles mapped to black and white, per band (2,98)"
    )
    group.add_argument(
        "--max-chips-per-scene",
        type=int,
        default=DEFAULT_MAX_CHIPS,
        metavar="N",
        help=f"refuse a scene that would make more chips (its header may declare any size; {DEFAULT_MAX_CHIPS:,})",
    )
    group.add_argument(
        "--stack",
        metavar="PATTERN",
        help="stack single-band files of one scene into one item: a file name pattern with {band}, "
        "e.g. '*_B{band}.TIF' with --bands 4,3,2 (Landsat 8 true colour)",
    )
    group.add_argument(
        "--nodata",
        type=float,
        metavar="VALUE",
        help="pixels with VALUE in every band are fill (for files that do not say so); default: the file's "
        "own mask, else a constant lowest value along the scene's edge",
    )


class _OnlyQueryFlags:
    """An argument group that keeps only the flags a query image needs."""

    def __init__(self, group):
        self._group = group

    def add_argument(self, *names, **options):
        if names[0] in QUERY_FLAGS:
            self._group.add_argument(*names, **options)


def refuse_unmatched_stack(paths, options: RasterOptions, limits=None) -> None:
    """A --stack pattern that matches no input is a mistake, not "index every band as grey"."""
    from indexer.stacks import unmatched_stack

    if options.stack and paths:
        problem = unmatched_stack(paths, options.stack, limits)
        if problem:
            raise UserError(problem)


def raster_options(args) -> RasterOptions:
    """RasterOptions from the parsed flags; a UserError that names the problem otherwise."""
    try:
        low, high = (float(part) for part in args.stretch.split(","))
    except ValueError:
        raise UserError(f"--stretch takes two percentiles LOW,HIGH, e.g. 2,98, not {args.stretch!r}") from None
    bands = None if args.bands is None else tuple(part.strip() for part in args.bands.split(",") if part.strip())
    try:
        return RasterOptions(
            bands=bands,
            chip_size=args.chip_size,
            overlap=getattr(args, "overlap", 0),
            max_nodata=getattr(args, "max_nodata", 0.5),
            resample_to=getattr(args, "resample_to", None),
            stretch=(low, high),
            stack=getattr(args, "stack", None),
            max_chips=getattr(args, "max_chips_per_scene", DEFAULT_MAX_CHIPS),
            nodata=args.nodata,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None

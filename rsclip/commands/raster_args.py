"""The ``rsclip index`` flags that say how raster scenes become chips."""

from __future__ import annotations

import argparse

from indexer.raster import DEFAULT_MAX_CHIPS, RasterOptions
from service.errors import UserError


def add_raster_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "raster scenes (GeoTIFF and other georeferenced, multi-band or non-8-bit rasters)"
    )
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
            overlap=args.overlap,
            max_nodata=args.max_nodata,
            resample_to=args.resample_to,
            stretch=(low, high),
            stack=args.stack,
            max_chips=args.max_chips_per_scene,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None

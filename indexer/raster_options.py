"""What a run asks of raster scenes (``RasterOptions``: bands, chip size, overlap,
resampling, stretch, band stacks, chip and nodata limits, from the CLI flags), and the
error for a raster that cannot be read as asked.

``indexer.raster`` reads scenes with them and ``indexer.chip_grid`` cuts scenes into
chip windows; both names are imported through ``indexer.raster`` by most callers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_CHIPS = 1_000_000  # per scene: a 256,000 px square at 256 px chips


class RasterError(ValueError):
    """A raster that cannot be read as asked; the message says why."""


@dataclass(frozen=True)
class RasterOptions:
    """How scenes become chips. ``bands`` are 1-based band numbers, or band names with ``stack``."""

    bands: tuple[str, ...] | None = None
    chip_size: int = 256
    overlap: int = 0
    max_nodata: float = 0.5
    resample_to: float | None = None  # metres per pixel; None keeps the native resolution
    stretch: tuple[float, float] = (2.0, 98.0)  # percentiles mapped to 0 and 255
    stack: str | None = None  # file name pattern with {band}, e.g. "*_B{band}.TIF"
    max_chips: int = DEFAULT_MAX_CHIPS  # a scene cut into more is refused (--max-chips-per-scene)
    nodata: float | None = None  # a fill value the files do not declare; None: declared mask, else edge fill

    def __post_init__(self):
        if self.max_chips < 1:
            raise ValueError("the most chips per scene must be at least 1")
        if self.chip_size < 16:
            raise ValueError("the chip size must be at least 16 pixels")
        if not 0 <= self.overlap < self.chip_size:
            raise ValueError("the overlap must be at least 0 and smaller than the chip size")
        if not 0.0 <= self.max_nodata <= 1.0:
            raise ValueError("the largest nodata share must be between 0 and 1")
        if self.resample_to is not None and not self.resample_to > 0:
            raise ValueError("the target resolution must be a positive number of metres")
        low, high = self.stretch
        if not 0.0 <= low < high <= 100.0:
            raise ValueError("the stretch needs two percentiles with 0 <= low < high <= 100")
        if self.bands is not None and len(self.bands) not in (1, 3):
            raise ValueError("give one band (shown as grey) or three (red, green, blue), e.g. 3,2,1")
        if self.stack is not None:
            if self.stack.count("{band}") != 1:
                raise ValueError("the stack pattern must contain {band} once, e.g. '*_B{band}.TIF'")
            if self.bands is None:
                raise ValueError("a band stack needs the bands to stack, red first, e.g. 4,3,2 for Landsat 8")
        elif self.bands is not None and not all(band.isdigit() and int(band) >= 1 for band in self.bands):
            raise ValueError("bands are numbers from 1, e.g. 3,2,1")
        if self.nodata is not None and not np.isfinite(self.nodata):
            raise ValueError("the nodata value must be a finite number")

"""One reader for every path: any input file -> the RGB picture(s) the model sees.

Indexing, queries (``rsclip search --image``, uploads to ``/search/image``,
``/classify``, ``/similarity``, ``/embed``), ``rsclip embed``, ``rsclip plot`` and
``rsclip eval`` all read imagery here, so a file is seen alike wherever it enters:

- a plain picture (JPEG, PNG, WebP, an 8-bit TIFF without georeferencing) is decoded by
  Pillow (``indexer.decode``): one item;
- a raster scene (a GeoTIFF of any band count and bit depth, JPEG 2000, a band stack)
  is read through rasterio (``indexer.raster``) with the index's band choice, fill mask
  and valid-pixel stretch. Indexing, ``embed`` and ``eval zeroshot`` take its chips
  (:func:`model_images`). A query is one picture (:func:`query_image`): the scene's
  only chip when it fits in one, exactly as indexing reads that chip; else the whole
  scene read at the model's input size (from the file's overviews where it has them,
  else one decimated read), stretched as its chips are. ``reading`` says which.
- a stored chip is read again from its scene window (:func:`indexed_picture`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path, PurePosixPath

from PIL import Image
from rasterio.enums import Resampling

from indexer.chips import PlannedChip, plan_chips, read_chip_item, render_chip
from indexer.decode import DEFAULT_MAX_PIXELS, DecodeError, decode_image
from indexer.limits import FailureKind
from indexer.items import SourceItem
from indexer.stacks import BandStack
from indexer.raster import (
    RasterFile,
    RasterOptions,
    Scene,
    is_raster_name,
    needs_raster_reader,
    open_scene,
    pixels_touched,
    read_chip,
    read_layers,
    to_rgb8,
)

# The first bytes of the raster formats rasterio reads here (uploads may carry any name).
_RASTER_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")


@dataclass(frozen=True)
class ModelImage:
    """A picture as the model takes it, and what was done to make it."""

    image: Image.Image  # RGB
    reading: str  # e.g. "picture (JPEG)", "chip 0,0 256x256 of ...", "whole scene ... read at 256x230 ..."
    chip: PlannedChip | None = None  # the chip of a scene it is, when it is one


def input_file(name: str, *, path: str | Path | None = None, data: bytes | None = None) -> RasterFile:
    """An input's bytes, on disk (read window by window) or in memory (an upload, an archive member)."""
    return RasterFile(name, path=path, data=data)


def scene_of(entry: SourceItem | BandStack, options: RasterOptions) -> tuple[Scene | None, bytes | None]:
    """For indexing: (scene, None) for a raster scene; (None, bytes) for a picture Pillow should decode.

    Reads an archive member once: its bytes serve whichever reader takes it.
    Raises ``RasterError`` for a scene that cannot be used as asked.
    """
    if isinstance(entry, BandStack):
        files = [RasterFile.from_item(item) for item in entry.items]
        return open_scene(entry.source, entry.member, files, options, mtime=entry.mtime), None
    if not is_raster_name(entry.member):
        return None, entry.read()
    file = RasterFile.from_item(entry)
    if not needs_raster_reader(file):
        # A file on disk comes in through the source's reader, which holds it to --max-file-bytes.
        return None, (entry.read() if file.path is not None else file.read_bytes())
    return open_scene(entry.source, entry.member, [file], options, mtime=entry.mtime), None


def scene_of_file(file: RasterFile, options: RasterOptions, source: str = "") -> Scene | None:
    """The raster scene a file is, or None for a picture Pillow should decode.

    Raises ``RasterError`` for a raster that cannot be read as ``options`` ask.
    """
    if not (is_raster_name(file.name) or _has_raster_magic(file)):
        return None
    if not needs_raster_reader(file):
        return None
    return open_scene(source or _folder(file), file.name, [file], options)


def query_image(
    file: RasterFile,
    options: RasterOptions | None = None,
    *,
    model_size: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    longest_side: int | None = None,
) -> ModelImage:
    """One picture for a query: a photo as decoded; a scene's one chip; a bigger scene whole,
    read at ``model_size`` on its longest side with the scene's bands, fill and stretch.

    ``longest_side`` lets a server decode a large photo no bigger than the model needs
    (JPEG draft mode, ``reduce``), so memory per query stays flat in the photo's size.
    A whole-scene read that would decode more than ``max_pixels`` (a big scene without
    overviews: a few KB of compressed bytes can declare 10^10 pixels) is refused with
    ``DecodeError`` rather than decoded: work per query stays bounded like memory."""
    options = options or RasterOptions()
    scene = scene_of_file(file, options)
    if scene is None:
        return _picture(file, max_pixels, longest_side)
    chips = list(islice(plan_chips(scene, options), 2))  # one chip, or more: never the whole grid
    if len(chips) == 1:
        chip = chips[0]
        rgb, _valid = read_chip(scene.layers, chip.window, scene.stretch, scene.fill)
        return ModelImage(Image.fromarray(rgb, "RGB"), f"{_chip_words(chip)}, as indexing reads it", chip)
    return _whole_scene(scene, file, model_size, max_pixels)


def model_images(
    file: RasterFile,
    options: RasterOptions | None = None,
    *,
    source: str = "",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[ModelImage]:
    """What indexing embeds of a file: a photo, or every chip of a scene that is not mostly nodata."""
    options = options or RasterOptions()
    scene = scene_of_file(file, options, source)
    if scene is None:
        yield _picture(file, max_pixels)
        return
    for chip in plan_chips(scene, options):
        result = read_chip_item(chip, options.max_nodata)
        if result is not None:
            yield ModelImage(Image.fromarray(result[1], "RGB"), _chip_words(chip), chip)


def indexed_picture(record) -> Image.Image:
    """An indexed item as the model saw it: a chip read again from its scene window, or the
    picture decoded from its folder or archive. Raises ``MemberNotFoundError``, ``DecodeError``."""
    if record.geo is not None:
        return render_chip(record)
    from indexer.sources import read_member

    return decode_image(read_member(record.source, record.member)).image


def _picture(file: RasterFile, max_pixels: int, longest_side: int | None = None) -> ModelImage:
    decoded = decode_image(file.read_bytes(), max_pixels=max_pixels, longest_side=longest_side)
    return ModelImage(decoded.image, f"picture ({decoded.format}, {decoded.width}x{decoded.height}), decoded as indexing does")


def _whole_scene(scene: Scene, file: RasterFile, model_size: int, max_pixels: int) -> ModelImage:
    scale = model_size / max(scene.width, scene.height)
    touched = pixels_touched(scene.layers, scene.width, scene.height, 1 / scale)
    if touched > max_pixels:
        raise DecodeError(
            f"reading this {scene.width}x{scene.height} px scene whole would decode {touched:,} pixels, over the "
            f"limit of {max_pixels:,}: give it overviews (gdaladdo) or query with one chip of it",
            FailureKind.TOO_MANY_PIXELS,
        )
    shape = (max(1, round(scene.height * scale)), max(1, round(scene.width * scale)))
    values, valid = read_layers(scene.layers, None, shape, Resampling.average, scene.fill)
    rgb = to_rgb8(values, valid, scene.stretch)
    with file.open() as src:
        from_overviews = bool(src.overviews(1))
    how = "from its overviews" if from_overviews else "by one decimated read (the file has no overviews)"
    fill = "" if scene.fill is None else f", fill value {scene.fill:g} masked"
    words = (
        f"whole scene {scene.width}x{scene.height} px (more than one chip) read at "
        f"{shape[1]}x{shape[0]}, the model's input size, {how}; bands {scene.band_labels}, stretch "
        f"{scene.percentiles[0]:g}-{scene.percentiles[1]:g} percentiles of valid pixels{fill}"
    )
    return ModelImage(Image.fromarray(rgb, "RGB"), words)


def _chip_words(chip: PlannedChip) -> str:
    window, scene = chip.window, chip.scene
    return (
        f"chip {window.x},{window.y} {window.width}x{window.height} of {scene.name} "
        f"({scene.width}x{scene.height} px, bands {scene.band_labels})"
    )


def _has_raster_magic(file: RasterFile) -> bool:
    if file.path is not None:
        with open(file.path, "rb") as handle:
            head = handle.read(12)
    else:
        head = file.read_bytes()[:12]
    return head.startswith(_RASTER_MAGIC)


def _folder(file: RasterFile) -> str:
    return str(file.path.parent) if file.path is not None else str(PurePosixPath(file.name).parent)

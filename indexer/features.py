"""Vectors as files for other tools: a ``.npy`` matrix, a CSV sidecar, a small JSON note.

Row i of ``NAME.npy`` is described by row i of ``NAME.csv``; ``NAME.json`` says which
model made the vectors. Rows are streamed to a scratch file while they arrive and
the ``.npy`` is assembled at the end, so memory stays flat however many images.
Files appear complete or not at all (written beside the target, then renamed).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from storage import ImageRecord, ModelIdentity, NewImage
from storage.atomic import new_file_mode

IMAGE_COLUMNS = (
    "row", "id", "source", "member", "scene", "sha256", "width", "height", "format",
    "window", "bbox", "acquired", "sensor", "crs", "resolution_m",
)
TEXT_COLUMNS = ("row", "line", "text")
_COPY_ROWS = 65536


class FeatureWriter:
    """Collects (metadata row, vector) pairs and writes NAME.npy, NAME.csv, NAME.json."""

    def __init__(
        self, out: str | Path, columns: Sequence[str], model: ModelIdentity, kind: str, made_with: dict | None = None
    ):
        self.out = Path(out).with_suffix(".npy")
        self.sidecar = self.out.with_suffix(".csv")
        self.note = self.out.with_suffix(".json")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.columns = tuple(columns)
        self.model = model
        self.kind = kind
        self.made_with = made_with or {}  # how the vectors were made now (precision, device); none for an export
        self.rows = 0
        # Scratch files stay open across write() calls; close() or discard() ends them.
        self._raw = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=self.out.parent, prefix=f".{self.out.stem}.", suffix=".f32", delete=False
        )
        self._csv_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w",
            dir=self.out.parent,
            prefix=f".{self.out.stem}.",
            suffix=".csv",
            delete=False,
            newline="",
            encoding="utf-8",
        )
        self._csv = csv.DictWriter(self._csv_file, fieldnames=self.columns)
        self._csv.writeheader()

    def write(self, rows: Sequence[dict], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(rows) != len(vectors) or (len(vectors) and vectors.shape[1] != self.model.dimension):
            raise ValueError(f"{len(rows)} rows for {vectors.shape} vectors of a {self.model.dimension}-d model")
        for row in rows:
            self._csv.writerow({"row": self.rows, **row})
            self.rows += 1
        self._raw.write(vectors.tobytes())

    def close(self) -> None:
        """Assemble the .npy and move all three files into place."""
        self._raw.close()
        self._csv_file.close()
        self._assemble_matrix()
        os.chmod(self._csv_file.name, new_file_mode())  # a scratch file is private; the CSV is not
        os.replace(self._csv_file.name, self.sidecar)
        os.unlink(self._raw.name)
        note = {
            "kind": self.kind,
            "rows": self.rows,
            "dimension": self.model.dimension,
            "model": self.model.model_id,
            "model_fingerprint": self.model.fingerprint,
            "vectors": self.out.name,
            "sidecar": self.sidecar.name,
            "normalised": True,
            **self.made_with,
        }
        self.note.write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "dimension": self.model.dimension,
            "vectors": str(self.out),
            "sidecar": str(self.sidecar),
            **self.made_with,
        }

    def _assemble_matrix(self) -> None:
        shape = (self.rows, self.model.dimension)
        temp = self.out.with_name(f".{self.out.stem}.npy.tmp")
        if self.rows == 0:
            with open(temp, "wb") as handle:  # numpy cannot memory-map an empty matrix
                np.save(handle, np.zeros(shape, dtype=np.float32))
        else:
            matrix = np.lib.format.open_memmap(temp, mode="w+", dtype=np.float32, shape=shape)
            raw = np.memmap(self._raw.name, dtype=np.float32, mode="r", shape=shape)
            for start in range(0, self.rows, _COPY_ROWS):
                matrix[start : start + _COPY_ROWS] = raw[start : start + _COPY_ROWS]
            matrix.flush()
            del matrix, raw
        os.replace(temp, self.out)

    def discard(self) -> None:
        for handle in (self._raw, self._csv_file):
            handle.close()
            Path(handle.name).unlink(missing_ok=True)

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def image_row(image: NewImage | ImageRecord, image_id: int | None = None) -> dict:
    geo = image.geo
    return {
        "id": "" if image_id is None else image_id,
        "source": image.source,
        "member": image.member,
        "sha256": image.sha256,
        "width": image.width,
        "height": image.height,
        "format": image.format,
        # Raster chips: which window of the scene (x,y,width,height), where and when.
        "window": "" if image.geo is None else ",".join(map(str, image.geo.window)),
        "bbox": "" if image.geo is None or image.geo.bbox is None else ",".join(f"{v:.7f}" for v in image.geo.bbox),
        "acquired": "" if image.geo is None or image.geo.acquired is None else image.geo.acquired.isoformat(),
        # The scene a chip is of (a band stack by its pattern), its sensor, CRS and metres per chip pixel.
        "scene": "" if geo is None else geo.scene,
        "sensor": "" if geo is None or geo.sensor is None else geo.sensor,
        "crs": "" if geo is None or geo.crs is None else geo.crs,
        "resolution_m": "" if geo is None or geo.resolution_m is None else f"{geo.resolution_m:.4g}",
    }


class FeatureSink:
    """Stands where an :class:`IndexRun` expects a Store, so ``rsclip embed`` reuses the
    indexer's reading, decoding and batching, and writes files instead of an index."""

    def __init__(self, writer: FeatureWriter):
        self.writer = writer

    def existing_sha256(self, _hashes) -> dict[str, int]:
        return {}  # nothing is "already indexed": every input gets a row

    def recorded_in_directory(self, _source: str, _directory: str) -> dict:
        return {}  # no file was seen before: every one is read

    def place(self, placements):
        return []  # a second file with the same content adds no row

    def add(self, images: Sequence[NewImage], vectors: np.ndarray, *, recipe: str = "") -> list[int]:
        self.writer.write([image_row(image) for image in images], vectors)
        return []

    def save(self) -> None:
        pass

    def calibrate_with(self, _text_queries) -> None:
        pass  # no vector index here to calibrate

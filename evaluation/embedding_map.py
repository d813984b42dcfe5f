"""A 2-D map of an index's embeddings: which points, what colour, where, with which pictures.

The result is plain data (:class:`EmbeddingMap`) written as a PNG and as JSON, so the
web page can draw the same map from the JSON (points carry their catalog ids).
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from evaluation.plotting import plot_embedding_map, project_2d
from indexer.decode import DecodeError
from indexer.imagery import indexed_picture
from indexer.raster import RasterError
from indexer.sources import location
from service import __version__
from service.errors import UserError
from storage import ImageRecord, Store

log = logging.getLogger(__name__)

COLOR_BY = ("folder", "source")
UNLABELLED = "(unlabelled)"


@dataclass
class EmbeddingMap:
    ids: np.ndarray
    coordinates: np.ndarray  # (n, 2)
    labels: list[str]
    locations: list[str]
    thumbnail_rows: list[int]
    info: dict  # model, method, seed, what was sampled: recorded with the map
    thumbnail_failures: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # each point's indexed folder or archive (its name)

    def as_dict(self, image_name: str | None = None) -> dict:
        return {
            **self.info,
            "image": image_name,
            "points": [
                {
                    "id": int(image_id),
                    "x": round(float(x), 4),
                    "y": round(float(y), 4),
                    "label": label,
                    "source": source,
                    "location": where,
                }
                for image_id, (x, y), label, source, where in zip(
                    self.ids, self.coordinates, self.labels, self._point_sources(), self.locations
                )
            ],
            "thumbnails": [int(self.ids[row]) for row in self.thumbnail_rows],
            "thumbnail_failures": self.thumbnail_failures,
        }

    def _point_sources(self) -> list[str | None]:
        return self.sources or [None] * len(self.ids)


def sample_vectors(store: Store, max_points: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(ids, vectors, total): all vectors, or a seeded random ``max_points`` of them, streamed."""
    total = store.count()
    keep = None
    if total > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(total, size=max_points, replace=False))
    ids, vectors, position = [], [], 0
    for chunk_ids, chunk_vectors in store.iter_vectors():
        rows = np.arange(position, position + len(chunk_ids))
        position += len(chunk_ids)
        mask = np.ones(len(rows), bool) if keep is None else np.isin(rows, keep)
        ids.append(chunk_ids[mask])
        vectors.append(chunk_vectors[mask])
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), 0
    return np.concatenate(ids), np.concatenate(vectors), total


def folder_label(record: ImageRecord) -> str:
    """The class-per-folder label: the first folder inside the indexed source, else the source's name."""
    parts = PurePosixPath(record.member).parts
    return parts[0] if len(parts) > 1 else Path(record.source).name


def read_label_file(path: str | Path) -> dict[str, str]:
    """A two-column CSV (image, label); the image is matched by full path, path in its source, or file name."""
    path = Path(path).expanduser()
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    except OSError as exc:
        raise UserError(f"cannot read labels {path}: {exc.strerror or exc}") from None
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["image", "label"]:
        rows = rows[1:]
    if any(len(row) < 2 for row in rows):
        raise UserError(f"{path}: every line needs two columns, image,label")
    return {row[0].strip(): row[1].strip() for row in rows}


def label_of(record: ImageRecord, color_by: str, label_file: dict[str, str] | None) -> str:
    if label_file is not None:
        for key in (location(record.source, record.member), record.member, PurePosixPath(record.member).name):
            if key in label_file:
                return label_file[key]
        return UNLABELLED
    return folder_label(record) if color_by == "folder" else Path(record.source).name


def spread_rows(coordinates: np.ndarray, count: int) -> list[int]:
    """``count`` rows spread over the map (greedy farthest points), so pictures overlap little."""
    n = len(coordinates)
    if n == 0 or count <= 0:
        return []
    centre = coordinates.mean(axis=0)
    chosen = [int(np.argmin(((coordinates - centre) ** 2).sum(axis=1)))]
    distance = ((coordinates - coordinates[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < min(count, n):
        row = int(np.argmax(distance))
        chosen.append(row)
        distance = np.minimum(distance, ((coordinates - coordinates[row]) ** 2).sum(axis=1))
    return chosen


def build_map(
    store: Store,
    *,
    method: str = "tsne",
    seed: int = 0,
    max_points: int = 5000,
    color_by: str = "folder",
    label_file: dict[str, str] | None = None,
    thumbnails: int = 12,
) -> EmbeddingMap:
    if store.model is None:
        raise UserError(f"The index at {store.data_dir} is empty: run `rsclip index` first.")
    if color_by not in COLOR_BY:
        raise UserError(f"--color-by must be one of {', '.join(COLOR_BY)}")
    ids, vectors, total = sample_vectors(store, max_points, seed)
    if len(ids) == 0:
        raise UserError(f"The index at {store.data_dir} holds no vectors.")
    records = store.get_many(ids.tolist())
    coordinates = project_2d(vectors, method=method, seed=seed)
    labels = [label_of(records[int(i)], color_by, label_file) for i in ids]
    locations = [location(records[int(i)].source, records[int(i)].member) for i in ids]
    info = {
        "model": {"id": store.model.model_id, "fingerprint": store.model.fingerprint, "dimension": store.model.dimension},
        "data_dir": str(store.data_dir.resolve()),
        "index_version": store.stats().index_version,
        "method": method,
        "metric": "cosine",
        "seed": seed,
        "color_by": "labels file" if label_file is not None else color_by,
        "indexed_points": total,
        "plotted_points": len(ids),
        "rsclip_version": __version__,
    }
    sources = [Path(records[int(i)].source).name for i in ids]
    rows = spread_rows(coordinates, thumbnails)
    return EmbeddingMap(ids, coordinates, labels, locations, rows, info, sources=sources)


def load_thumbnails(store: Store, embedding_map: EmbeddingMap) -> dict[int, object]:
    """The chosen items as the model saw them (a raster chip's window, not its whole scene);
    a vanished file is skipped and noted."""
    pictures = {}
    for row in embedding_map.thumbnail_rows:
        record = store.get(int(embedding_map.ids[row]))
        try:
            pictures[row] = indexed_picture(record)
        except (OSError, DecodeError, RasterError) as exc:
            embedding_map.thumbnail_failures.append(f"{embedding_map.locations[row]}: {exc}")
            log.warning("no thumbnail for %s: %s", embedding_map.locations[row], exc)
    return pictures


def write_map(store: Store, embedding_map: EmbeddingMap, png_path: str | Path, json_path: str | Path) -> None:
    png_path, json_path = Path(png_path), Path(json_path)
    title = (
        f"{embedding_map.info['plotted_points']} images, {embedding_map.info['method']} (seed "
        f"{embedding_map.info['seed']}), model {Path(embedding_map.info['model']['id']).name}"
    )
    pictures = load_thumbnails(store, embedding_map)
    plot_embedding_map(embedding_map.coordinates, embedding_map.labels, png_path, title=title, thumbnails=pictures)
    document = embedding_map.as_dict(image_name=png_path.name)
    json_path.write_text(json.dumps(document, indent=1), encoding="utf-8")

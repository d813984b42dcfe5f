"""Run a model over labelled data and score it: image-text retrieval and zero-shot classification.

Images go through the same reader as indexing (``indexer.imagery``, then the encoder's
own ``preprocess`` and ``encode_pixels`` in batches), so the scores describe the model as
rsclip-search uses it: a GeoTIFF in a class folder is scored as the chips indexing cuts
from it (each with the folder's class); a GeoTIFF in a caption file is one query image
(its one chip, or the whole scene at the model's input size). Runs are deterministic: no sampling, no shuffling;
identical inputs and weights give identical scores (the report records both).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from encoder import Encoder
from evaluation.datasets import ALL_SPLITS, CaptionFile, ClassFolders, class_phrase
from evaluation.metrics import RetrievalScores, ZeroShotScores, retrieval_scores, zeroshot_scores
from indexer.decode import DecodeError
from indexer.imagery import input_file, model_images, query_image
from indexer.raster import RasterError
from indexer.sources import location
from service import __version__
from service.errors import UserError

log = logging.getLogger(__name__)

# Averaged, as CLIP does with its 80 ImageNet templates; the remote-sensing papers use
# the same few phrasings ("a satellite photo of {}", "an aerial image of {}").
DEFAULT_TEMPLATES = (
    "a remote sensing image of {}.",
    "a satellite photo of {}.",
    "an aerial photograph of {}.",
)
TIE_RULE = (
    "pessimistic: a correct item's rank is 1 + the number of wrong items scoring the same or higher "
    "('optimistic' in the scores counts only those scoring higher)"
)


@dataclass(frozen=True)
class Excluded:
    """An image left out of the scores, and why (missing file, undecodable, no captions)."""

    name: str
    reason: str


@dataclass(frozen=True)
class ImageJob:
    name: str  # as the user sees it: a path
    read: Callable[[], bytes]
    path: str | None = None  # the file on disk, when it is one: scenes are read window by window

    def pictures(self, encoder: Encoder, chips: bool) -> list:
        """Every chip of a scene (``chips``) or one query picture; a photo either way is one."""
        file = input_file(self.name, path=self.path) if self.path else input_file(self.name, data=self.read())
        if chips:
            return [picture.image for picture in model_images(file)]
        return [query_image(file, model_size=encoder.spec.image_size).image]


def model_record(encoder: Encoder) -> dict:
    spec = encoder.spec
    return {
        "id": spec.model_id,
        "family": spec.family,
        "fingerprint": spec.fingerprint,
        "dimension": spec.dimension,
        "image_size": spec.image_size,
        "text_max_length": spec.text_max_length,
        "precision": encoder.precision,
    }


# -- embedding ------------------------------------------------------------------


def embed_images(
    encoder: Encoder,
    jobs: Sequence[ImageJob],
    *,
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = False,
    chips: bool = False,
) -> tuple[np.ndarray, list[int], list[Excluded]]:
    """Vectors of the jobs that decode, the job position of each row, and what failed.

    With ``chips`` a scene gives a row per chip (its position repeats). Decoding and
    preprocessing run on ``workers`` threads one batch of jobs at a time, so memory
    holds one batch of pixels (times a scene's chips) however large the dataset.
    """

    def prepare(job: ImageJob):
        try:
            pictures = job.pictures(encoder, chips)
        except (DecodeError, RasterError) as exc:
            return None, str(exc)
        except OSError as exc:
            return None, f"cannot read: {exc.strerror or exc}"
        if not pictures:
            return None, "every chip of the scene is mostly nodata"
        return [encoder.preprocess(picture) for picture in pictures], None

    vectors, kept, excluded = [], [], []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
        total=len(jobs), desc="images", unit="img", disable=not progress
    ) as bar:
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            pixels = []
            for offset, (arrays, reason) in enumerate(pool.map(prepare, batch)):
                if arrays is None:
                    excluded.append(Excluded(batch[offset].name, reason))
                else:
                    pixels.extend(arrays)
                    kept.extend([start + offset] * len(arrays))
            if pixels:
                vectors.append(encoder.encode_pixels(np.stack(pixels)))
            bar.update(len(batch))
    dimension = encoder.spec.dimension
    return (np.concatenate(vectors) if vectors else np.zeros((0, dimension), np.float32)), kept, excluded


def embed_texts(encoder: Encoder, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
    """Text vectors, each distinct text encoded once (benchmarks repeat many captions)."""
    positions: dict[str, int] = {}
    inverse = np.array([positions.setdefault(text, len(positions)) for text in texts], dtype=np.int64)
    unique = list(positions)
    chunks = [encoder.encode_texts(unique[i : i + batch_size]) for i in range(0, len(unique), batch_size)]
    if not chunks:
        return np.zeros((0, encoder.spec.dimension), np.float32)
    return np.concatenate(chunks)[inverse]


def class_text_vectors(encoder: Encoder, phrases: Sequence[str], templates: Sequence[str]) -> np.ndarray:
    """One vector per class: the unit text vectors of every template, averaged and re-normalised."""
    prompts = [template.format(phrase) for template in templates for phrase in phrases]
    per_template = embed_texts(encoder, prompts).reshape(len(templates), len(phrases), -1)
    return average_unit_vectors(per_template)


def average_unit_vectors(per_template: np.ndarray) -> np.ndarray:
    """(templates, classes, d) -> (classes, d): mean of L2-normalised rows, L2-normalised (CLIP's rule)."""
    unit = per_template / np.linalg.norm(per_template, axis=-1, keepdims=True).clip(1e-12)
    mean = unit.mean(axis=0)
    return (mean / np.linalg.norm(mean, axis=-1, keepdims=True).clip(1e-12)).astype(np.float32)


# -- retrieval ------------------------------------------------------------------


@dataclass
class RetrievalReport:
    dataset: dict
    model: dict
    scores: RetrievalScores
    excluded: list[Excluded] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "task": "image-text retrieval",
            "dataset": self.dataset,
            "model": self.model,
            "scores": self.scores.as_dict(),
            "ties": TIE_RULE,
            "excluded": [{"image": item.name, "reason": item.reason} for item in self.excluded],
            "seconds": round(self.seconds, 3),
            "rsclip_version": __version__,
        }


def locate_image(images_dir: Path, image) -> Path | None:
    """The file of a caption-file entry: ``DIR/filepath/filename``, else ``DIR/filename``."""
    candidates = [images_dir / image.folder / image.filename] if image.folder else []
    candidates.append(images_dir / image.filename)
    return next((path for path in candidates if path.is_file()), None)


def run_retrieval(
    encoder: Encoder,
    captions: CaptionFile,
    images_dir: str | Path,
    *,
    split: str = "test",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = False,
) -> RetrievalReport:
    """Score image->text and text->image retrieval on the images of ``split`` that exist."""
    started = time.monotonic()
    images_dir = Path(images_dir).expanduser()
    if not images_dir.is_dir():
        raise UserError(f"no images folder at {images_dir}")
    selected = captions.select(split)
    if not selected:
        raise UserError(
            f"{captions.path.name} has no images in split {split!r}; its splits: {captions.split_counts()} "
            f"(use --split {ALL_SPLITS} for every image)"
        )
    excluded, jobs, owners = [], [], []
    for image in selected:
        path = locate_image(images_dir, image)
        if path is None:
            excluded.append(Excluded(image.filename, "missing: no such file in the images folder"))
        elif not image.captions:
            excluded.append(Excluded(image.filename, "no captions"))
        else:
            jobs.append(ImageJob(str(path), path.read_bytes, str(path)))
            owners.append(image)
    if not jobs:
        present = sum(locate_image(images_dir, image) is not None for image in captions.images)
        raise UserError(
            f"none of the {len(selected)} {split!r} images of {captions.path.name} is in {images_dir} "
            f"(first missing: {excluded[0].name}); {present} of all {len(captions.images)} listed images are "
            f"there: --split {ALL_SPLITS} scores every image present"
        )
    image_vectors, kept, failed = embed_images(encoder, jobs, batch_size=batch_size, workers=workers, progress=progress)
    excluded.extend(failed)
    if not kept:
        raise UserError(f"none of the {len(jobs)} images found could be decoded (first: {failed[0].reason})")
    texts, caption_image = [], []
    for row, position in enumerate(kept):
        texts.extend(owners[position].captions)
        caption_image.extend([row] * len(owners[position].captions))
    text_vectors = embed_texts(encoder, texts)
    scores = retrieval_scores(image_vectors @ text_vectors.T, np.asarray(caption_image))
    dataset = {
        "name": captions.name,
        "caption_file": str(captions.path.resolve()),
        "caption_file_sha256": captions.sha256,
        "format": captions.format,
        "images_dir": str(images_dir.resolve()),
        "split": split,
        "listed_in_split": len(selected),
        "evaluated_images": len(kept),
        "evaluated_captions": len(texts),
        "missing": sum(item.reason.startswith("missing") for item in excluded),
        "unreadable": len(failed),
    }
    return RetrievalReport(dataset, model_record(encoder), scores, excluded, time.monotonic() - started)


# -- zero-shot classification ----------------------------------------------------


@dataclass
class ZeroShotReport:
    dataset: dict
    model: dict
    classes: list[str]
    phrases: list[str]
    templates: list[str]
    scores: ZeroShotScores
    excluded: list[Excluded] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        counts = self.scores.confusion.sum(axis=1)
        return {
            "task": "zero-shot classification",
            "dataset": self.dataset,
            "model": self.model,
            "templates": self.templates,
            "prompt_rule": "mean of the L2-normalised text vectors over templates, re-normalised",
            "top1": self.scores.top1,
            "top5": self.scores.top5,
            "mean_per_class": self.scores.mean_per_class,
            "per_class": [
                {"class": name, "phrase": phrase, "images": int(count), "top1": accuracy}
                for name, phrase, count, accuracy in zip(self.classes, self.phrases, counts, self.scores.per_class)
            ],
            "confusion": {"rows": "true class", "columns": "predicted class", "matrix": self.scores.confusion.tolist()},
            "ties": TIE_RULE,
            "excluded": [{"image": item.name, "reason": item.reason} for item in self.excluded],
            "seconds": round(self.seconds, 3),
            "rsclip_version": __version__,
        }


def run_zeroshot(
    encoder: Encoder,
    folders: ClassFolders,
    *,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    phrases: dict[str, str] | None = None,
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = False,
) -> ZeroShotReport:
    """Classify every image by its most similar class prompt; score against its folder."""
    started = time.monotonic()
    for template in templates:
        if "{}" not in template:
            raise UserError(f"template {template!r} needs a {{}} where the class name goes")
    phrases = phrases or {}
    class_phrases = [phrases.get(name, class_phrase(name)) for name in folders.classes]
    jobs = [ImageJob(location(item.source, item.member), item.read, item.path) for _, item in folders.items]
    image_vectors, kept, excluded = embed_images(
        encoder, jobs, batch_size=batch_size, workers=workers, progress=progress, chips=True
    )
    if not kept:
        raise UserError(f"none of the {len(jobs)} images under {folders.root} could be decoded")
    labels = np.array([folders.items[position][0] for position in kept], dtype=np.int64)
    class_vectors = class_text_vectors(encoder, class_phrases, templates)
    _refuse_identical_prompts(class_vectors, class_phrases, encoder.spec.text_max_length)
    scores = zeroshot_scores(image_vectors @ class_vectors.T, labels)
    dataset = {
        "root": str(folders.root.resolve()),
        "classes": len(folders.classes),
        "evaluated_images": len(kept),  # a scene counts once per chip
        "files": len(set(kept)),
        "unreadable": len(excluded),
    }
    return ZeroShotReport(
        dataset,
        model_record(encoder),
        list(folders.classes),
        class_phrases,
        list(templates),
        scores,
        excluded,
        time.monotonic() - started,
    )


def _refuse_identical_prompts(class_vectors: np.ndarray, phrases: Sequence[str], text_length: int) -> None:
    """Two classes with the same text vector cannot be told apart: usually the templates are
    longer than the model's text length, so the class name was cut off."""
    seen: dict[bytes, str] = {}
    for phrase, vector in zip(phrases, class_vectors):
        other = seen.setdefault(vector.tobytes(), phrase)
        if other != phrase:
            raise UserError(
                f"classes {other!r} and {phrase!r} get the same text vector: the prompts are probably cut "
                f"off before the class name (this model reads {text_length} tokens); use shorter --template "
                f"texts, or --class-names to tell them apart"
            )

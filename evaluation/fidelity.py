"""How far a faster way of running the model (int8, bf16, another runtime) moves its vectors from fp32.

A user judges it on what search shows them: each image's vector against its fp32
vector (cosine), and whether the top-10 neighbours a query gets stay the same, for
image queries (each image against the rest) and for text queries (typical requests,
and the captions of a caption file when one is given, with R@K both ways). Random
weights are not trained weights, so this runs on the user's own checkpoint and images.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluation.runners import Excluded, ImageJob, embed_images, embed_texts, model_record, run_retrieval
from indexer.names import is_image_name
from service.errors import UserError

# The bar a precision must clear to be a default (README, Performance).
MIN_COSINE = 0.998  # every image's vector against its fp32 vector
MIN_OVERLAP = 0.95  # mean share of top-10 neighbours kept, image and text queries alike
NEIGHBOURS = 10


def cosine_summary(cosines: np.ndarray) -> dict:
    """Worst, 1st percentile, median and mean of per-item cosines."""
    if not len(cosines):
        return {"count": 0}
    return {
        "count": int(len(cosines)),
        "min": float(cosines.min()),
        "p1": float(np.percentile(cosines, 1)),
        "median": float(np.median(cosines)),
        "mean": float(cosines.mean()),
    }


def row_cosines(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Cosine of each candidate row to the same reference row (both unit vectors)."""
    return np.einsum("ij,ij->i", reference.astype(np.float64), candidate.astype(np.float64))


def top_k(queries: np.ndarray, items: np.ndarray, k: int, exclude_self: bool = False) -> np.ndarray:
    """Indices of each query's ``k`` most similar items (an item is never its own neighbour)."""
    scores = queries @ items.T
    if exclude_self:
        np.fill_diagonal(scores, -np.inf)
    k = min(k, items.shape[0] - int(exclude_self))
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def neighbour_overlap(
    reference: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray], k: int = NEIGHBOURS,
    exclude_self: bool = False,
) -> np.ndarray:
    """Per query: the share of its reference top-``k`` items that the candidate's top-``k`` keeps.

    ``reference`` and ``candidate`` are (queries, items) pairs of vectors of the same
    inputs; with ``exclude_self`` queries and items are the same set (image to image).
    """
    expected = top_k(*reference, k, exclude_self)
    found = top_k(*candidate, k, exclude_self)
    if not expected.size:
        return np.zeros(0)
    return np.array([len(set(a) & set(b)) / len(a) for a, b in zip(expected.tolist(), found.tolist())])


def overlap_summary(overlaps: np.ndarray) -> dict:
    if not len(overlaps):
        return {"queries": 0}
    return {"queries": int(len(overlaps)), "mean": float(overlaps.mean()), "min": float(overlaps.min())}


@dataclass
class FidelityReport:
    reference: dict
    candidate: dict
    images: int
    image_cosine: dict
    text_cosine: dict
    image_overlap: dict  # image queries against the other images
    text_overlap: dict  # text queries against the images
    k: int = NEIGHBOURS
    retrieval: dict | None = None  # R@K of both on a caption file, and the change
    excluded: list[Excluded] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passes(self) -> bool:
        """Whether the candidate clears the bar for a default (MIN_COSINE, MIN_OVERLAP)."""
        overlaps = [o["mean"] for o in (self.image_overlap, self.text_overlap) if o.get("queries")]
        return self.image_cosine.get("min", 0.0) >= MIN_COSINE and all(o >= MIN_OVERLAP for o in overlaps)

    def as_dict(self) -> dict:
        return {
            "task": "fidelity to fp32",
            "reference": self.reference,
            "candidate": self.candidate,
            "images": self.images,
            "image_cosine": self.image_cosine,
            "text_cosine": self.text_cosine,
            "neighbours": self.k,
            "image_query_overlap": self.image_overlap,
            "text_query_overlap": self.text_overlap,
            "retrieval": self.retrieval,
            "bar": {"min_image_cosine": MIN_COSINE, "mean_overlap": MIN_OVERLAP, "passes": self.passes},
            "excluded": [{"image": item.name, "reason": item.reason} for item in self.excluded],
            "seconds": round(self.seconds, 3),
        }


def image_jobs(images_dir: Path, limit: int | None = None) -> list[ImageJob]:
    """Every picture under ``images_dir`` (recursively, in name order), at most ``limit``."""
    if not images_dir.is_dir():
        raise UserError(f"no images folder at {images_dir}")
    paths = sorted(path for path in images_dir.rglob("*") if path.is_file() and is_image_name(path.name))
    if len(paths) < 2:
        raise UserError(f"{images_dir} holds {len(paths)} picture(s); neighbours need at least 2")
    return [ImageJob(str(path), path.read_bytes) for path in paths[:limit]]


def run_fidelity(
    reference,
    candidate,
    images_dir: str | Path,
    *,
    texts: Sequence[str] = (),
    captions=None,
    split: str = "test",
    limit: int | None = None,
    k: int = NEIGHBOURS,
    batch_size: int = 8,
    workers: int = 2,
    progress: bool = False,
) -> FidelityReport:
    """Compare ``candidate``'s vectors with ``reference``'s (the fp32 encoder) on the same inputs.

    ``texts``: text queries to compare (e.g. ``indexer.probes.PROBE_QUERIES``);
    ``captions``: a :class:`evaluation.datasets.CaptionFile` whose images are in
    ``images_dir``, scored with both encoders (R@K and its change).
    """
    started = time.monotonic()
    images_dir = Path(images_dir).expanduser()
    jobs = image_jobs(images_dir, limit)
    options = dict(batch_size=batch_size, workers=workers)
    ref_images, kept, excluded = embed_images(reference, jobs, progress=progress, **options)
    cand_images, _, _ = embed_images(candidate, [jobs[i] for i in kept], **options)
    if len(kept) < 2:
        raise UserError(f"only {len(kept)} picture(s) under {images_dir} could be decoded; neighbours need 2")
    texts = list(dict.fromkeys(texts))
    ref_texts = embed_texts(reference, texts) if texts else np.zeros((0, ref_images.shape[1]), np.float32)
    cand_texts = embed_texts(candidate, texts) if texts else ref_texts
    report = FidelityReport(
        reference=model_record(reference),
        candidate=model_record(candidate),
        images=len(kept),
        image_cosine=cosine_summary(row_cosines(ref_images, cand_images)),
        text_cosine=cosine_summary(row_cosines(ref_texts, cand_texts)),
        image_overlap=overlap_summary(
            neighbour_overlap((ref_images, ref_images), (cand_images, cand_images), k, exclude_self=True)
        ),
        text_overlap=overlap_summary(neighbour_overlap((ref_texts, ref_images), (cand_texts, cand_images), k)),
        k=k,
        excluded=excluded,
    )
    if captions is not None:
        before = run_retrieval(reference, captions, images_dir, split=split, **options).scores.as_dict()
        after = run_retrieval(candidate, captions, images_dir, split=split, **options).scores.as_dict()
        report.retrieval = {"reference": before, "candidate": after, "change": _recall_change(before, after)}
    report.seconds = time.monotonic() - started
    return report


def _recall_change(before: dict, after: dict) -> dict:
    change = {"mR": round(after["mR"] - before["mR"], 4)}
    for direction in ("image_to_text", "text_to_image"):
        change[direction] = {key: round(after[direction][key] - before[direction][key], 4) for key in before[direction]}
    return change

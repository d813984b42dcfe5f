"""The standard scores, as pure functions of score matrices (numpy only, no model).

Ties: every function here breaks ties AGAINST the correct item. A correct item's
rank is 1 + the number of wrong items that score the same or higher, so a model
that gives many items the same score cannot look better than it is, and the result
never depends on sort order or platform. (Ties are real: duplicate captions such as
"many buildings are in a dense residential area" occur under several images of
Sydney-, UCM- and RSICD-captions, and identical texts embed identically.) Correct items
never count against each other: with five captions per image, the best one counts.

Published evaluation code sorts with ``np.argsort``, whose order among equal scores is
arbitrary, so on such datasets published numbers lie between our pessimistic scores
and the optimistic ones (ties broken for the correct item); both are reported, with
the number of queries a tie touched.

Scores are percentages (0-100), as the literature reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

RECALL_KS = (1, 5, 10)
_QUERY_CHUNK = 1024  # rows at a time, so 10k x 50k score matrices never need a bool copy at once


TIES = ("pessimistic", "optimistic")


def best_relevant_rank(scores: np.ndarray, relevant: np.ndarray, ties: str = "pessimistic") -> np.ndarray:
    """1-based rank of the best-scoring relevant item of each row, ties counted against it.

    ``scores`` and ``relevant`` are (queries, items); every row needs at least one
    relevant item. rank = 1 + number of non-relevant items scoring >= the best relevant
    (``ties="optimistic"``: scoring strictly higher, the upper bound).
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    scores = np.asarray(scores)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be the same 2-D shape")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    if not relevant.any(axis=1).all():
        raise ValueError("every query needs at least one relevant item")
    best = np.where(relevant, scores, -np.inf).max(axis=1)
    ahead = scores >= best[:, None] if ties == "pessimistic" else scores > best[:, None]
    beaten_by = ahead & ~relevant
    return 1 + beaten_by.sum(axis=1)


def recall_at(ranks: np.ndarray, k: int) -> float:
    """Percentage of queries whose best relevant item is in the top ``k``."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        raise ValueError("no queries")
    return float(100.0 * np.mean(ranks <= k))


@dataclass(frozen=True)
class RetrievalScores:
    """Image->text and text->image R@K (percent) and mR, their mean, with ties counted against.

    ``optimistic`` holds the same scores with ties broken for the correct item, and
    ``tied_*_queries`` how many queries a tie at the correct item's score touched.
    """

    image_to_text: dict[int, float]
    text_to_image: dict[int, float]
    mean_recall: float
    images: int
    captions: int
    tied_image_queries: int = 0
    tied_caption_queries: int = 0
    optimistic: "RetrievalScores | None" = None

    def as_dict(self) -> dict:
        result = {
            "image_to_text": {f"R@{k}": value for k, value in self.image_to_text.items()},
            "text_to_image": {f"R@{k}": value for k, value in self.text_to_image.items()},
            "mR": self.mean_recall,
            "images": self.images,
            "captions": self.captions,
        }
        if self.optimistic is not None:
            result["tied_queries"] = {"image_to_text": self.tied_image_queries, "text_to_image": self.tied_caption_queries}
            result["optimistic"] = self.optimistic.as_dict()
        return result


def retrieval_ranks(
    similarity: np.ndarray, caption_image: np.ndarray, ties: str = "pessimistic"
) -> tuple[np.ndarray, np.ndarray]:
    """(image->text ranks, text->image ranks) for an (images, captions) similarity matrix.

    ``caption_image[c]`` is the row (image) that caption ``c`` describes. An image query
    is a hit at K when any of its captions is in the top K; a caption query when its
    one image is.
    """
    similarity = np.asarray(similarity)
    caption_image = np.asarray(caption_image, dtype=np.int64)
    n_images, n_captions = similarity.shape
    if caption_image.shape != (n_captions,):
        raise ValueError(f"{n_captions} captions in the matrix but {caption_image.shape[0]} caption owners")
    if n_captions and (caption_image.min() < 0 or caption_image.max() >= n_images):
        raise ValueError("a caption belongs to an image that is not in the matrix")
    image_rows = np.arange(n_images)
    i2t = _chunked_ranks(similarity, lambda rows: caption_image[None, :] == image_rows[rows, None], ties)
    t2i = _chunked_ranks(similarity.T, lambda rows: caption_image[rows, None] == image_rows[None, :], ties)
    return i2t, t2i


def _chunked_ranks(scores: np.ndarray, relevant_rows, ties: str) -> np.ndarray:
    """best_relevant_rank over ``_QUERY_CHUNK`` query rows at a time; relevant_rows(slice) -> bool rows."""
    ranks = [
        best_relevant_rank(scores[start : start + _QUERY_CHUNK], relevant_rows(slice(start, start + _QUERY_CHUNK)), ties)
        for start in range(0, scores.shape[0], _QUERY_CHUNK)
    ]
    return np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.int64)


def _recalls(i2t: np.ndarray, t2i: np.ndarray, ks) -> RetrievalScores:
    image_to_text = {k: recall_at(i2t, k) for k in ks}
    text_to_image = {k: recall_at(t2i, k) for k in ks}
    mean_recall = float(np.mean(list(image_to_text.values()) + list(text_to_image.values())))
    return RetrievalScores(image_to_text, text_to_image, mean_recall, len(i2t), len(t2i))


def retrieval_scores(similarity: np.ndarray, caption_image: np.ndarray, ks=RECALL_KS) -> RetrievalScores:
    """The RSICD/RSITMD/UCM/Sydney protocol: R@1, R@5, R@10 both ways and mR (ties against)."""
    i2t, t2i = retrieval_ranks(similarity, caption_image, "pessimistic")
    i2t_best, t2i_best = retrieval_ranks(similarity, caption_image, "optimistic")
    pessimistic = _recalls(i2t, t2i, ks)
    return replace(
        pessimistic,
        tied_image_queries=int((i2t != i2t_best).sum()),
        tied_caption_queries=int((t2i != t2i_best).sum()),
        optimistic=_recalls(i2t_best, t2i_best, ks),
    )


@dataclass(frozen=True)
class ZeroShotScores:
    top1: float
    top5: float | None  # None when there are 5 classes or fewer (it would be 100 by construction)
    per_class: list[float | None]  # top-1 accuracy of each class; None for a class with no images
    mean_per_class: float  # balanced accuracy: the mean over classes that have images
    confusion: np.ndarray  # (true, predicted) counts
    predictions: np.ndarray


def predict_against_ties(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The predicted class of each row: the top-scoring class, ties broken against the truth.

    When the true class shares the top score with others, the lowest-numbered other one
    is predicted, so a prediction is correct exactly when top-1 counts it correct.
    """
    scores = np.asarray(scores)
    labels = np.asarray(labels, dtype=np.int64)
    top = scores == scores.max(axis=1, keepdims=True)
    wrong_top = top.copy()
    wrong_top[np.arange(len(labels)), labels] = False
    return np.where(wrong_top.any(axis=1), wrong_top.argmax(axis=1), labels)


def zeroshot_scores(scores: np.ndarray, labels: np.ndarray) -> ZeroShotScores:
    """Top-1/top-5 accuracy, per-class accuracy and the confusion matrix of (images, classes) scores."""
    scores = np.asarray(scores)
    labels = np.asarray(labels, dtype=np.int64)
    n_images, n_classes = scores.shape
    if labels.shape != (n_images,):
        raise ValueError(f"{n_images} score rows but {labels.shape[0]} labels")
    relevant = np.zeros_like(scores, dtype=bool)
    relevant[np.arange(n_images), labels] = True
    ranks = best_relevant_rank(scores, relevant)
    predictions = predict_against_ties(scores, labels)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    per_class: list[float | None] = []
    for cls in range(n_classes):
        total = confusion[cls].sum()
        per_class.append(None if total == 0 else float(100.0 * confusion[cls, cls] / total))
    present = [value for value in per_class if value is not None]
    return ZeroShotScores(
        top1=recall_at(ranks, 1),
        top5=recall_at(ranks, 5) if n_classes > 5 else None,
        per_class=per_class,
        mean_per_class=float(np.mean(present)),
        confusion=confusion,
        predictions=predictions,
    )

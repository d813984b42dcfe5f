"""The scores against values worked out by hand on small fixed matrices."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import (
    best_relevant_rank,
    predict_against_ties,
    recall_at,
    retrieval_ranks,
    retrieval_scores,
    zeroshot_scores,
)

# Images A, B, C with two captions each: a1 a2 b1 b2 c1 c2.
OWNERS = np.array([0, 0, 1, 1, 2, 2])
SIMILARITY = np.array(
    [
        [0.9, 0.1, 0.8, 0.2, 0.3, 0.4],  # A: a1 (0.9) is top -> rank 1
        [0.7, 0.6, 0.5, 0.1, 0.9, 0.8],  # B: best own b1 (0.5); 0.7 0.6 0.9 0.8 ahead -> rank 5
        [0.2, 0.3, 0.4, 0.5, 0.1, 0.45],  # C: best own c2 (0.45); 0.5 ahead -> rank 2
    ]
)


def test_image_to_text_rank_is_that_of_the_best_of_several_captions():
    image_to_text, _ = retrieval_ranks(SIMILARITY, OWNERS)
    assert image_to_text.tolist() == [1, 5, 2]


def test_text_to_image_rank_counts_images_scoring_above_the_captions_own():
    _, text_to_image = retrieval_ranks(SIMILARITY, OWNERS)
    # columns: a1 [.9 .7 .2]->1, a2 [.1 .6 .3]->3, b1 [.8 .5 .4]->2, b2 [.2 .1 .5]->3, c1 [.3 .9 .1]->3, c2 [.4 .8 .45]->2
    assert text_to_image.tolist() == [1, 3, 2, 3, 3, 2]


def test_retrieval_scores_are_percent_recalls_and_their_mean():
    scores = retrieval_scores(SIMILARITY, OWNERS)
    assert scores.image_to_text == pytest.approx({1: 100 / 3, 5: 100.0, 10: 100.0})
    assert scores.text_to_image == pytest.approx({1: 100 / 6, 5: 100.0, 10: 100.0})
    assert scores.mean_recall == pytest.approx((100 / 3 + 100 + 100 + 100 / 6 + 100 + 100) / 6)  # 75.0
    assert (scores.images, scores.captions) == (3, 6)
    assert scores.tied_image_queries == 0 and scores.tied_caption_queries == 0


def test_recall_at_k_is_a_hit_when_the_rank_is_at_most_k():
    ranks = np.array([1, 5, 6, 10, 11])
    assert recall_at(ranks, 1) == pytest.approx(20.0)
    assert recall_at(ranks, 5) == pytest.approx(40.0)
    assert recall_at(ranks, 10) == pytest.approx(80.0)


def test_a_tie_with_wrong_items_counts_against_the_correct_one():
    scores = np.array([[0.5, 0.5, 0.5, 0.2]])
    relevant = np.array([[False, True, False, False]])
    assert best_relevant_rank(scores, relevant).tolist() == [3]
    assert best_relevant_rank(scores, relevant, ties="optimistic").tolist() == [1]


def test_correct_items_never_count_against_each_other():
    relevant = np.array([[True, True, False]])
    assert best_relevant_rank(np.array([[0.5, 0.5, 0.1]]), relevant).tolist() == [1]
    assert best_relevant_rank(np.array([[0.5, 0.5, 0.5]]), relevant).tolist() == [2]


def test_identical_captions_under_two_images_are_reported_as_ties_with_both_bounds():
    # Two images; caption 1 of A and caption 1 of B are the same text, so score the same.
    similarity = np.array([[0.9, 0.2, 0.9, 0.1], [0.3, 0.1, 0.3, 0.8]])
    scores = retrieval_scores(similarity, np.array([0, 0, 1, 1]))
    # A: own best 0.9 ties with B's copy -> rank 2 pessimistic, 1 optimistic. B: 0.8 top -> 1.
    assert scores.image_to_text[1] == pytest.approx(50.0)
    assert scores.optimistic.image_to_text[1] == pytest.approx(100.0)
    assert scores.tied_image_queries == 1
    # Captions: A's copy ranks A at 0.9 vs 0.3 -> 1; B's copy: B 0.3 < A 0.9 -> 2, no tie.
    assert scores.tied_caption_queries == 0
    assert scores.as_dict()["optimistic"]["mR"] >= scores.as_dict()["mR"]


def test_the_result_does_not_depend_on_the_order_of_items():
    order = np.array([5, 2, 0, 4, 1, 3])
    shuffled = retrieval_scores(SIMILARITY[:, order], OWNERS[order])
    assert shuffled.as_dict() == retrieval_scores(SIMILARITY, OWNERS).as_dict()


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        best_relevant_rank(np.array([[np.nan, 1.0]]), np.array([[True, False]]))
    with pytest.raises(ValueError, match="at least one relevant"):
        best_relevant_rank(np.array([[0.1, 1.0]]), np.array([[False, False]]))
    with pytest.raises(ValueError, match="caption owners"):
        retrieval_ranks(SIMILARITY, OWNERS[:5])
    with pytest.raises(ValueError, match="not in the matrix"):
        retrieval_ranks(SIMILARITY, np.array([0, 0, 1, 1, 2, 3]))


def test_zeroshot_accuracy_per_class_accuracy_and_confusion_by_hand():
    scores = np.array(
        [
            [0.9, 0.1, 0.0],  # true 0, predicted 0
            [0.2, 0.7, 0.1],  # true 0, predicted 1
            [0.1, 0.8, 0.3],  # true 1, predicted 1
            [0.4, 0.3, 0.6],  # true 2, predicted 2
        ]
    )
    result = zeroshot_scores(scores, np.array([0, 0, 1, 2]))
    assert result.top1 == pytest.approx(75.0)
    assert result.top5 is None  # three classes: top-5 would be 100 by construction
    assert result.per_class == pytest.approx([50.0, 100.0, 100.0])
    assert result.mean_per_class == pytest.approx(250 / 3)
    assert result.confusion.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_zeroshot_top5_counts_the_true_class_among_the_five_best():
    # Seven classes; the true class 6 is sixth best in row 0 and best in row 1.
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.4], [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9]])
    result = zeroshot_scores(scores, np.array([6, 6]))
    assert result.top1 == pytest.approx(50.0)
    assert result.top5 == pytest.approx(50.0)
    assert result.per_class[:6] == [None] * 6  # classes without images have no accuracy
    assert result.mean_per_class == pytest.approx(50.0)


def test_a_tied_top_class_is_predicted_against_the_truth_and_counted_wrong():
    scores = np.array([[0.5, 0.5, 0.1], [0.5, 0.5, 0.1], [0.2, 0.3, 0.3]])
    labels = np.array([1, 0, 2])
    assert predict_against_ties(scores, labels).tolist() == [0, 1, 1]
    result = zeroshot_scores(scores, labels)
    assert result.top1 == 0.0
    assert np.trace(result.confusion) == 0

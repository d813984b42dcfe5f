"""Pictures of results: a 2-D map of embeddings and a confusion matrix, as PNG files.

matplotlib runs on its Agg backend (no display needed). Projections are seeded, so the
same vectors give the same map.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

METHODS = ("tsne", "umap", "pca")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def project_2d(vectors: np.ndarray, *, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """(n, d) unit vectors -> (n, 2) map coordinates, by cosine distance.

    t-SNE needs perplexity < n, so small sets get a smaller perplexity; fewer than
    three points are simply laid out on a line (there is nothing to arrange).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 3:
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, dtype=np.float32)])
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
        tsne = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed)
        return tsne.fit_transform(vectors).astype(np.float32)
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ImportError("UMAP needs the umap-learn package: pip install umap-learn") from None
        reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=min(15, n - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)
    if method == "pca":
        return pca_2d(vectors)
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The two principal axes: milliseconds where t-SNE takes tens of seconds; clusters overlap more.

    Deterministic: each axis's sign is fixed so its largest loading is positive.
    """
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return (centred @ (axes * signs[:, None]).T).astype(np.float32)


def plot_embedding_map(
    coordinates: np.ndarray,
    labels: Sequence[str],
    out_path: str | Path,
    *,
    title: str = "",
    thumbnails: dict[int, Image.Image] | None = None,
    thumbnail_px: int = 40,
) -> Path:
    """Scatter the points coloured by label, with small pictures at the rows in ``thumbnails``."""
    plt = _pyplot()
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    out_path = Path(out_path)
    names = sorted(set(labels))
    colours = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    figure, axes = plt.subplots(figsize=(10, 8), dpi=110)
    colour_of = {name: colours(number % colours.N) for number, name in enumerate(names)}
    label_array = np.asarray(labels, dtype=object)
    for name in names:
        rows = label_array == name
        axes.scatter(coordinates[rows, 0], coordinates[rows, 1], s=12, color=colour_of[name], label=name)
    for row, picture in (thumbnails or {}).items():
        picture = picture.copy()
        picture.thumbnail((thumbnail_px, thumbnail_px))
        # The frame takes the point's colour, since the picture covers the point itself.
        box = AnnotationBbox(
            OffsetImage(np.asarray(picture)), tuple(coordinates[row]), frameon=True, pad=0.15,
            bboxprops={"edgecolor": colour_of[labels[row]], "linewidth": 2},
        )
        axes.add_artist(box)
    if len(names) <= 20:
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, markerscale=1.5, frameon=False)
    else:
        axes.text(1.01, 0.5, f"{len(names)} labels", transform=axes.transAxes, fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out_path)
    plt.close(figure)
    return out_path


def plot_confusion_matrix(confusion: np.ndarray, class_names: Sequence[str], out_path: str | Path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix (true class down, predicted across), counts in the cells when few classes."""
    plt = _pyplot()
    out_path = Path(out_path)
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True)
    fractions = np.divide(confusion, totals, out=np.zeros(confusion.shape, dtype=float), where=totals > 0)
    n = len(class_names)
    size = min(4 + 0.28 * n, 18)
    figure, axes = plt.subplots(figsize=(size, size), dpi=110)
    image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(n), labels=class_names, rotation=90, fontsize=7)
    axes.set_yticks(range(n), labels=class_names, fontsize=7)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if n <= 15:
        for (row, column), count in np.ndenumerate(confusion):
            if count:
                colour = "white" if fractions[row, column] > 0.5 else "black"
                axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out_path)
    plt.close(figure)
    return out_path

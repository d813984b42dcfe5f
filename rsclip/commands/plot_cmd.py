"""rsclip plot: a 2-D map (t-SNE or UMAP) of the indexed embeddings, as PNG and JSON."""

from __future__ import annotations

from pathlib import Path

from rsclip.commands.common import add_common, open_existing
from service.errors import UserError
from service.settings import Settings


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "plot",
        help="draw a 2-D map of the indexed images (t-SNE or UMAP)",
        description="Project the index's vectors to 2-D and draw them coloured by folder, source or a "
        "labels file, with pictures of a few points. Also writes the coordinates as JSON (same name, "
        ".json) for the web page. Needs no model: it reads the stored vectors.",
    )
    parser.add_argument("--out", required=True, metavar="PNG", help="picture to write, e.g. map.png")
    parser.add_argument("--json-out", metavar="FILE", help="where to write the coordinates (default: --out with .json)")
    parser.add_argument("--method", choices=("tsne", "umap"), default="tsne", help="projection (tsne; umap needs umap-learn)")
    parser.add_argument(
        "--color-by",
        choices=("folder", "source"),
        default="folder",
        help="folder: first folder inside the indexed source (the class in UCM/AID layouts); source: the indexed folder or archive",
    )
    parser.add_argument("--labels", metavar="CSV", help="colour by labels from a CSV of image,label (overrides --color-by)")
    parser.add_argument("--max-points", type=int, default=5000, metavar="N", help="plot a seeded random N of larger indexes (5000)")
    parser.add_argument("--thumbnails", type=int, default=12, metavar="N", help="pictures to draw on the map (12)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling and the projection (0)")
    add_common(parser, model_help="(unused: plot reads the stored vectors)")
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from evaluation.embedding_map import build_map, read_label_file, write_map

    if args.max_points < 2 or args.thumbnails < 0:
        raise UserError("--max-points must be at least 2 and --thumbnails at least 0")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UserError("--out must name a .png file")
    json_out = Path(args.json_out) if args.json_out else out.with_suffix(".json")
    label_file = read_label_file(args.labels) if args.labels else None
    with open_existing(settings) as store:
        try:
            embedding_map = build_map(
                store,
                method=args.method,
                seed=args.seed,
                max_points=args.max_points,
                color_by=args.color_by,
                label_file=label_file,
                thumbnails=args.thumbnails,
            )
        except ImportError as exc:
            raise UserError(str(exc)) from None
        write_map(store, embedding_map, out, json_out)
    info = embedding_map.info
    print(
        f"Mapped {info['plotted_points']} of {info['indexed_points']} images with {info['method']} "
        f"(seed {info['seed']}), {len(set(embedding_map.labels))} label(s): {out} and {json_out}"
    )
    for failure in embedding_map.thumbnail_failures:
        print(f"  no thumbnail: {failure}")
    return 0

"""rsclip export: the indexed vectors and their metadata as files, for other tools."""

from __future__ import annotations

import json
from pathlib import Path

from rsclip.commands.common import add_common, open_existing
from service.settings import Settings
from storage import StoreNotFoundError

EXPORT_NAME = "vectors"


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "export",
        help="write the index's vectors and metadata to files",
        description="Write DIR/vectors.npy (float32, one unit vector per row), DIR/vectors.csv (row, image id, "
        "source, member path, scene, sha256, size, format; for raster chips also window, bbox, date, sensor, "
        "CRS and resolution) and DIR/vectors.json (the model): the same format as "
        "`rsclip embed`, for other vector stores or notebooks.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_common(parser, model_help="(unused: the vectors are the index's own)")
    parser.set_defaults(handler=run)


def export_index(store, out_dir: str | Path) -> dict:
    from indexer.features import IMAGE_COLUMNS, FeatureWriter, image_row

    if store.model is None:
        raise StoreNotFoundError(f"The index at {store.data_dir} is empty: nothing to export.")
    with FeatureWriter(Path(out_dir) / f"{EXPORT_NAME}.npy", IMAGE_COLUMNS, store.model, kind="image") as writer:
        for ids, vectors in store.iter_vectors():
            records = store.get_many(ids.tolist())
            writer.write([image_row(records[int(image_id)], int(image_id)) for image_id in ids], vectors)
    return writer.summary()


def run(args, settings: Settings) -> int:
    with open_existing(settings) as store:
        summary = export_index(store, args.out)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"Exported {summary['rows']} vector(s) of {summary['dimension']} dimensions to {summary['vectors']}; "
            f"row details in {summary['sidecar']}."
        )
    return 0

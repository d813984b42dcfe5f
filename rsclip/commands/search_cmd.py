"""rsclip search: find images by text, by an example image, or like an indexed one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from indexer.sources import location
from rsclip.commands.common import add_common, load_model, open_existing
from rsclip.commands.raster_args import add_raster_arguments, raster_options
from service.errors import UserError
from service.geo_results import FLAG_NAMES, feature_collection, geo_json, item_name, make_filters
from service.settings import Settings
from storage import Hit, StoreNotFoundError


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "search",
        help="find images by text or by an example image",
        description="Rank indexed images by cosine similarity to a text query, a query image, or an indexed image.",
    )
    parser.add_argument("query", nargs="?", help="text query, e.g. 'a river winding through farmland'")
    parser.add_argument("--image", metavar="FILE", help="search with this image instead of text")
    parser.add_argument("--similar", type=int, metavar="ID", help="images most like indexed image ID")
    parser.add_argument("-k", type=int, default=10, help="number of results (10)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many results first (paging)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    places = parser.add_argument_group("place and time filters (results still fill -k when k items match)")
    places.add_argument(
        "--bbox",
        metavar="MINLON,MINLAT,MAXLON,MAXLAT",
        help="footprint intersects this box (degrees); write --bbox=-99.2,47,-99.1,47.1 when it starts with a minus",
    )
    places.add_argument("--date-from", metavar="YYYY-MM-DD", help="acquired on or after this day")
    places.add_argument("--date-to", metavar="YYYY-MM-DD", help="acquired on or before this day")
    places.add_argument("--source", metavar="PREFIX", help="folder, archive or path starts with PREFIX")
    places.add_argument("--geojson", action="store_true", help="print results as a GeoJSON FeatureCollection")
    add_raster_arguments(parser, query=True)
    add_common(parser)
    parser.set_defaults(handler=run)


def _hits_json(hits: list[Hit], offset: int) -> list[dict]:
    return [
        {
            "rank": offset + rank,
            "id": hit.image.id,
            "score": round(hit.score, 6),
            "source": hit.image.source,
            "member": hit.image.member,
            "width": hit.image.width,
            "height": hit.image.height,
            "format": hit.image.format,
            "sha256": hit.image.sha256,
            "geo": geo_json(hit.image.geo),
        }
        for rank, hit in enumerate(hits, start=1)
    ]


def _print_hits(hits: list[Hit], offset: int) -> None:
    if not hits:
        print("No results.")
        return
    print(f"{'rank':>4}  {'score':>7}  {'id':>7}  {'size':>9}  path")
    for rank, hit in enumerate(hits, start=offset + 1):
        image = hit.image
        size = f"{image.width}x{image.height}"
        where = location(image.source, item_name(image))
        if image.geo is not None:
            x, y, width, height = image.geo.window
            where += f"  [window {x},{y} {width}x{height}]"
            if image.geo.acquired:
                where += f"  {image.geo.acquired.isoformat()}"
        print(f"{rank:>4}  {hit.score:7.4f}  {image.id:>7}  {size:>9}  {where}")


def run(args, settings: Settings) -> int:
    from service.searcher import Searcher, UnknownImageError

    modes = [args.query is not None, args.image is not None, args.similar is not None]
    if sum(modes) != 1:
        raise UserError("give exactly one of: a text QUERY, --image FILE, --similar ID")
    if args.query is not None and not args.query.strip():
        raise UserError("the text query is empty")
    if not 1 <= args.k <= 1000 or args.offset < 0:
        raise UserError("-k must be between 1 and 1000 and --offset at least 0")
    try:
        filters = make_filters(args.bbox, args.date_from, args.date_to, args.source, names=FLAG_NAMES)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    options = raster_options(args)
    if args.image is not None and not Path(args.image).is_file():
        raise UserError(f"cannot read {args.image}: no such file")
    with open_existing(settings) as store:
        if store.model is None:
            raise StoreNotFoundError(f"The index at {settings.data_dir} is empty: run `rsclip index` first.")
        searcher = Searcher(store, load_model(settings.model or store.model.model_id, settings.runtime()))
        if searcher.encoder.spec.random_weights:
            print("note: this index uses a model with random weights; the ranking is meaningless", file=sys.stderr)
        if args.image is not None:
            query = _open_query_image(args.image, options, searcher.encoder.spec.image_size)
            print(f"query image: {query.reading}", file=sys.stderr)
            hits = searcher.search_image(query.image, args.k, args.offset, filters)
        elif args.similar is not None:
            try:
                hits = searcher.search_similar(args.similar, args.k, args.offset, filters)
            except UnknownImageError:
                raise UserError(f"no indexed image has id {args.similar}") from None
        else:
            hits = searcher.search_text(args.query, args.k, args.offset, filters)
    if args.geojson:
        print(json.dumps(feature_collection(hits, _hits_json(hits, args.offset)), indent=2))
    elif args.json:
        print(json.dumps(_hits_json(hits, args.offset), indent=2))
    else:
        _print_hits(hits, args.offset)
    return 0


def _open_query_image(path: str, options, model_size: int):
    from indexer import DecodeError, RasterError
    from indexer.imagery import input_file, query_image

    try:
        return query_image(input_file(Path(path).name, path=path), options, model_size=model_size)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (DecodeError, RasterError) as exc:
        raise UserError(f"{path}: {exc}") from None



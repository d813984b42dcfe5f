"""rsclip search: find images by text, by an example image, or like an indexed one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image

from indexer.sources import location
from rsclip.commands.common import add_common, load_model, open_existing
from rsclip.errors import UserError
from rsclip.settings import Settings
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
        print(f"{rank:>4}  {hit.score:7.4f}  {image.id:>7}  {size:>9}  {location(image.source, image.member)}")


def run(args, settings: Settings) -> int:
    from rsclip.searcher import Searcher, UnknownImageError

    modes = [args.query is not None, args.image is not None, args.similar is not None]
    if sum(modes) != 1:
        raise UserError("give exactly one of: a text QUERY, --image FILE, --similar ID")
    if args.query is not None and not args.query.strip():
        raise UserError("the text query is empty")
    if not 1 <= args.k <= 1000 or args.offset < 0:
        raise UserError("-k must be between 1 and 1000 and --offset at least 0")
    query_image = _open_query_image(args.image) if args.image else None
    with open_existing(settings) as store:
        if store.model is None:
            raise StoreNotFoundError(f"The index at {settings.data_dir} is empty: run `rsclip index` first.")
        searcher = Searcher(store, load_model(settings.model or store.model.model_id))
        if searcher.encoder.spec.random_weights:
            print("note: this index uses a model with random weights; the ranking is meaningless", file=sys.stderr)
        if query_image is not None:
            hits = searcher.search_image(query_image, args.k, args.offset)
        elif args.similar is not None:
            try:
                hits = searcher.search_similar(args.similar, args.k, args.offset)
            except UnknownImageError:
                raise UserError(f"no indexed image has id {args.similar}") from None
        else:
            hits = searcher.search_text(args.query, args.k, args.offset)
    if args.json:
        print(json.dumps(_hits_json(hits, args.offset), indent=2))
    else:
        _print_hits(hits, args.offset)
    return 0


def _open_query_image(path: str) -> Image.Image:
    from indexer import DecodeError, decode_image

    try:
        return decode_image(Path(path).read_bytes()).image
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except DecodeError as exc:
        raise UserError(f"{path}: {exc}") from None



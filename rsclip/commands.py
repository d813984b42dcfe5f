"""What each ``rsclip`` command does, on top of encoder/, storage/ and indexer/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image

from indexer.sources import location
from rsclip.errors import UserError
from rsclip.settings import Settings
from storage import Hit, Store, StoreNotFoundError, StoreStats


def _open_existing(settings: Settings) -> Store:
    if not (settings.data_dir.is_dir() or settings.database_url):
        raise StoreNotFoundError(
            f"No index at {settings.data_dir}: run `rsclip index PATH --data-dir {settings.data_dir}` first."
        )
    return Store(settings.data_dir, database_url=settings.database_url)


def _load_encoder(model: str):
    from encoder import load_encoder

    return load_encoder(model)


def cmd_index(args, settings: Settings) -> int:
    from indexer import IndexRun
    from rsclip.searcher import model_identity

    with Store(settings.data_dir, database_url=settings.database_url, writable=True) as store:
        recorded = store.model.model_id if store.model else None
        encoder = _load_encoder(settings.model or recorded or settings.model_for_new_index())
        store.bind_model(model_identity(encoder))
        run = IndexRun(store, encoder, batch_size=args.batch_size, workers=args.workers, progress=not args.quiet)
        report = run.run(args.paths)
        total = store.count()
    summary = {
        "seen": report.seen,
        "added": report.added,
        "already_indexed": report.already_indexed,
        "duplicates": report.duplicates,
        "failed": report.failed,
        "failures": [{"source": f.source, "member": f.member, "reason": f.reason} for f in report.failures],
        "seconds": round(report.seconds, 3),
        "images_per_second": round(report.images_per_second, 2),
        "index_items": total,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"Indexed {report.added} new image(s) in {report.seconds:.1f} s ({report.images_per_second:.1f} img/s); "
        f"{report.already_indexed} already indexed, {report.duplicates} duplicate(s), {report.failed} failed. "
        f"The index now holds {total} image(s)."
    )
    for failure in report.failures:
        print(f"  failed: {failure.name}: {failure.reason}")
    return 0


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


def cmd_search(args, settings: Settings) -> int:
    from rsclip.searcher import Searcher, UnknownImageError

    modes = [args.query is not None, args.image is not None, args.similar is not None]
    if sum(modes) != 1:
        raise UserError("give exactly one of: a text QUERY, --image FILE, --similar ID")
    if args.query is not None and not args.query.strip():
        raise UserError("the text query is empty")
    if not 1 <= args.k <= 1000 or args.offset < 0:
        raise UserError("-k must be between 1 and 1000 and --offset at least 0")
    query_image = _open_query_image(args.image) if args.image else None
    with _open_existing(settings) as store:
        if store.model is None:
            raise StoreNotFoundError(f"The index at {settings.data_dir} is empty: run `rsclip index` first.")
        searcher = Searcher(store, _load_encoder(settings.model or store.model.model_id))
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


def stats_json(stats: StoreStats) -> dict:
    return {
        "items": stats.items,
        "vectors": stats.vectors,
        "sources": stats.sources,
        "model": None if stats.model is None else stats.model.model_id,
        "model_fingerprint": None if stats.model is None else stats.model.fingerprint,
        "dimension": None if stats.model is None else stats.model.dimension,
        "index_type": stats.index_type,
        "index_version": stats.index_version,
        "disk_bytes": stats.disk_bytes,
        "database_url": stats.database_url,
    }


def cmd_stats(args, settings: Settings) -> int:
    with _open_existing(settings) as store:
        stats = store.stats()
    if args.json:
        print(json.dumps(stats_json(stats), indent=2))
        return 0
    model = stats.model
    print(f"data directory : {settings.data_dir.resolve()}")
    print(f"items          : {stats.items} ({stats.vectors} vectors)")
    print(f"model          : {model.model_id if model else '(none yet)'}")
    print(f"dimension      : {model.dimension if model else '-'}")
    print(f"index type     : {stats.index_type or '-'} (version {stats.index_version})")
    print(f"disk use       : {_human_bytes(stats.disk_bytes)}")
    print(f"sources        : {len(stats.sources)}")
    for source, count in sorted(stats.sources.items(), key=lambda item: -item[1])[:20]:
        print(f"  {count:>8}  {source}")
    return 0


def _human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


def cmd_demo(args, settings: Settings) -> int:
    from rsclip.demo import run_demo

    return run_demo(settings, images=args.images, explicit_data_dir=bool(args.data_dir) or None)

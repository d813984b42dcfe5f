"""rsclip stats: what a data directory holds."""

from __future__ import annotations

import json
from dataclasses import asdict

from rsclip.commands.common import add_common, open_existing
from rsclip.settings import Settings
from storage import IndexBuild, StoreStats


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "stats",
        help="what the index holds",
        description="Items, sources, model, dimension, index type and disk use of a data directory.",
    )
    parser.add_argument("--json", action="store_true", help="print as JSON")
    add_common(parser, model_help="(unused: stats reads the model from the index)")
    parser.set_defaults(handler=run)


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
        "index_build": None if stats.index_build is None else asdict(stats.index_build),
        "disk_bytes": stats.disk_bytes,
        "database_url": stats.database_url,
    }


def run(args, settings: Settings) -> int:
    with open_existing(settings) as store:
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
    if stats.index_build is not None:
        print(f"index quality  : {describe_build(stats.index_build)}")
    print(f"disk use       : {_human_bytes(stats.disk_bytes)}")
    print(f"sources        : {len(stats.sources)}")
    for source, count in sorted(stats.sources.items(), key=lambda item: -item[1])[:20]:
        print(f"  {count:>8}  {source}")
    return 0


def describe_build(build: IndexBuild) -> str:
    built = f"built at {build.vectors:,} vectors in {build.seconds:.1f} s"
    if build.exact:
        return f"exact search (recall 1.0), {built}"
    text = "text" if build.text_queries == "model" else "synthetic text-like"
    return (
        f"recall@10 vs exact {build.recall_at_10:.3f} for image queries, {build.text_recall_at_10:.3f} for "
        f"{text} queries, at nprobe {build.nprobe}; {built}"
    )


def _human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"



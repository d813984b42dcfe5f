"""rsclip stats: what a data directory holds."""

from __future__ import annotations

import json
from dataclasses import asdict

from rsclip.commands.common import add_common, open_existing
from service.settings import Settings
from storage import IMAGE_QUERIES, TEXT_QUERIES, IndexBuild, IndexRunRecord, RunFailure, StoreStats

FAILURES_SHOWN = 10  # in the text view; --json lists up to FAILURES_IN_JSON
FAILURES_IN_JSON = 1000


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "stats",
        help="what the index holds",
        description="Items, sources, model, dimension, index type and disk use of a data directory, "
        "and what the last index run could not index, by name, reason and kind.",
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
        "memory_budget": stats.memory_budget,
        "index_memory": stats.index_memory,
        "disk_bytes": stats.disk_bytes,
        "database_url": stats.database_url,
    }


def last_run_json(run: IndexRunRecord | None, failures: list[RunFailure]) -> dict | None:
    if run is None:
        return None
    return {
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "inputs": list(run.inputs),
        "seen": run.seen,
        "added": run.added,
        "already_indexed": run.already_indexed,
        "duplicates": run.duplicates,
        "failed": run.failed,
        "failures_by_kind": run.failures_by_kind,
        "failures": [{"source": f.source, "member": f.member, "kind": f.kind, "reason": f.reason} for f in failures],
    }


def run(args, settings: Settings) -> int:
    with open_existing(settings) as store:
        stats = store.stats()
        last = store.runs.last()
        failures = store.runs.failures(last.id, FAILURES_IN_JSON if args.json else FAILURES_SHOWN) if last else []
    if args.json:
        print(json.dumps({**stats_json(stats), "last_index_run": last_run_json(last, failures)}, indent=2))
        return 0
    model = stats.model
    print(f"data directory : {settings.data_dir.resolve()}")
    print(f"items          : {stats.items} ({stats.vectors} vectors)")
    print(f"model          : {model.model_id if model else '(none yet)'}")
    print(f"dimension      : {model.dimension if model else '-'}")
    print(f"index type     : {stats.index_type or '-'} (version {stats.index_version})")
    if stats.index_build is not None:
        print(f"index quality  : {describe_build(stats.index_build)}")
    print(f"index memory   : {_human_bytes(stats.index_memory)} of a {_human_bytes(stats.memory_budget)} budget "
          "(--memory-budget; default an eighth of RAM)")
    print(f"disk use       : {_human_bytes(stats.disk_bytes)}")
    print(f"sources        : {len(stats.sources)}")
    for source, count in sorted(stats.sources.items(), key=lambda item: -item[1])[:20]:
        print(f"  {count:>8}  {source}")
    _print_last_run(last, failures)
    return 0


def describe_build(build: IndexBuild) -> str:
    built = f"built at {build.vectors:,} vectors in {build.seconds:.1f} s"
    if build.exact:
        return f"exact search (recall 1.0), {built}"
    text = "text" if build.text_queries == "model" else "synthetic text-like"
    image_depth, text_depth = build.depth(IMAGE_QUERIES), build.depth(TEXT_QUERIES)

    def at(depth) -> str:
        taken = f", the best {depth.rerank} of {depth.candidates} candidates" if depth.candidates else f", {depth.rerank}"
        rerank = f"{taken} re-ranked exactly" if depth.rerank else ""
        return f"nprobe {depth.nprobe}{rerank}"

    cells = f"; {build.text_cells} cells trained for what text queries lean towards" if build.text_cells else ""
    return (
        f"recall@10 vs exact {build.recall_at_10:.3f} for image queries ({at(image_depth)}), "
        f"{build.text_recall_at_10:.3f} for {text} queries ({at(text_depth)}); {built}{cells}"
    )


def _print_last_run(run: IndexRunRecord | None, failures: list[RunFailure]) -> None:
    from indexer.names import location
    from indexer.report import kinds_text

    if run is None:
        return
    print(
        f"last index run : {run.finished_at:%Y-%m-%d %H:%M:%S} UTC: {run.seen} seen, {run.added} added, "
        f"{run.already_indexed} already indexed, {run.duplicates} duplicate(s), {run.failed} failed"
    )
    if run.failed:
        print(f"failed by kind : {kinds_text(run.failures_by_kind)}")
    for failure in failures:
        print(f"  failed: {location(failure.source, failure.member)}: {failure.reason}")
    if run.failed > len(failures):
        print(f"  ... and {run.failed - len(failures)} more (rsclip stats --json lists up to {FAILURES_IN_JSON})")


def _human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"



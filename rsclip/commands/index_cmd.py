"""rsclip index: add images from folders and archives to the index."""

from __future__ import annotations

import json

from rsclip.commands.common import MODEL_FOR_INDEX, add_common, add_pipeline_flags, load_model
from rsclip.commands.limit_flags import EXIT_INPUTS_FAILED, add_limit_flags, limits_from
from rsclip.commands.ray_args import add_ray_arguments, check_ray, ray_executor
from rsclip.commands.raster_args import add_raster_arguments, raster_options, refuse_unmatched_stack
from service.errors import UserError
from service.settings import Settings
from storage import Store, StoreWriteError


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "index",
        help="add images from folders and archives to the index",
        description="Decode every image in PATHs (folders recursively, .zip, .tar, .tar.gz/.tgz, single "
        "files), embed it and add it to the index. Identical content is stored once; files already "
        "indexed with the same size and mtime are skipped without reading; changed files are embedded "
        "again (the old vector replaced); a file that cannot be decoded is reported and skipped. "
        "Georeferenced, multi-band or non-8-bit rasters (GeoTIFF, JPEG 2000) are cut into chips, each "
        "its own item.",
        epilog="Nothing is extracted or written outside the data directory. Links, devices and archives "
        "inside archives are reported, never followed or opened. Exit status: 0 when the run completed "
        f"(even with failed inputs), {EXIT_INPUTS_FAILED} with --strict when any input failed, 1 when the "
        "run could not complete (e.g. the data directory is full or read-only; what was written stays "
        "searchable).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folder, archive or image file")
    add_common(parser, model_help=MODEL_FOR_INDEX)
    add_pipeline_flags(parser)
    add_raster_arguments(parser)
    add_limit_flags(parser)
    parser.add_argument(
        "--prune", action="store_true", help="also forget indexed files under PATHs that no longer exist"
    )
    parser.add_argument(
        "--rehash", action="store_true", help="hash every file even if its size and mtime are unchanged"
    )
    add_ray_arguments(parser)
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from indexer import IndexRun
    from indexer.work import PrepareOptions
    from indexer.report import failure_json, failures_by_kind, kinds_text
    from service.searcher import model_identity

    raster = raster_options(args)
    refuse_unmatched_stack(args.paths, raster, limits_from(args))
    check_ray(args)
    with Store(
        settings.data_dir,
        database_url=settings.database_url,
        writable=True,
        index_policy=settings.index_policy(),
        progress=not args.quiet,
    ) as store:
        recorded = store.model.model_id if store.model else None
        runtime = settings.runtime()
        encoder = load_model(settings.model or recorded or settings.model_for_new_index(), runtime)
        store.bind_model(model_identity(encoder))
        limits = limits_from(args)
        prepare = PrepareOptions(max_pixels=args.max_pixels, max_nodata=raster.max_nodata, limits=limits)
        executor = ray_executor(args, settings, encoder, inputs=args.paths, prepare_options=prepare)
        run = IndexRun(
            store, encoder, batch_size=executor.batch_size if executor else runtime.batch_size,
            workers=args.workers, progress=not args.quiet, raster=raster, max_pixels=args.max_pixels,
            limits=limits, prune=args.prune, rehash=args.rehash, executor=executor,
        )
        try:
            report = run.run(args.paths)
        except StoreWriteError as exc:
            raise UserError(f"{exc} ({run.report.added} new image(s) were stored before it stopped.)") from exc
        total = store.count()
    exit_status = EXIT_INPUTS_FAILED if args.strict and report.failed else 0
    summary = {
        "seen": report.seen,
        "added": report.added,
        "unchanged": report.unchanged,
        "replaced": report.replaced,
        "already_indexed": report.already_indexed,
        "duplicates": report.duplicates,
        "pruned": report.pruned,
        "pruned_images": report.pruned_images,
        "scenes": report.scenes,
        "mostly_nodata": report.mostly_nodata,
        "failed": report.failed,
        "failures_by_kind": failures_by_kind(report.failures),
        "failures": [failure_json(f) for f in report.failures],
        "seconds": round(report.seconds, 3),
        "images_per_second": round(report.images_per_second, 2),
        "index_items": total,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return exit_status
    print(
        f"Indexed {report.added} new image(s) in {report.seconds:.1f} s ({report.images_per_second:.1f} img/s); "
        f"{report.unchanged} unchanged, {report.replaced} replaced, {report.already_indexed} already indexed, "
        f"{report.duplicates} duplicate(s), {report.failed} failed"
        + (f" ({kinds_text(summary['failures_by_kind'])})" if report.failed else "")
        + (f", {report.pruned} gone file(s) pruned" if args.prune else "")
        + f". The index now holds {total} image(s)."
    )
    if report.scenes:
        print(
            f"{report.scenes} raster scene(s) cut into chips; "
            f"{report.mostly_nodata} mostly-nodata chip(s) skipped."
        )
    for failure in report.failures:
        print(f"  failed: {failure.name}: {failure.reason}")
    return exit_status



"""rsclip reindex: embed every indexed image again (e.g. with a new model), then switch to it."""

from __future__ import annotations

import json

from rsclip.commands.common import add_common, add_pipeline_flags, load_model, open_writable
from rsclip.commands.ray_args import add_ray_arguments, check_ray, ray_executor
from service.errors import UserError
from service.settings import Settings
from storage import StoreNotFoundError


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "reindex",
        help="embed every image again, e.g. with a new model, and switch to the result",
        description="Read every indexed image again from its folder or archive, embed it with --model "
        "(default: the index's model; a different dimension is fine) into a new index generation, then "
        "switch to it in one step. Until the switch, searches use the old generation. An interrupted or "
        "failed reindex leaves the old generation in service; running it again resumes it. The old "
        "generation is deleted after the switch unless --keep.",
    )
    add_common(parser, model_help="model for the new generation, hub id or checkpoint folder")
    parser.add_argument("--keep", action="store_true", help="keep the old generation after the switch")
    add_pipeline_flags(parser)
    add_ray_arguments(parser)
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from indexer.reindex import reindex
    from service.searcher import model_identity

    check_ray(args)
    with open_writable(settings, progress=not args.quiet) as store:
        if store.model is None:
            raise StoreNotFoundError(f"The index at {settings.data_dir} is empty: nothing to reindex.")
        old = store.model
        runtime = settings.runtime()
        encoder = load_model(settings.model or old.model_id, runtime)
        executor = ray_executor(args, settings, encoder, inputs=store.sources() if args.ray else ())
        report = reindex(
            store, encoder, model_identity(encoder), keep=args.keep, executor=executor,
            batch_size=executor.batch_size if executor else runtime.batch_size, workers=args.workers,
            progress=not args.quiet,
        )
    failures = [{"source": f.source, "member": f.member, "reason": f.reason} for f in report.failures]
    if args.json:
        print(json.dumps({
            "generation": report.generation_id, "model": report.model.model_id, "dimension": report.model.dimension,
            "previous_model": old.model_id, "resumed_with": report.resumed_with, "embedded": report.embedded,
            "total": report.total, "switched": report.switched, "kept_old": args.keep and report.switched,
            "failures": failures, "seconds": round(report.seconds, 3),
        }, indent=2))
    else:
        resumed = f" (resumed: {report.resumed_with} already done)" if report.resumed_with else ""
        print(f"Embedded {report.embedded} of {report.total} image(s) with {report.model.model_id} "
              f"({report.model.dimension}-d) into generation {report.generation_id}{resumed} in {report.seconds:.1f} s.")
        for failure in report.failures:
            print(f"  failed: {failure.name}: {failure.reason}")
    if not report.switched:
        raise UserError(
            f"{len(report.failures)} image(s) could not be read again, so the index still serves "
            f"{old.model_id}. Restore those files, or run `rsclip prune` (gone files) or `rsclip index PATH` "
            f"(changed files), then run `rsclip reindex` again: it resumes where it stopped."
        )
    if not args.json:
        print(f"Switched to generation {report.generation_id}; the previous one was "
              f"{'kept' if args.keep else 'deleted'}.")
    return 0

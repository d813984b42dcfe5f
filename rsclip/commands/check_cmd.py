"""rsclip check: verify that the catalog and the FAISS file agree; --repair fixes what it can."""

from __future__ import annotations

import json

from rsclip.commands.common import add_common, load_model, open_writable
from service.settings import Settings

EXIT_PROBLEMS = 2


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "check",
        help="verify that the catalog and the vector index agree",
        description="Compare the SQLite catalog with the FAISS file on disk: same ids, same count, same "
        "vectors, same dimension, model recorded; every image has a vector and a file. Reports every "
        "disagreement and exits with status 2 if there is any, except a FAISS file that only lags the catalog "
        "(an index run stopped between two saves): every open, a running server's too, re-adds those vectors. --repair drops bad vectors and leftovers, "
        "re-embeds images without a vector from their files, and rebuilds the FAISS file from the catalog.",
    )
    parser.add_argument("--repair", action="store_true", help="fix what can be fixed, then check again")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_common(parser, model_help="model to re-embed with on --repair (default: the index's model)")
    parser.set_defaults(handler=run)


def _report_json(report) -> dict:
    generation = report.generation
    return {
        "ok": report.ok,
        "images": report.images,
        "catalog_vectors": report.catalog_vectors,
        "faiss_vectors": report.faiss_vectors,
        "generation": None if generation is None else generation.id,
        "model": None if generation is None else generation.model.model_id,
        "dimension": None if generation is None else generation.model.dimension,
        "problems": [{**problem.__dict__, "reconciled_on_open": problem.reconciled_on_open} for problem in report.problems],
        "notes": report.notes,
    }


def _print_report(report) -> None:
    generation = report.generation
    model = f"{generation.model.model_id} ({generation.model.dimension}-d)" if generation else "(none)"
    print(f"generation {generation.id if generation else '-'}: {model}; {report.images} image(s), "
          f"{report.catalog_vectors} vector(s) in the catalog, {report.faiss_vectors} in FAISS")
    for problem in report.problems:
        fix = f"  [--repair: {problem.repair}]" if problem.repair else "  [cannot be repaired automatically]"
        if problem.reconciled_on_open:
            print(f"  BEHIND {problem.code}: {problem.message}; every open re-adds these from the catalog "
                  f"(a running server within seconds){fix}")
        else:
            print(f"  PROBLEM {problem.code}: {problem.message}{fix}")
    for note in report.notes:
        print(f"  note: {note}")
    real = [problem for problem in report.problems if not problem.reconciled_on_open]
    if real:
        print(f"{len(real)} problem(s) found.")
    elif report.problems:
        print("OK: the FAISS file lags the catalog (an index run stopped between two saves); nothing is lost.")
    else:
        print("OK: catalog and vector index agree.")


def run(args, settings: Settings) -> int:
    from storage.check import check_store, repair_store

    with open_writable(settings, recover=False) as store:
        report = check_store(store)
        if args.repair and report.problems:
            actions = repair_store(store, report, reembed=lambda target: _reembed(store, target, settings, args))
            if not args.json:
                _print_report(report)
                for action in actions:
                    print(f"repair: {action}")
            report = check_store(store)
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report)
    return 0 if report.ok else EXIT_PROBLEMS


def _reembed(store, target, settings: Settings, args) -> list[str]:
    from indexer.reindex import embed_pending
    from service.searcher import model_identity
    from storage import ModelMismatchError

    encoder = load_model(settings.model or target.model.model_id, settings.runtime())
    if model_identity(encoder).fingerprint != target.model.fingerprint:
        raise ModelMismatchError(
            f"--model {settings.model} is not the model of the index ({target.model.model_id}); "
            f"repair must embed with the same model (use `rsclip reindex` to change models)."
        )
    report = embed_pending(store, target, encoder, progress=False)
    return [f"{failure.name}: {failure.reason}" for failure in report.failures]

"""rsclip eval: score a model on labelled data (image-text retrieval, zero-shot classification)."""

from __future__ import annotations

import json
from pathlib import Path

from encoder.runtime import PRECISIONS
from evaluation.fidelity import MIN_COSINE, MIN_OVERLAP, NEIGHBOURS
from rsclip.commands.common import load_model
from service.errors import UserError
from service.settings import ENV_MODEL, Settings

SHOWN_EXCLUDED = 10


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "eval",
        help="score a model on your labelled data (retrieval R@K, zero-shot accuracy)",
        description="Score a model the way the remote-sensing literature does. Ties count against the "
        "correct item. Scores are percentages.",
    )
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK")

    retrieval = tasks.add_parser(
        "retrieval",
        help="image-text retrieval: R@1/5/10 both ways and mR (RSICD, RSITMD, UCM, Sydney protocol)",
        description="Image->text and text->image R@1, R@5, R@10 and mR on a captioned dataset. An image "
        "query is a hit when any of its captions is in the top K. Images listed but missing from "
        "--images are reported and left out.",
    )
    retrieval.add_argument("--captions", required=True, metavar="FILE", help="Karpathy-style .json, or a *_caps.txt with *_filename.txt beside it")
    retrieval.add_argument("--images", required=True, metavar="DIR", help="folder holding the image files")
    retrieval.add_argument("--split", default="test", help="split to score: test (default), val, train, or 'all'")
    _add_run_options(retrieval)
    retrieval.set_defaults(handler=run_retrieval)

    zeroshot = tasks.add_parser(
        "zeroshot",
        help="zero-shot classification of class-per-folder data (UCM, AID, RESISC45, EuroSAT layout)",
        description="Classify every image under DIR by its most similar class prompt; each sub-folder of "
        "DIR is a class. Reports top-1/top-5 accuracy, per-class accuracy and a confusion matrix.",
    )
    zeroshot.add_argument("root", metavar="DIR", help="folder with one sub-folder of images per class")
    zeroshot.add_argument(
        "--template",
        action="append",
        metavar="TEXT",
        help="prompt with {} for the class, e.g. 'a satellite photo of {}.'; repeat to average several "
        "(default: three remote-sensing templates)",
    )
    zeroshot.add_argument("--class-names", metavar="FILE", help="JSON object: folder name -> words to put in the prompt")
    zeroshot.add_argument("--confusion", metavar="PNG", help="write the confusion matrix picture here")
    _add_run_options(zeroshot)
    zeroshot.set_defaults(handler=run_zeroshot)


    fidelity = tasks.add_parser(
        "fidelity",
        help="how far a precision or runtime (int8, bf16) moves the vectors from fp32, on your images",
        description="Embed every picture under DIR with fp32 (the reference) and with the precision asked "
        "for, and compare: each image's cosine to its fp32 vector, and the share of top-K neighbours kept "
        "for image queries (each image against the others) and text queries (typical remote-sensing "
        "requests, or --queries). With --captions, R@K both ways for both and the change. A precision "
        f"clears the bar for a default at worst-image cosine >= {MIN_COSINE} and mean overlap >= {MIN_OVERLAP}.",
    )
    fidelity.add_argument("images", metavar="DIR", help="folder of pictures (searched recursively)")
    fidelity.add_argument("--precision", choices=PRECISIONS, default="int8", help="precision to judge against fp32 (int8)")
    fidelity.add_argument("--device", metavar="DEVICE", help="device of the judged precision (default: this machine's best)")
    fidelity.add_argument("--captions", metavar="FILE", help="caption file (as for `eval retrieval`) of images in DIR")
    fidelity.add_argument("--split", default="test", help="split of --captions to score (test)")
    fidelity.add_argument("--queries", metavar="FILE", help="text queries, one a line (default: 24 typical ones)")
    fidelity.add_argument("--limit", type=int, metavar="N", help="compare at most N pictures (in name order)")
    fidelity.add_argument("--k", type=int, default=NEIGHBOURS, metavar="K", help=f"neighbours compared ({NEIGHBOURS})")
    _add_run_options(fidelity, batch_size=8)
    fidelity.set_defaults(handler=run_fidelity)


def _add_run_options(parser, batch_size: int = 32) -> None:
    parser.add_argument("--model", metavar="ID_OR_FOLDER", help=f"model to score (env ${ENV_MODEL}; default lcybuaa/Git-RSCLIP)")
    parser.add_argument("--batch-size", type=int, default=batch_size, metavar="N", help=f"images per model call ({batch_size})")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="decode threads (2)")
    parser.add_argument("--json", action="store_true", help="print the full result (with what was excluded) as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(data_dir=None, database_url=None)


def _check_run_options(args) -> None:
    if args.batch_size < 1 or args.workers < 1:
        raise UserError("--batch-size and --workers must be at least 1")


def run_retrieval(args, settings: Settings) -> int:
    from evaluation.datasets import read_caption_file
    from evaluation.runners import run_retrieval as score

    _check_run_options(args)
    captions = read_caption_file(args.captions)
    encoder = load_model(settings.model_for_new_index(), settings.runtime())
    report = score(
        encoder, captions, args.images, split=args.split, batch_size=args.batch_size, workers=args.workers,
        progress=not (args.quiet or args.json),
    )
    result = report.as_dict()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    dataset, scores = result["dataset"], result["scores"]
    print(f"Image-text retrieval: {dataset['name']} ({Path(dataset['caption_file']).name}), split {dataset['split']!r}")
    _print_model(result["model"])
    print(
        f"images : {dataset['evaluated_images']} scored of {dataset['listed_in_split']} listed "
        f"({dataset['missing']} missing, {dataset['unreadable']} unreadable); captions: {dataset['evaluated_captions']}"
    )
    print()
    print(f"{'':<13}{'R@1':>8}{'R@5':>8}{'R@10':>8}")
    for label, key in (("image->text", "image_to_text"), ("text->image", "text_to_image")):
        row = scores[key]
        print(f"{label:<13}{row['R@1']:>8.2f}{row['R@5']:>8.2f}{row['R@10']:>8.2f}")
    print(f"{'mR':<13}{scores['mR']:>8.2f}")
    print()
    _print_excluded(report.excluded)
    tied = scores["tied_queries"]
    if tied["image_to_text"] or tied["text_to_image"]:
        print(
            f"ties: equal scores touched {tied['image_to_text']} image and {tied['text_to_image']} caption "
            f"queries (repeated captions embed identically); counted against the correct item as above, "
            f"counted for it mR would be {scores['optimistic']['mR']:.2f}"
        )
    else:
        print("ties: none touched a correct item")
    print(f"took {report.seconds:.1f} s")
    return 0


def run_zeroshot(args, settings: Settings) -> int:
    from evaluation.datasets import read_class_folders
    from evaluation.runners import DEFAULT_TEMPLATES
    from evaluation.runners import run_zeroshot as score

    _check_run_options(args)
    folders = read_class_folders(args.root)
    phrases = _read_class_names(args.class_names) if args.class_names else None
    encoder = load_model(settings.model_for_new_index(), settings.runtime())
    report = score(
        encoder, folders, templates=args.template or DEFAULT_TEMPLATES, phrases=phrases,
        batch_size=args.batch_size, workers=args.workers, progress=not (args.quiet or args.json),
    )
    if args.confusion:
        from evaluation.plotting import plot_confusion_matrix

        title = f"zero-shot, {Path(report.model['id']).name}: top-1 {report.scores.top1:.1f}%"
        plot_confusion_matrix(report.scores.confusion, report.classes, args.confusion, title=title)
    result = report.as_dict()
    if args.confusion:
        result["confusion"]["image"] = str(Path(args.confusion).resolve())
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Zero-shot classification: {result['dataset']['root']} ({len(report.classes)} classes)")
    _print_model(result["model"])
    print(f"templates: {' | '.join(report.templates)}")
    top5 = "-" if result["top5"] is None else f"{result['top5']:.2f}"
    print(f"images : {result['dataset']['evaluated_images']} scored, {result['dataset']['unreadable']} unreadable")
    print(f"top-1 {result['top1']:.2f}   top-5 {top5}   mean per class {result['mean_per_class']:.2f}\n")
    print(f"{'class':<28}{'images':>7}{'top-1':>8}")
    for row in result["per_class"]:
        accuracy = "-" if row["top1"] is None else f"{row['top1']:.2f}"
        print(f"{row['class'][:27]:<28}{row['images']:>7}{accuracy:>8}")
    print()
    _print_excluded(report.excluded)
    if args.confusion:
        print(f"confusion matrix: {args.confusion}")
    print(f"ties count against the correct class; took {report.seconds:.1f} s")
    return 0


def run_fidelity(args, settings: Settings) -> int:
    from encoder.runtime import Runtime, choose_runtime
    from evaluation.datasets import read_caption_file
    from evaluation.fidelity import run_fidelity as compare
    from indexer.probes import PROBE_QUERIES

    _check_run_options(args)
    if args.k < 1 or (args.limit is not None and args.limit < 2):
        raise UserError("--k must be at least 1 and --limit at least 2")
    captions = read_caption_file(args.captions) if args.captions else None
    queries = _read_lines(args.queries) if args.queries else list(PROBE_QUERIES)
    model = settings.model_for_new_index()
    try:
        judged = choose_runtime(args.device, args.precision, args.batch_size, compile=False)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    reference = load_model(model, Runtime(precision="fp32", batch_size=args.batch_size, threads=judged.threads))
    candidate = load_model(model, judged)
    report = compare(
        reference, candidate, args.images, texts=queries, captions=captions, split=args.split, limit=args.limit,
        k=args.k, batch_size=args.batch_size, workers=args.workers, progress=not (args.quiet or args.json),
    )
    result = report.as_dict()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print_model(result["reference"])
    print(f"judged : {judged.describe()} against cpu fp32, on {report.images} picture(s) under {args.images}")
    for label, key in (("image vectors", "image_cosine"), ("text vectors", "text_cosine")):
        c = result[key]
        if c["count"]:
            print(f"{label:<14}: cosine to fp32 min {c['min']:.5f}  p1 {c['p1']:.5f}  median {c['median']:.5f} ({c['count']})")
    for label, key in (("image queries", "image_query_overlap"), ("text queries", "text_query_overlap")):
        o = result[key]
        if o["queries"]:
            print(f"{label:<14}: top-{report.k} neighbours kept: mean {o['mean']:.3f}, worst query {o['min']:.3f} ({o['queries']})")
    if report.retrieval:
        change = report.retrieval["change"]
        print(f"retrieval     : mR {report.retrieval['reference']['mR']:.2f} -> {report.retrieval['candidate']['mR']:.2f} "
              f"({change['mR']:+.2f}); R@1/5/10 change i->t {_changes(change['image_to_text'])}, t->i {_changes(change['text_to_image'])}")
    verdict = "clears" if report.passes else "does NOT clear"
    print(f"{verdict} the bar for a default (worst image cosine >= {MIN_COSINE}, mean overlap >= {MIN_OVERLAP})")
    _print_excluded(report.excluded)
    print(f"took {report.seconds:.1f} s")
    return 0


def _changes(row: dict) -> str:
    return "/".join(f"{value:+.2f}" for value in row.values())


def _read_lines(path: str) -> list[str]:
    try:
        lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read queries from {path}: {exc}") from None
    queries = [line.strip() for line in lines if line.strip()]
    if not queries:
        raise UserError(f"{path} holds no queries (one a line)")
    return queries


def _print_model(model: dict) -> None:
    print(f"model  : {model['id']} ({model['family']}, {model['dimension']}-d, weights {model['fingerprint']})")


def _print_excluded(excluded) -> None:
    if not excluded:
        return
    print(f"left out ({len(excluded)}):")
    for item in excluded[:SHOWN_EXCLUDED]:
        print(f"  {item.name}: {item.reason}")
    if len(excluded) > SHOWN_EXCLUDED:
        print(f"  ... and {len(excluded) - SHOWN_EXCLUDED} more (--json lists all)")


def _read_class_names(path: str) -> dict[str, str]:
    try:
        names = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read class names from {path}: {exc}") from None
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise UserError(f"{path}: expected a JSON object mapping folder names to words")
    return names

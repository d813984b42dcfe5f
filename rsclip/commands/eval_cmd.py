"""rsclip eval: score a model on labelled data (image-text retrieval, zero-shot classification)."""

from __future__ import annotations

import json
from pathlib import Path

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


def _add_run_options(parser) -> None:
    parser.add_argument("--model", metavar="ID_OR_FOLDER", help=f"model to score (env ${ENV_MODEL}; default lcybuaa/Git-RSCLIP)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="images per model call (32)")
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

"""rsclip embed: vectors for images or lines of text, written to files, without indexing."""

from __future__ import annotations

import json
from pathlib import Path

from rsclip.commands.common import add_common, add_pipeline_flags, load_model
from rsclip.commands.raster_args import add_raster_arguments, raster_options, refuse_unmatched_stack
from service.errors import UserError
from service.settings import Settings

TEXT_BATCH = 64


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "embed",
        help="write image or text vectors to a .npy file, without indexing",
        description="Embed every image in PATHs (folders, .zip, .tar, .tar.gz, files), or every non-empty line "
        "of --text FILE, and write OUT.npy (float32, one unit vector per row), OUT.csv (what each row is: "
        "source, member path, sha256, or the line of text) and OUT.json (the model, its precision and "
        "device). Identical image files get one row. GeoTIFF scenes give one row per chip, cut and "
        "stretched as `rsclip index` does with the same flags.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="folder, archive or image file")
    parser.add_argument("--text", metavar="FILE", help="embed each non-empty line of FILE instead of images")
    parser.add_argument("--out", required=True, metavar="FILE.npy", help="where to write the vectors")
    add_common(parser, model_help="Hugging Face id or local checkpoint folder (default lcybuaa/Git-RSCLIP)")
    add_pipeline_flags(parser)
    add_raster_arguments(parser)
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    if bool(args.paths) == bool(args.text):
        raise UserError("give image PATHs or --text FILE (one of the two)")
    lines = _read_lines(args.text) if args.text else None
    raster = raster_options(args)
    refuse_unmatched_stack(args.paths, raster)
    runtime = settings.runtime()
    encoder = load_model(settings.model_for_new_index(), runtime)
    if lines is not None:
        summary = embed_texts(encoder, lines, args.out)
    else:
        summary = embed_images(
            encoder,
            args.paths,
            args.out,
            batch_size=runtime.batch_size,
            workers=args.workers,
            progress=not args.quiet,
            raster=raster,
        )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"Wrote {summary['rows']} vector(s) of {summary['dimension']} dimensions ({summary['precision']} on "
        f"{summary['device']}) to {summary['vectors']}; row details in {summary['sidecar']}."
    )
    if summary.get("duplicates"):
        print(f"  {summary['duplicates']} duplicate file(s) left out (same content as an earlier row)")
    for failure in summary.get("failures", []):
        print(f"  failed: {failure['name']}: {failure['reason']}")
    return 0


def _read_lines(path: str) -> list[tuple[int, str]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise UserError(f"{path} has no non-empty lines")
    return lines


def made_with(encoder) -> dict:
    """How these vectors were made: bf16 and fp32 vectors of one model differ slightly."""
    return {"precision": encoder.precision, "device": str(encoder.device)}


def embed_texts(encoder, lines: list[tuple[int, str]], out: str) -> dict:
    from indexer.features import TEXT_COLUMNS, FeatureWriter
    from service.searcher import model_identity

    with FeatureWriter(out, TEXT_COLUMNS, model_identity(encoder), kind="text", made_with=made_with(encoder)) as writer:
        for start in range(0, len(lines), TEXT_BATCH):
            batch = lines[start : start + TEXT_BATCH]
            vectors = encoder.encode_texts([text for _, text in batch])
            writer.write([{"line": number, "text": text} for number, text in batch], vectors)
    return writer.summary()


def embed_images(encoder, paths: list[str], out: str, **options) -> dict:
    from indexer import IndexRun
    from indexer.features import IMAGE_COLUMNS, FeatureSink, FeatureWriter
    from service.searcher import model_identity

    with FeatureWriter(out, IMAGE_COLUMNS, model_identity(encoder), kind="image", made_with=made_with(encoder)) as writer:
        report = IndexRun(FeatureSink(writer), encoder, progress_label="embedding", **options).run(paths)
    return {
        **writer.summary(),
        "duplicates": report.duplicates,
        "failed": report.failed,
        "failures": [{"name": f.name, "reason": f.reason} for f in report.failures],
    }

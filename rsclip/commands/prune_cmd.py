"""rsclip prune: forget indexed files and archive members that no longer exist."""

from __future__ import annotations

import json

from rsclip.commands.common import add_common, open_writable
from service.settings import Settings


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "prune",
        help="forget indexed files that no longer exist",
        description="Look at every folder and archive the index holds files of and forget the files and "
        "archive members that are gone, with their vectors (content another file still holds stays). "
        "Nothing is read or embedded. An archive that exists but cannot be read is kept as it is.",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_common(parser, model_help="(unused: prune embeds nothing)")
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from indexer.prune import PruneReport, prune_missing

    with open_writable(settings) as store:
        report = prune_missing(store) if store.model is not None else PruneReport()
        total = store.count()
    if args.json:
        print(json.dumps({**report.__dict__, "index_items": total}, indent=2))
        return 0
    print(
        f"Checked {report.checked} indexed file(s): {report.removed_locations} gone, {report.removed_images} "
        f"image(s) removed. The index now holds {total} image(s)."
    )
    for source in report.unreadable:
        print(f"  kept (cannot be read now): {source}")
    return 0

"""One module per ``rsclip`` command: ``add_parser(subparsers)`` and ``run(args, settings)``.

To add a command, write a module here and list it in ``COMMAND_MODULES``.
"""

from rsclip.commands import (
    check_cmd,
    demo_cmd,
    embed_cmd,
    eval_cmd,
    export_cmd,
    index_cmd,
    plot_cmd,
    prune_cmd,
    reindex_cmd,
    search_cmd,
    serve_cmd,
    stats_cmd,
)

COMMAND_MODULES = [
    index_cmd, search_cmd, stats_cmd, serve_cmd, embed_cmd, export_cmd, eval_cmd, plot_cmd, demo_cmd,
    reindex_cmd, prune_cmd, check_cmd,
]

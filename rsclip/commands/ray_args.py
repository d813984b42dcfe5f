"""The flags of ``rsclip index`` and ``rsclip reindex`` that run the work on a Ray cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

from service.errors import UserError


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "distributed run on Ray (optional extra: pip install 'rsclip-search[ray]'); inputs and a model "
        "folder must be on storage every node reads at the same path"
    )
    group.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="decode and embed on a Ray cluster: 'auto' (a running cluster, else a local one for the run), "
        "ray://HOST:PORT or a cluster's HOST:PORT. The catalog is written here, by this process, as without it",
    )
    group.add_argument("--actors", type=int, default=1, metavar="N", help="encoder actors, one model each (1)")
    group.add_argument(
        "--gpus-per-actor", type=float, default=0.0, metavar="G", help="GPUs each actor holds (0: actors run on CPUs)"
    )


def check_ray(args) -> None:
    """Before anything is loaded: refuse --ray without Ray installed, and bad numbers."""
    if not args.ray:
        return
    from indexer.ray_executor import RayClusterError, import_ray

    try:
        import_ray()
    except RayClusterError as exc:
        raise UserError(str(exc)) from None
    if args.actors < 1 or args.gpus_per_actor < 0:
        raise UserError("--actors must be at least 1 and --gpus-per-actor not negative")


def ray_executor(args, settings, encoder, *, inputs=(), prepare_options=None):
    """The Ray executor the flags ask for (None without --ray). Nodes must read ``inputs`` and a model folder."""
    if not args.ray:
        return None
    from indexer.ray_executor import RayExecutor, RayOptions

    options = RayOptions(
        address=args.ray, actors=args.actors, gpus_per_actor=args.gpus_per_actor, batch_size=settings.batch_size
    )
    model = encoder.spec.model_id
    # What this machine cannot read either is the run's to report as failed inputs, not the cluster's.
    shared = [str(Path(path).expanduser().absolute()) for path in inputs if Path(path).expanduser().exists()]
    if Path(model).is_dir():
        shared.append(model)
    return RayExecutor(model, encoder.spec.image_size, options, precision=settings.precision,
                       prepare_options=prepare_options, shared_paths=shared)


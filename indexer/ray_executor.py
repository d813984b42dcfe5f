"""The executor for ``--ray``: work units prepared and embedded on a Ray cluster (Ray Data).

The driver (``indexer.pipeline``) still walks the inputs and decides; only the work
moves. Units go to a Ray Dataset in waves of bounded size (the driver reads archive
members itself, so a wave bounds what it holds):

    units -> map_batches(prepare, Ray tasks)            read, hash, decode/render, preprocess
          -> map_batches(_EncoderActor, concurrency=N)  embed, a batch per device call
          -> iter_batches on the driver                 stored in committed batches, in order

Every node opens the inputs (and a model folder) by the paths the driver sees, so they
must be on storage every node can read; :func:`check_shared_paths` fails early where
one cannot. A killed task is retried and a killed actor restarted by Ray
(``max_retries``, ``max_restarts``, ``max_task_retries``), so no unit is lost; each
comes back once, in order, and the driver stores each once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from encoder.runtime import DEFAULT_BATCH_SIZE, usable_cores
from indexer.executors import Embedded, Failed, Outcome, Skipped
from indexer.work import PictureWork, PrepareOptions, Work, failure_of, prepare

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "--ray needs Ray, which is an optional extra: `pip install 'rsclip-search[ray]'` "
    "(in a checkout: `pip install -e '.[ray]'`), on the driver and on every node of the cluster"
)
SHARED_STORAGE = (
    "inputs (and a model folder) must be on storage every Ray node can read at the same path, "
    "e.g. a network or shared file system mounted alike on every node"
)
PREPARE_BATCH = 8  # units per prepare call: small, so decoding spreads over the cluster's CPUs
_OK, _SKIPPED, _FAILED = "ok", "skipped", "failed"


class RayClusterError(RuntimeError):
    """Ray is missing, the cluster cannot be reached, or a node cannot read the inputs."""


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is in the extra, not in bare ray)
    except ImportError:
        raise RayClusterError(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    """``address``: "auto" (a running cluster, else a local one for the run), ``ray://host:port`` or
    a cluster's address; ``batch_size``: images per device call (None: the actors' device default)."""

    address: str = "auto"
    actors: int = 1
    gpus_per_actor: float = 0.0
    batch_size: int | None = None
    # A wave is one Ray Dataset: its actors load the model once, so waves are large; the bytes the
    # driver read for it (archive members) are bounded, since they wait in the object store.
    wave_units: int = 200_000
    wave_bytes: int = 1 << 30

    def __post_init__(self):
        if self.actors < 1:
            raise ValueError(f"--actors must be at least 1, not {self.actors}")
        if self.gpus_per_actor < 0:
            raise ValueError(f"--gpus-per-actor must not be negative, not {self.gpus_per_actor}")


class RayExecutor:
    """Prepare units in Ray tasks, embed them in a pool of ``options.actors`` encoder actors."""

    reads_files = True  # tasks read and hash files on disk themselves: the driver only lists them

    def __init__(self, model: str, image_size: int, options: RayOptions, *, precision: str | None = None,
                 prepare_options: PrepareOptions | None = None, shared_paths: Iterable[str] = ()):
        self.model = model
        self.image_size = image_size
        self.options = options
        self.prepare_options = prepare_options or PrepareOptions()
        self.actor_runtime = actor_runtime(options, precision)
        self.shared_paths = list(shared_paths)

    @property
    def batch_size(self) -> int:
        """Images per device call on the actors (also a good commit batch for the driver)."""
        return self.actor_runtime["batch_size"]

    def run(self, units: Iterable[Work]) -> Iterator[Outcome]:
        with connected(self.options.address):
            check_shared_paths(self.shared_paths)
            for wave in self._waves(units):
                yield from self._run_wave(wave)

    def _waves(self, units: Iterable[Work]) -> Iterator[list[Work]]:
        wave: list[Work] = []
        held = 0
        for work in units:
            wave.append(work)
            held += len(work.data) if isinstance(work, PictureWork) and work.data else 0
            if len(wave) >= self.options.wave_units or held >= self.options.wave_bytes:
                yield wave
                wave, held = [], 0
        if wave:
            yield wave

    def _run_wave(self, wave: list[Work]) -> Iterator[Outcome]:
        ray = import_ray()
        from ray import cloudpickle

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # outcomes in the driver's order
        context.enable_progress_bars = False  # the driver's own bar counts stored images
        items = [{"seq": seq, "unit": cloudpickle.dumps(work)} for seq, work in enumerate(wave)]
        blocks = min(-(-len(items) // PREPARE_BATCH), 200)
        dataset = ray.data.from_items(items, override_num_blocks=blocks)
        dataset = dataset.map_batches(
            _prepare_batch,
            batch_size=PREPARE_BATCH,
            batch_format="numpy",
            fn_kwargs={"model": self.model, "options": self.prepare_options, "image_size": self.image_size},
            # Mostly I/O and decoding: a small share of a CPU, which leaves room for the actors on small
            # nodes, and differs from theirs, so Ray Data keeps decoding in tasks rather than fusing it
            # into the actors' processes.
            num_cpus=0.25,
            # ... but no more tasks at once than the cluster has CPUs: each is a process with its own
            # copy of the model's preprocessing, and more would only queue for the same cores.
            compute=ray.data.TaskPoolStrategy(size=max(1, int(ray.cluster_resources().get("CPU", 1)))),
        )  # a task whose worker dies runs again (Ray's task retries); a bad input is a failure row
        gpus = self.options.gpus_per_actor
        dataset = dataset.map_batches(
            _EncoderActor,
            fn_constructor_kwargs={"model": self.model, "runtime": self.actor_runtime},
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.options.actors),
            num_gpus=gpus or None,
            num_cpus=1 if gpus else 0.5,
        )  # Ray Data's actors restart when killed (max_restarts=-1) and rerun what they held (max_task_retries=-1)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for row in range(len(batch["seq"])):
                yield _outcome(wave[int(batch["seq"][row])], batch, row)


def _outcome(work: Work, batch: dict, row: int) -> Outcome:
    from ray import cloudpickle

    status = str(batch["status"][row])
    if status == _FAILED:
        return Failed(work, str(batch["reason"][row]), str(batch["kind"][row]))
    if status == _SKIPPED:
        return Skipped(work)
    return Embedded(work, cloudpickle.loads(batch["record"][row]), batch["vector"][row])


def actor_runtime(options: RayOptions, precision: str | None = None) -> dict:
    """How each actor runs the model (``encoder.choose_runtime``'s arguments, decided on its node):
    on a GPU, that GPU's batch and best precision unless given; on CPUs, this machine's cores
    shared among the actors (in fp32 unless given: no node is assumed to do bf16 fast)."""
    if options.gpus_per_actor:
        return {"device": "cuda", "precision": precision, "batch_size": options.batch_size or DEFAULT_BATCH_SIZE["cuda"]}
    return {
        "device": "cpu",
        "precision": precision or "fp32",
        "batch_size": options.batch_size or DEFAULT_BATCH_SIZE["cpu"],
        "threads": max(1, usable_cores() // options.actors),
    }


@contextmanager
def connected(address: str):
    """Connected to the cluster for the run: "auto" joins a running one, else starts a local one."""
    ray = import_ray()
    if ray.is_initialized():
        yield
        return
    try:
        if address == "auto":
            try:
                ray.init(address="auto", logging_level=logging.WARNING, log_to_driver=False)
            except ConnectionError:
                ray.init(logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise RayClusterError(f"cannot connect to the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    try:
        yield
    finally:
        ray.shutdown()


def check_shared_paths(paths: Iterable[str]) -> None:
    """Fail early, naming the node and the path, where a node of the cluster cannot read an input."""
    paths = [str(path) for path in paths]
    if not paths:
        return
    ray = import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [node for node in ray.nodes() if node["Alive"]]
    probe = ray.remote(num_cpus=0)(_unreadable)
    answers = ray.get([
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(paths)
        for node in nodes
    ])
    for node, unreadable in zip(nodes, answers):
        if unreadable:
            path, reason = unreadable[0]
            raise RayClusterError(
                f"Ray node {node['NodeManagerAddress']} cannot open {path} ({reason}): {SHARED_STORAGE}"
            )


def _unreadable(paths: list[str]) -> list[tuple[str, str]]:
    """Runs on a node: the paths it cannot open, with why."""
    missing = []
    for path in paths:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb"):
                    pass
        except OSError as exc:
            missing.append((path, exc.strerror or str(exc)))
    return missing


_preprocessors: dict[str, object] = {}  # per worker process: loaded once, reused by every task it runs


def _prepare_batch(batch: dict, *, model: str, options: PrepareOptions, image_size: int) -> dict:
    """A Ray task: prepare each unit of the batch; a unit that fails is a row saying why."""
    from ray import cloudpickle

    from encoder.loading import load_preprocessor

    if model not in _preprocessors:
        _preprocessors[model] = load_preprocessor(model)
    preprocess = _preprocessors[model]
    count = len(batch["seq"])
    out = {
        "seq": batch["seq"],
        "status": np.full(count, _OK, dtype=object),
        "reason": np.full(count, "", dtype=object),
        "kind": np.full(count, "", dtype=object),
        "record": np.full(count, b"", dtype=object),
        "pixels": np.zeros((count, 3, image_size, image_size), dtype=np.float32),
    }
    for row, blob in enumerate(batch["unit"]):
        try:
            result = prepare(cloudpickle.loads(blob), preprocess, options)
        except Exception as exc:  # reported per unit; the run goes on
            out["status"][row] = _FAILED
            out["reason"][row], out["kind"][row] = failure_of(exc)
            continue
        if result is None:
            out["status"][row] = _SKIPPED
            continue
        record, pixels = result
        out["record"][row] = cloudpickle.dumps(record)
        out["pixels"][row] = pixels
    return out


class _EncoderActor:
    """A Ray actor holding the model: embeds the rows that were prepared, passes the rest on."""

    def __init__(self, model: str, runtime: dict):
        from encoder.loading import load_encoder
        from encoder.runtime import choose_runtime

        self.encoder = load_encoder(model, runtime=choose_runtime(**runtime, compile=False))

    def __call__(self, batch: dict) -> dict:
        prepared = batch["status"] == _OK
        vectors = np.zeros((len(prepared), self.encoder.spec.dimension), dtype=np.float32)
        if prepared.any():
            vectors[prepared] = self.encoder.encode_pixels(batch["pixels"][prepared])
        out = {name: values for name, values in batch.items() if name != "pixels"}
        out["vector"] = vectors
        return out

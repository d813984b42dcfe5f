"""Where and how fast the model runs: device, number format, batch size, threads.

Chosen per machine so that nobody has to know their CPU: bf16 where the CPU does bf16
arithmetic in hardware (AMX or AVX512-BF16: several times fp32 at cosine 0.9999 to
the fp32 vectors), fp32 otherwise, half precision on a CUDA GPU. Any choice can be
overridden (``--device``, ``--precision``, ``--batch-size``, or the environment, see
``service.settings``); fp32 stays the reference every fast path is measured against.
int8 is opt-in on any CPU: judge it first with ``rsclip eval fidelity``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16", "int8")  # int8: opt-in, CPU only (see encoder.encoder.quantized_int8)

# Images per model call. On a CPU, bf16 throughput is flat from 4 to 32 images (the
# matrices are already large at 256 tokens per image), so a small batch keeps memory
# and the first result early; a GPU needs many images per call to fill it.
DEFAULT_BATCH_SIZE = {"cpu": 8, "cuda": 64}

# A compiled image tower (TorchInductor, frozen weights) runs faster but costs time to compile
# each batch shape, once per machine (the kernels are cached on disk, INDUCTOR_CACHE):
# - bf16 (AVX512-BF16 Zen 5, SigLIP-L): 3.5 -> 4.1 img/s (+18%), ~20 s to compile;
# - fp32 (AVX2-only EPYC, SigLIP-L, batch 8): 0.519 -> 0.586 img/s (+13%; 0.74 -> 0.84 of
#   the fp32 matmul peak), cosine 1.000000 to the plain model, 76 s to compile the first
#   time and 26 s with the disk cache warm.
# Either pays back after a few hundred images. An index run compiles only once it has
# embedded this many; small jobs never wait for it (``--compile on`` compiles at once).
COMPILE_PAYBACK_IMAGES = 512
COMPILED_PRECISIONS = frozenset({"bf16", "fp32"})  # measured faster compiled on a CPU (int8: not tried)
# A server compiles its one-image path at start-up only where that was measured to pay
# (bf16: +18% at one image too); fp32's one-image gain is not measured, and its compile
# would hold a server's start-up for over a minute.
QUERY_COMPILED_PRECISIONS = frozenset({"bf16"})

# A first compile can fail for a passing reason (its worker processes slow to start on a
# busy machine); a second try costs nothing when it works and little when it fails again.
COMPILE_ATTEMPTS = 2

# Compiled kernels are kept across runs (TorchInductor's on-disk caches), not in /tmp.
INDUCTOR_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rsclip" / "torchinductor"

# CPU flags (Linux /proc/cpuinfo names) that mean bf16 matrix arithmetic in hardware.
# Without them oneDNN emulates bf16, which is slower than fp32.
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@dataclass(frozen=True)
class Runtime:
    """How to run the encoder: ``device`` is a torch device string ("cpu", "cuda", "cuda:1")."""

    device: str = "cpu"
    precision: str = "fp32"
    batch_size: int = DEFAULT_BATCH_SIZE["cpu"]
    threads: int | None = None  # CPU threads for the model; None: every core this process may use
    compile: bool = False  # compile the image tower for full batches (see CompiledForward)
    compile_after: int = 0  # images to embed uncompiled first: compile only in jobs large enough to pay back

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {self.batch_size}")

    @property
    def device_type(self) -> str:
        return torch.device(self.device).type

    def describe(self) -> str:
        threads = f", {self.threads} threads" if self.device_type == "cpu" and self.threads else ""
        compiled = ", compiled" if self.compile else ""
        return f"{self.device} {self.precision}, batch {self.batch_size}{threads}{compiled}"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_fast_bf16(flags: frozenset[str] | None = None) -> bool:
    return bool(BF16_CPU_FLAGS & (cpu_flags() if flags is None else flags))


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_precision(device: str, flags: frozenset[str] | None = None) -> str:
    kind = torch.device(device).type
    if kind == "cuda":
        # bf16 keeps fp32's range (no overflow in long residual streams) where the GPU has it.
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp16"
    if kind == "cpu" and cpu_has_fast_bf16(flags):
        return "bf16"
    return "fp32"


def choose_runtime(
    device: str | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
    *,
    compile: bool | None = None,
    flags: frozenset[str] | None = None,
) -> Runtime:
    """Fill in whatever was not given with the fastest choice for this machine.

    ``compile`` defaults to on for bf16 and fp32 on a CPU, where it measured faster
    (+18% bf16, +13% fp32 on SigLIP-L; see COMPILE_PAYBACK_IMAGES), from the image after
    the payback count on; it only ever applies to full batches, so one-image queries
    never pay its one-off compile time. ``compile=True`` compiles from the first batch.
    ``flags`` replaces the CPU flags read from /proc/cpuinfo (for tests and for
    deciding on behalf of another machine).
    """
    device = device or default_device()
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but this torch build sees no CUDA GPU")
    precision = precision or default_precision(device, flags)
    if kind != "cpu" and precision == "int8":
        raise ValueError("int8 runs on the CPU only; on a GPU use bf16 or fp16")
    if kind == "cpu" and precision == "fp16":
        log.warning("fp16 on a CPU is emulated and slow; bf16 or fp32 are the CPU formats")
    if kind == "cpu" and precision == "bf16" and not cpu_has_fast_bf16(flags):
        log.warning("this CPU has no bf16 instructions (AMX or AVX512-BF16): bf16 will be slower than fp32")
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE.get(kind, DEFAULT_BATCH_SIZE["cpu"])
    if kind == "cpu" and threads is None:
        threads = usable_cores()
    compile_after = 0
    if compile is None:
        compile = kind == "cpu" and precision in COMPILED_PRECISIONS
        compile_after = COMPILE_PAYBACK_IMAGES
    return Runtime(
        device=device, precision=precision, batch_size=batch_size, threads=threads, compile=compile,
        compile_after=compile_after,
    )


def apply_threads(runtime: Runtime) -> None:
    """Let the model use every core it was given (torch's default may count cores it cannot use)."""
    if runtime.device_type == "cpu" and runtime.threads and torch.get_num_threads() != runtime.threads:
        torch.set_num_threads(runtime.threads)


class CompiledForward:
    """``forward(pixel_values=...)`` compiled for chosen batch sizes; other sizes run it as is.

    TorchInductor with frozen weights (constants folded, weights pre-packed for oneDNN)
    runs SigLIP-L's image tower about 18% faster in bf16 on an AVX512-BF16 CPU at
    cosine 0.99998 to the uncompiled bf16 model (batch 8, and batch 1 alike). Each size
    is compiled for its own static shape (about 20 s, once); dispatching other sizes to
    the plain model keeps one-off queries and the last, partial batch of a run free of
    compile time, and the first ``plain_batches`` full batches run plain too, so a job
    too small to pay the compile back never compiles. A server adds size 1 and compiles
    at once (see ``Encoder.prepare_for_queries``). Compiled code is cached on disk
    (``INDUCTOR_CACHE``), so the next run with the same shapes loads what it can.
    Where compiling fails twice (no C++ compiler in a slim container, say), it warns once,
    keeps the reason (``failure``) and runs the plain model from then on.
    """

    def __init__(self, forward, batch_size: int, backend="inductor", plain_batches: int = 0):
        self._forward = forward
        self.batch_sizes = {batch_size}
        self.plain_batches = plain_batches
        self._backend = backend
        self.failure: str | None = None  # why compiling failed, once it has

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @cached_property
    def _compiled(self):
        """Made at the first compiled call, so a job that never gets there never loads the compiler."""
        if self._backend == "inductor":
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(INDUCTOR_CACHE))
            return torch.compile(self._forward, options={"freezing": True}, dynamic=False)
        return torch.compile(self._forward, backend=self._backend, dynamic=False)  # another TorchDynamo backend

    def __call__(self, *, pixel_values: torch.Tensor):
        if self.failed or pixel_values.shape[0] not in self.batch_sizes:
            return self._forward(pixel_values=pixel_values)
        if self.plain_batches > 0:  # the job has not yet shown it is large enough
            self.plain_batches -= 1
            return self._forward(pixel_values=pixel_values)
        for attempt in range(COMPILE_ATTEMPTS):
            try:
                return self._compiled(pixel_values=pixel_values)
            except Exception as exc:  # compiler missing or unsupported op: the model still works
                reason = f"{type(exc).__name__}: {exc}"
                log.debug("torch.compile attempt %d failed", attempt + 1, exc_info=True)
        self.failure = reason
        log.warning("torch.compile failed (%s); running the model uncompiled", reason.splitlines()[0][:300])
        return self._forward(pixel_values=pixel_values)

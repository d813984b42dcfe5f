"""What every benchmark section shares: the checkpoint, timing, and a note of the machine's load."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CHECKPOINT = Path(os.environ.get("RSCLIP_BENCH_CHECKPOINT", "/tmp/rsclip-bench/siglip-l16-256-random"))


def large_checkpoint(path: Path = DEFAULT_CHECKPOINT) -> Path:
    """The SigLIP-L/16-256-shaped random checkpoint, built once and cached outside the repo."""
    if not (path / "config.json").is_file():
        from encoder.tiny_checkpoint import build_large_shaped_siglip

        print(f"building the SigLIP-L/16-256-shaped random checkpoint in {path} (2.4 GB, once)", flush=True)
        build_large_shaped_siglip(path)
    return path


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


@dataclass
class Latency:
    """Per-call wall times in seconds."""

    seconds: list[float] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.seconds, 0.95) * 1000

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:7.1f} ms  p95 {self.p95_ms:7.1f} ms  ({len(self.seconds)} calls)"


def time_calls(call: Callable[[int], object], count: int, warmup: int = 2) -> Latency:
    """Run ``call(i)`` ``warmup`` times untimed, then ``count`` times timed."""
    for i in range(warmup):
        call(i)
    latency = Latency()
    for i in range(count):
        started = time.perf_counter()
        call(warmup + i)
        latency.seconds.append(time.perf_counter() - started)
    return latency


def busy_share(seconds: float = 2.0) -> float | None:
    """Share of all CPU time spent busy over ``seconds`` (Linux /proc/stat), None elsewhere."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy_before, total_before = sample()
        time.sleep(seconds)
        busy_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (busy_after - busy_before) / max(1, total_after - total_before)


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> str:
    """On a shared machine, wait (up to ``max_wait`` s) until others leave the CPUs idle.

    Timings on 2 cores shared with other jobs are not timings of this code: two OpenMP
    threads stall whenever one is preempted. Returns a note for the output.
    """
    waited = 0.0
    while True:
        share = busy_share()
        if share is None or share <= threshold or waited >= max_wait:
            state = "unknown" if share is None else f"{share:.0%} busy"
            return f"others' CPU use before timing: {state} (waited {waited:.0f} s)"
        time.sleep(5)
        waited += 7


QUIET_WAIT = {"seconds": 0.0}  # set from --quiet-wait


def settle() -> None:
    """Before a timed part: wait for the machine to be quiet, if asked to, and say how it was."""
    if QUIET_WAIT["seconds"]:
        print(f"   {wait_for_quiet(QUIET_WAIT['seconds'])}", flush=True)


def section(title: str) -> None:
    print(f"\n== {title}  [{load_average()}]", flush=True)


@dataclass(frozen=True)
class ChildRun:
    """A whole job run as its own process: wall time with start-up, and its peak memory."""

    seconds: float
    peak_rss_mb: float
    output: str


def run_child(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> ChildRun:
    """Run ``command`` to the end; raise with its output if it fails.

    ``os.wait4`` gives this child's own peak resident memory (``getrusage`` would give
    the largest of all children so far).
    """
    import subprocess
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({process.returncode}):\n{output[-3000:]}")
    return ChildRun(seconds, usage.ru_maxrss / 1024, output)


def steady_rate(small: int, large: int, small_seconds: float, large_seconds: float) -> float:
    """Images per second once started: a larger job's extra images over its extra time
    (both jobs pay the same start-up, which cancels)."""
    return (large - small) / max(large_seconds - small_seconds, 1e-9)

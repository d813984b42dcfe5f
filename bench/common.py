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


def section(title: str) -> None:
    print(f"\n== {title}  [{load_average()}]", flush=True)

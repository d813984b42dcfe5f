"""What this CPU can do at best: its model and flags, and the dense matmul peak in fp32 and bf16.

Every speed figure of the bench is printed beside the ceiling that peak allows:
SigLIP-L/16 at 256 px costs about ``GFLOP_PER_IMAGE`` per image, so no runtime that
keeps the model's arithmetic can index faster than ``best GFLOP/s / GFLOP_PER_IMAGE``
images per second. A figure above 1.0 of that ceiling means fewer or cheaper
operations (int8), not a better schedule.

    .venv/bin/python -m bench.hardware
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

GFLOP_PER_IMAGE = 162.0  # SigLIP-L/16 image tower at 256 px (256 tokens, 24 layers)

# The flags that decide which number formats run in hardware.
_INTERESTING_FLAGS = (
    "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile",
)


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8", errors="replace"):
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def matmul_gflops(dtype_name: str, size: int = 2048, budget_s: float = 3.0) -> float:
    """Best GFLOP/s of a square ``size`` matmul in ``dtype_name`` over about ``budget_s`` seconds."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    flops = 2.0 * size**3
    best = 0.0
    deadline = time.perf_counter() + budget_s
    with torch.inference_mode():
        torch.matmul(a, b)  # first call builds the kernel
        while True:
            started = time.perf_counter()
            torch.matmul(a, b)
            took = time.perf_counter() - started
            best = max(best, flops / took / 1e9)
            if time.perf_counter() > deadline:
                return best


@dataclass(frozen=True)
class Hardware:
    cpu: str
    flags: tuple[str, ...]
    threads: int
    fp32_gflops: float
    bf16_gflops: float

    @property
    def best_gflops(self) -> float:
        return max(self.fp32_gflops, self.bf16_gflops)

    @property
    def ceiling_images_per_second(self) -> float:
        return self.best_gflops / GFLOP_PER_IMAGE

    def share_of_ceiling(self, images_per_second: float) -> float:
        return images_per_second / self.ceiling_images_per_second

    def describe(self) -> str:
        return (
            f"CPU {self.cpu} ({', '.join(self.flags) or 'no vector flags'}; {self.threads} threads); "
            f"matmul peak fp32 {self.fp32_gflops:.0f} GFLOP/s, bf16 {self.bf16_gflops:.0f} GFLOP/s; "
            f"ceiling {self.ceiling_images_per_second:.2f} img/s at {GFLOP_PER_IMAGE:.0f} GFLOP/image"
        )


@lru_cache(maxsize=1)
def measure_hardware() -> Hardware:
    """Measured once per process (about 5 s; bf16 gets a smaller matrix where it is emulated)."""
    import torch

    from encoder.runtime import cpu_flags, cpu_has_fast_bf16

    flags = cpu_flags()
    fast_bf16 = cpu_has_fast_bf16(flags)
    return Hardware(
        cpu=cpu_model(),
        flags=tuple(flag for flag in _INTERESTING_FLAGS if flag in flags),
        threads=torch.get_num_threads(),
        fp32_gflops=matmul_gflops("fp32"),
        # Emulated bf16 is hundreds of times slower: a small matrix tells as much.
        bf16_gflops=matmul_gflops("bf16", size=2048 if fast_bf16 else 256, budget_s=2.0 if fast_bf16 else 0.5),
    )


def main() -> int:
    print(measure_hardware().describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real full and read-only filesystems for the disk-fault tests, where the machine allows mounts.

``small_tmpfs`` mounts a size-limited tmpfs; ``read_only_view`` bind-mounts a folder a
second time, read-only. Both need root (CAP_SYS_ADMIN): elsewhere the tests that use
them are skipped, and the in-process fault tests still run. Every mount is undone in
the fixture's teardown, whatever the test did.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


class _Mounts:
    """Mount points made by one test, undone in reverse order at its end."""

    def __init__(self, root: Path, name: str):
        self.root, self.name, self.points = root, name, []

    def mount(self, *steps: list[str]) -> Path:
        """Make a fresh folder and run each mount command on it (TARGET stands for the folder)."""
        target = self.root / f"{self.name}{len(self.points)}"
        target.mkdir()
        for number, step in enumerate(steps):
            result = _run(*(str(target) if part == "TARGET" else part for part in step))
            if number == 0 and result.returncode == 0:
                self.points.append(target)
            if result.returncode != 0:
                pytest.skip(f"cannot {' '.join(step[:3])} here ({result.stderr.strip() or 'not root'})")
        return target

    def undo(self) -> None:
        for target in reversed(self.points):
            if _run("umount", str(target)).returncode != 0:
                _run("umount", "-l", str(target))  # lazily, if a straggler still holds a file open


@pytest.fixture
def small_tmpfs(tmp_path):
    """``mount(size_kib) -> Path``: a fresh tmpfs of that size."""
    mounts = _Mounts(tmp_path, "tmpfs")
    yield lambda size_kib: mounts.mount(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", "TARGET"])
    mounts.undo()


@pytest.fixture
def read_only_view(tmp_path):
    """``view(folder) -> Path``: the same folder, mounted again read-only."""
    mounts = _Mounts(tmp_path, "ro-view")
    yield lambda folder: mounts.mount(
        ["mount", "--bind", str(folder), "TARGET"], ["mount", "-o", "remount,ro,bind", "TARGET"]
    )
    mounts.undo()

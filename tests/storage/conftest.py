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


def _unmount(path: Path) -> None:
    if _run("umount", str(path)).returncode != 0:
        _run("umount", "-l", str(path))  # lazily, if a straggler still holds a file open


@pytest.fixture
def small_tmpfs(tmp_path):
    """``mount(size_kib) -> Path``: a fresh tmpfs of that size."""
    mounted: list[Path] = []

    def mount(size_kib: int) -> Path:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(target))
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not root'})")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        _unmount(target)


@pytest.fixture
def read_only_view(tmp_path):
    """``view(folder) -> Path``: the same folder, mounted again read-only."""
    mounted: list[Path] = []

    def view(folder: Path) -> Path:
        target = tmp_path / f"ro-view{len(mounted)}"
        target.mkdir()
        if _run("mount", "--bind", str(folder), str(target)).returncode != 0:
            pytest.skip("cannot bind-mount here (not root)")
        mounted.append(target)
        result = _run("mount", "-o", "remount,ro,bind", str(target))
        if result.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({result.stderr.strip()})")
        return target

    yield view
    for target in reversed(mounted):
        _unmount(target)


"""Fixtures shared by every test: a tiny real checkpoint and real image files.

Nothing here mocks the model: the checkpoint is a random SigLIP written with
``save_pretrained`` and loaded through ``encoder.load_encoder`` like a user's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Ray Data's usage telemetry starts a daemon thread in the driver (the test process) that asks
# localhost:9090 for Prometheus counters every 10 s and logs each failure with its traceback.
# On CPython before 3.11.8 formatting a traceback calls ast.parse, and the AST builder's
# recursion counter is shared by all threads (gh-106905): a main-thread ast.parse that runs at
# the same moment fails with "AST constructor recursion depth mismatch". Tests run offline and
# report nothing, so the telemetry is off (the user's own setting is left alone outside tests).
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Commands pick the fastest precision for the machine (bf16 on some CPUs, not others);
# tests compare against fp32 vectors, so they run the fp32 reference unless they ask.
os.environ.setdefault("RSCLIP_PRECISION", "fp32")
# Compiled kernels go to a cache of this test run's own, not the user's ~/.cache/rsclip:
# a test never loads kernels that another run (another CPU, another torch) left there.
_INDUCTOR_CACHE = os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="rsclip-tests-inductor-")

REPO_ROOT = Path(__file__).resolve().parents[1]

from tests.catalogs import catalog_backend, parametrize_catalogs, postgres_schemas, postgres_url, summarize  # noqa: E402,F401


def pytest_configure(config):
    config.addinivalue_line("markers", "both_catalogs: run each test on SQLite and on PostgreSQL (tests/catalogs.py)")
    config.addinivalue_line("markers", "sqlite_only: a test of SQLite's own behaviour, in a both_catalogs module")


def pytest_unconfigure(config):
    shutil.rmtree(_INDUCTOR_CACHE, ignore_errors=True)


def pytest_generate_tests(metafunc):
    parametrize_catalogs(metafunc)


def pytest_terminal_summary(terminalreporter):
    summarize(terminalreporter)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from encoder.tiny_checkpoint import build_tiny_siglip

    return build_tiny_siglip(tmp_path_factory.mktemp("models") / "tiny-siglip", hidden_size=64, image_size=32, patch_size=8)


@pytest.fixture(scope="session")
def encoder(tiny_checkpoint):
    from encoder import load_encoder

    return load_encoder(str(tiny_checkpoint))


def noise_image(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Image.Image:
    """A distinct random picture per seed: random weights still tell these apart."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)


@pytest.fixture
def make_image():
    return noise_image


def _save(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def mixed_corpus(tmp_path):
    """A folder, a zip and a tar.gz of JPEG/PNG/TIFF images, one corrupt file, one duplicate.

    Returns (inputs, expected) where expected maps (source, member) of every distinct valid
    image to its file bytes.
    """
    import io
    import tarfile
    import zipfile

    root = tmp_path / "inputs"
    folder = root / "scenes"
    expected: dict[tuple[str, str], bytes] = {}
    for seed, member in enumerate(["a.jpg", "b.png", "sub/c.tif"]):
        path = _save(noise_image(seed), folder / member)
        expected[(str(folder), member)] = path.read_bytes()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg that is not an image")
    (folder / "sub" / "dup.png").write_bytes((folder / "b.png").read_bytes())

    def encoded(seed: int, fmt: str) -> bytes:
        buffer = io.BytesIO()
        noise_image(seed).save(buffer, format=fmt)
        return buffer.getvalue()

    archive_zip = root / "chips.zip"
    with zipfile.ZipFile(archive_zip, "w") as handle:
        for seed, member, fmt in [(3, "z/d.png", "PNG"), (4, "z/e.jpg", "JPEG")]:
            handle.writestr(member, encoded(seed, fmt))
            expected[(str(archive_zip), member)] = encoded(seed, fmt)
    archive_tar = root / "chips.tar.gz"
    with tarfile.open(archive_tar, "w:gz") as handle:
        for seed, member, fmt in [(5, "t/f.tif", "TIFF"), (6, "t/g.png", "PNG")]:
            data = encoded(seed, fmt)
            info = tarfile.TarInfo(member)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
            expected[(str(archive_tar), member)] = data
    return [folder, archive_zip, archive_tar], expected


@pytest.fixture(scope="session")
def ray_cluster():
    """A real two-node Ray cluster on this machine, small enough for CI; shut down at the end.

    Ray is in the dev extra: where it is missing the Ray tests are skipped, with the reason shown.
    """
    pytest.importorskip("ray.data", reason="Ray is not installed: pip install -e '.[ray]' (dev installs it)")
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 150 << 20}
    for attempt in (1, 2):  # Ray gives a node 30 s to start: a busy CI machine may need a second go
        cluster = Cluster()
        try:
            cluster.add_node(**small, include_dashboard=False)
            cluster.add_node(**small)
            cluster.wait_for_nodes()
            break
        except Exception:
            cluster.shutdown()
            if attempt == 2:
                raise
    try:
        yield cluster
    finally:
        cluster.shutdown()

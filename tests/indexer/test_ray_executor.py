"""Index runs on a real two-node Ray cluster (``ray_cluster``): the same catalog as a local
run, nothing lost or duplicated when an encoder actor is SIGKILLed, early refusal of
inputs a node cannot read."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from indexer import IndexRun
from indexer.raster import RasterOptions
from service.searcher import model_identity
from storage import Store
from tests.cli.test_crash_safety import assert_indexed_exactly_once
from tests.conftest import noise_image
from tests.rasters import textured, write_geotiff

RASTER = RasterOptions(chip_size=32)


def ray_executor(cluster, encoder, **options):
    from indexer.ray_executor import RayExecutor, RayOptions

    return RayExecutor(encoder.spec.model_id, encoder.spec.image_size,
                       RayOptions(address=cluster.address, **options), precision="fp32")


def index(data_dir: Path, encoder, inputs, executor=None, batch_size: int = 2):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        run = IndexRun(store, encoder, progress=False, raster=RASTER, executor=executor, batch_size=batch_size)
        return run.run([str(path) for path in inputs])


def catalog(data_dir: Path) -> tuple[dict[tuple[str, str, str], str], dict[str, np.ndarray]]:
    """({(source, member, part): sha256} of every location, {sha256: vector})."""
    with Store(data_dir) as store:
        places = {
            (loc.source, loc.member, loc.part): loc.sha256
            for source in store.sources() for loc in store.locations_in(source)
        }
        vectors = {}
        for ids, rows in store.iter_vectors():
            records = store.get_many([int(i) for i in ids])
            vectors.update({records[int(i)].sha256: row for i, row in zip(ids, rows)})
    return places, vectors


def test_a_ray_run_ends_in_the_same_catalog_and_vectors_as_a_local_run(tmp_path, encoder, mixed_corpus, ray_cluster):
    inputs, _ = mixed_corpus
    write_geotiff(inputs[0] / "scene.tif", textured((3, 64, 96), 200, 3000))  # 6 chips of 32 px
    local = index(tmp_path / "local", encoder, inputs)
    on_ray = index(tmp_path / "ray", encoder, inputs, ray_executor(ray_cluster, encoder, actors=2))

    assert (on_ray.added, on_ray.duplicates, on_ray.scenes) == (local.added, local.duplicates, local.scenes) == (13, 1, 1)
    # The truncated JPEG is reported on both; its kind can differ (Pillow in a Ray worker says
    # not-an-image where this process says corrupt-image): see the report of issue 12.
    assert [f.member for f in on_ray.failures] == [f.member for f in local.failures] == ["broken.jpg"]
    local_places, local_vectors = catalog(tmp_path / "local")
    ray_places, ray_vectors = catalog(tmp_path / "ray")
    assert ray_places == local_places
    assert ray_vectors.keys() == local_vectors.keys()
    for sha256, vector in local_vectors.items():
        assert float(np.dot(vector, ray_vectors[sha256])) >= 0.99999


def _encoder_actor_pids(cluster) -> list[int]:
    """PIDs of the encoder actors under this cluster's raylets (their process title names the class)."""
    from ray._private import ray_constants

    raylets = {
        info.process.pid
        for node in [cluster.head_node, *cluster.worker_nodes]
        for info in node.all_processes[ray_constants.PROCESS_TYPE_RAYLET]
    }
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        if parent in raylets and b"_EncoderActor" in cmdline:
            pids.append(int(entry.name))
    return pids


class KillingAnActor:
    """Passes a Ray executor's outcomes on and SIGKILLs the encoder actor after the ``after``-th."""

    def __init__(self, executor, cluster, after: int):
        self.executor, self.cluster, self.after = executor, cluster, after
        self.reads_files = executor.reads_files
        self.killed: list[int] = []

    def run(self, units):
        for count, outcome in enumerate(self.executor.run(units), 1):
            if count == self.after:
                self.killed = _encoder_actor_pids(self.cluster)
                for pid in self.killed:
                    os.kill(pid, signal.SIGKILL)
            yield outcome


def test_an_encoder_actor_killed_mid_run_loses_and_duplicates_nothing(tmp_path, encoder, ray_cluster):
    folder = tmp_path / "images"
    folder.mkdir()
    expected = {}
    for seed in range(24):
        path = folder / f"{seed:02d}.png"
        noise_image(seed).save(path)
        expected[(str(folder), path.name)] = path.read_bytes()
    executor = KillingAnActor(ray_executor(ray_cluster, encoder, actors=1, batch_size=2), ray_cluster, after=4)

    report = index(tmp_path / "data", encoder, [folder], executor)

    assert len(executor.killed) == 1  # it was there, and it was killed with work still to do
    assert (report.added, report.failed) == (24, 0)
    assert_indexed_exactly_once(tmp_path / "data", expected)


def test_a_node_that_cannot_open_an_input_stops_the_run_before_it_starts(tmp_path, ray_cluster):
    from indexer.ray_executor import RayClusterError, check_shared_paths, connected

    with connected(ray_cluster.address), pytest.raises(RayClusterError) as refused:
        check_shared_paths([str(tmp_path), str(tmp_path / "only-on-the-driver")])
    message = str(refused.value)
    assert "only-on-the-driver" in message and "every Ray node can read" in message


def test_waves_bound_the_units_and_the_bytes_the_driver_holds_at_once():
    from indexer.ray_executor import RayExecutor, RayOptions
    from indexer.work import PictureWork

    executor = RayExecutor("model", 32, RayOptions(wave_units=3, wave_bytes=100))
    files = [PictureWork("/in", f"{n}.png", None, path=f"/in/{n}.png") for n in range(7)]
    members = [PictureWork("/in.tar", f"{n}.png", None, data=b"x" * 60, sha256="0") for n in range(3)]

    assert [len(wave) for wave in executor._waves(files)] == [3, 3, 1]
    assert [len(wave) for wave in executor._waves(members)] == [2, 1]
    assert [work for wave in executor._waves(files + members) for work in wave] == files + members


def test_the_test_driver_starts_no_telemetry_thread(tmp_path, encoder, ray_cluster):
    """Ray Data's usage poller would log a formatted traceback every 10 s from a thread of this
    process, and on CPython 3.11.7 that races any ast.parse in the tests (gh-106905): CI failed
    on it twice. tests/conftest.py turns the telemetry off; this holds it off after a real run."""
    import threading

    folder = tmp_path / "in"
    folder.mkdir()
    noise_image(1).save(folder / "a.png")

    report = index(tmp_path / "data", encoder, [folder], ray_executor(ray_cluster, encoder, actors=1))

    assert report.added == 1
    assert not [thread.name for thread in threading.enumerate() if "usage" in thread.name]

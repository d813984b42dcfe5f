"""A raster that declares an absurd size costs a named failure, not the machine (issue 11, item 4).

A GeoTIFF header may declare 10^6 x 10^6 px in a file of under a megabyte (its blocks
absent: sparse). The indexer refuses a scene over --max-chips-per-scene before reading
a pixel, and plans and reads what it keeps window by window, so memory stays flat in
the declared size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from indexer.limits import FailureKind, InputRefused
from indexer.chip_grid import chip_count, chip_grid
from indexer.raster import RasterFile, RasterOptions, open_scene
from tests.conftest import REPO_ROOT, noise_image
from tests.rasters import sparse_geotiff, textured, write_geotiff

PEAK_RSS_BOUND = 1536 << 20  # generous: the model and libraries alone take about 500 MB
# rsclip's main in a child that reports its own peak resident memory when done
MEASURED_RSCLIP = (
    "import resource, sys\n"
    "from rsclip.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def test_an_absurdly_large_sparse_scene_is_refused_with_memory_flat_and_the_run_goes_on(tmp_path, tiny_checkpoint):
    folder = tmp_path / "inputs"
    folder.mkdir()
    huge = sparse_geotiff(folder / "huge.tif", 1_000_000)
    assert huge.stat().st_size < 4 << 20  # a small file...
    noise_image(3).save(folder / "photo.png")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    index = ["index", str(folder), "--data-dir", str(tmp_path / "data"), "--model", str(tiny_checkpoint), "--quiet",
             "--json"]
    done = subprocess.run([sys.executable, "-c", MEASURED_RSCLIP, *index], env=env, capture_output=True, text=True,
                          timeout=300)  # a hang guard, not a timing
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["added"] == 1 and summary["failures_by_kind"] == {FailureKind.TOO_MANY_CHIPS: 1}
    [failure] = summary["failures"]
    chips = chip_count(1_000_000, 1_000_000, 10.0, RasterOptions())
    assert failure["member"] == "huge.tif" and f"{chips:,} chips" in failure["reason"]
    assert "--max-chips-per-scene" in failure["reason"]
    peak = int(done.stderr.rsplit("PEAK_RSS_KB ", 1)[1].split()[0]) << 10
    assert peak < PEAK_RSS_BOUND, f"peak RSS {peak >> 20} MiB"


@pytest.mark.parametrize("options", [{}, {"overlap": 64}, {"chip_size": 100, "overlap": 37}, {"resample_to": 25.0}])
def test_the_chip_count_checked_before_reading_equals_the_chips_cut(tmp_path, options):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 530, 777), 100, 3000))
    options = RasterOptions(**options)
    scene = open_scene(str(tmp_path), "s.tif", [RasterFile("s.tif", path=path)], options)
    assert chip_count(scene.width, scene.height, scene.resolution_m, options) == len(chip_grid(scene, options))


def test_a_scene_over_the_chip_limit_is_refused_by_name_before_its_pixels_are_read(tmp_path):
    path = write_geotiff(tmp_path / "s.tif", textured((3, 600, 600), 100, 3000))
    options = RasterOptions(max_chips=8)  # 600 px at 256 px chips: 3 x 3 = 9
    with pytest.raises(InputRefused) as refused:
        open_scene(str(tmp_path), "s.tif", [RasterFile("s.tif", path=path)], options)
    assert refused.value.kind == FailureKind.TOO_MANY_CHIPS and "9 chips" in refused.value.reason


def test_the_stretch_of_a_huge_sparse_scene_under_the_limit_comes_from_a_few_windows(tmp_path):
    """200,000 px square (610,352 chips, under the default limit): a decimated read would touch
    every one of its 40 G pixels; windows spread over it touch a few blocks."""
    path = sparse_geotiff(tmp_path / "wide.tif", 200_000, block=512, written=512)
    scene = open_scene(str(tmp_path), "wide.tif", [RasterFile("wide.tif", path=path)], RasterOptions())
    assert scene.width == 200_000 and len(scene.stretch) == 3

"""Index runs over inputs that changed: skip unchanged files, replace changed ones, prune gone ones."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import numpy as np
import pytest

from indexer import IndexRun
from service.searcher import model_identity
from storage import Store
from storage.check import check_store
from tests.conftest import noise_image

pytestmark = pytest.mark.both_catalogs


def index(data_dir, encoder, inputs, **options):
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        return IndexRun(store, encoder, progress=False, **options).run(inputs)


def catalog(data_dir) -> dict[tuple[str, str], str]:
    """(source, member) of every recorded file -> sha256 of the content it holds."""
    with Store(data_dir, writable=True, recover=False) as store:
        return {(loc.source, loc.member): loc.sha256 for source in store.sources() for loc in store.locations_in(source)}


def assert_consistent(data_dir, images: int):
    with Store(data_dir, writable=True, recover=False) as store:
        report = check_store(store)
        assert report.ok, report.problems
        assert report.images == report.catalog_vectors == report.faiss_vectors == images


def write_png(path, seed, mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_image(seed).save(path, format="PNG")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "scenes"
    for seed in range(5):
        write_png(root / f"scene_{seed}.png", seed, mtime=1_000_000 + seed)
    return root


def _flip_a_pixel_keeping_size_and_mtime(path) -> bytes:
    """Other content, same size and mtime: what only reading the file can notice."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # the last pixel byte of an uncompressed BMP: still a valid image
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return bytes(data)


@pytest.fixture
def bitmap(folder):
    path = folder / "raw.bmp"
    noise_image(30).save(path, format="BMP")
    return path


def test_a_rerun_skips_unchanged_files_by_size_and_mtime_without_reading_them(tmp_path, encoder, folder, bitmap):
    index(tmp_path / "data", encoder, [folder])
    data = _flip_a_pixel_keeping_size_and_mtime(bitmap)
    report = index(tmp_path / "data", encoder, [folder])
    assert (report.unchanged, report.added, report.replaced) == (6, 0, 0)
    assert catalog(tmp_path / "data")[(str(folder), "raw.bmp")] != hashlib.sha256(data).hexdigest()


def test_rehash_reads_every_file_and_catches_a_change_that_kept_size_and_mtime(tmp_path, encoder, folder, bitmap):
    index(tmp_path / "data", encoder, [folder])
    data = _flip_a_pixel_keeping_size_and_mtime(bitmap)
    report = index(tmp_path / "data", encoder, [folder], rehash=True)
    assert (report.unchanged, report.replaced, report.added) == (5, 1, 1)
    assert catalog(tmp_path / "data")[(str(folder), "raw.bmp")] == hashlib.sha256(data).hexdigest()
    assert_consistent(tmp_path / "data", images=6)


def test_a_touched_file_with_the_same_content_is_not_embedded_again(tmp_path, encoder, folder):
    index(tmp_path / "data", encoder, [folder])
    os.utime(folder / "scene_1.png", (2_000_000, 2_000_000))
    report = index(tmp_path / "data", encoder, [folder])
    assert (report.added, report.unchanged) == (0, 5)
    with Store(tmp_path / "data") as store:
        assert store.recorded_location(str(folder), "scene_1.png").mtime == 2_000_000
    # and the next run skips it by its new mtime
    assert index(tmp_path / "data", encoder, [folder]).unchanged == 5


def test_a_changed_file_is_embedded_again_and_its_old_vector_removed(tmp_path, encoder, folder):
    index(tmp_path / "data", encoder, [folder])
    with Store(tmp_path / "data") as store:
        old = store.recorded_location(str(folder), "scene_2.png")
    write_png(folder / "scene_2.png", seed=99, mtime=3_000_000)
    report = index(tmp_path / "data", encoder, [folder])
    assert (report.added, report.replaced, report.unchanged) == (1, 1, 4)
    with Store(tmp_path / "data") as store:
        new = store.recorded_location(str(folder), "scene_2.png")
        assert new.image_id != old.image_id
        assert store.get(old.image_id) is None and store.vector(old.image_id) is None
        query = np.asarray(encoder.encode_images([noise_image(99)]))[0]
        top = store.search(query, k=1)[0][0]
        assert (top.image.member, top.score) == ("scene_2.png", pytest.approx(1.0, abs=1e-4))
    assert_consistent(tmp_path / "data", images=5)


def test_replacing_a_file_keeps_content_another_file_still_holds(tmp_path, encoder, folder):
    (folder / "copy_of_3.png").write_bytes((folder / "scene_3.png").read_bytes())
    index(tmp_path / "data", encoder, [folder])
    write_png(folder / "scene_3.png", seed=77, mtime=3_000_000)
    index(tmp_path / "data", encoder, [folder])
    with Store(tmp_path / "data") as store:
        kept = store.recorded_location(str(folder), "copy_of_3.png")
        assert store.get(kept.image_id).member == "copy_of_3.png"  # shown under the file that still holds it
        assert store.vector(kept.image_id) is not None
    assert_consistent(tmp_path / "data", images=6)


def test_new_files_are_added_beside_the_unchanged_ones(tmp_path, encoder, folder):
    index(tmp_path / "data", encoder, [folder])
    write_png(folder / "later" / "scene_new.png", seed=50)
    report = index(tmp_path / "data", encoder, [folder])
    assert (report.added, report.unchanged) == (1, 5)
    assert_consistent(tmp_path / "data", images=6)


def test_without_prune_a_deleted_file_stays_indexed(tmp_path, encoder, folder):
    index(tmp_path / "data", encoder, [folder])
    (folder / "scene_4.png").unlink()
    assert index(tmp_path / "data", encoder, [folder]).pruned == 0
    assert (str(folder), "scene_4.png") in catalog(tmp_path / "data")


def test_prune_removes_deleted_files_and_the_content_only_they_held(tmp_path, encoder, folder):
    (folder / "copy_of_0.png").write_bytes((folder / "scene_0.png").read_bytes())
    index(tmp_path / "data", encoder, [folder])
    (folder / "scene_4.png").unlink()
    (folder / "scene_0.png").unlink()  # its content lives on in copy_of_0.png
    report = index(tmp_path / "data", encoder, [folder], prune=True)
    assert (report.pruned, report.pruned_images) == (2, 1)
    recorded = catalog(tmp_path / "data")
    assert (str(folder), "scene_4.png") not in recorded and (str(folder), "scene_0.png") not in recorded
    assert (str(folder), "copy_of_0.png") in recorded
    assert_consistent(tmp_path / "data", images=4)


def test_prune_only_touches_files_under_the_given_paths(tmp_path, encoder, folder):
    other = tmp_path / "other"
    write_png(other / "elsewhere.png", seed=40)
    index(tmp_path / "data", encoder, [folder, other])
    (other / "elsewhere.png").unlink()
    (folder / "scene_1.png").unlink()
    report = index(tmp_path / "data", encoder, [folder], prune=True)
    assert report.pruned == 1
    assert (str(other), "elsewhere.png") in catalog(tmp_path / "data")


def test_a_file_indexed_from_a_parent_folder_is_pruned_when_its_subfolder_is_given(tmp_path, encoder, folder):
    write_png(folder / "sub" / "deep.png", seed=60)
    index(tmp_path / "data", encoder, [folder])
    (folder / "sub" / "deep.png").unlink()
    report = index(tmp_path / "data", encoder, [folder / "sub"], prune=True)
    assert report.pruned == 1
    assert_consistent(tmp_path / "data", images=5)


def test_a_moved_file_is_not_embedded_again_and_prune_forgets_the_old_path(tmp_path, encoder, folder):
    index(tmp_path / "data", encoder, [folder])
    (folder / "scene_2.png").rename(folder / "renamed.png")
    report = index(tmp_path / "data", encoder, [folder], prune=True)
    assert (report.added, report.already_indexed, report.pruned, report.pruned_images) == (0, 1, 1, 0)
    with Store(tmp_path / "data") as store:
        moved = store.recorded_location(str(folder), "renamed.png")
        assert store.get(moved.image_id).member == "renamed.png"
    assert_consistent(tmp_path / "data", images=5)


def _zip(path, members: dict[str, int]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, seed in members.items():
            buffer = io.BytesIO()
            noise_image(seed).save(buffer, format="PNG")
            archive.writestr(name, buffer.getvalue())
    return path


def test_prune_removes_a_member_deleted_from_an_archive(tmp_path, encoder):
    archive = _zip(tmp_path / "chips.zip", {"a.png": 1, "b.png": 2, "c.png": 3})
    index(tmp_path / "data", encoder, [archive])
    _zip(archive, {"a.png": 1, "c.png": 3})
    report = index(tmp_path / "data", encoder, [archive], prune=True)
    assert (report.unchanged, report.pruned) == (2, 1)
    assert set(catalog(tmp_path / "data")) == {(str(archive), "a.png"), (str(archive), "c.png")}


def test_an_unreadable_archive_is_reported_and_its_items_are_not_pruned(tmp_path, encoder):
    archive = _zip(tmp_path / "chips.zip", {"a.png": 1, "b.png": 2})
    index(tmp_path / "data", encoder, [archive])
    archive.write_bytes(b"this is no longer a zip file")
    report = index(tmp_path / "data", encoder, [archive], prune=True)
    assert report.failed == 1 and report.pruned == 0
    assert len(catalog(tmp_path / "data")) == 2


def test_prune_of_a_path_that_no_longer_exists_removes_what_it_held(tmp_path, encoder):
    archive = _zip(tmp_path / "chips.zip", {"a.png": 1, "b.png": 2})
    index(tmp_path / "data", encoder, [archive])
    archive.unlink()
    report = index(tmp_path / "data", encoder, [archive], prune=True)
    assert report.pruned == 2 and report.pruned_images == 2
    assert_consistent(tmp_path / "data", images=0)


def test_copies_of_content_waiting_in_an_unfilled_batch_are_sent_to_the_catalog_a_bounded_number_of_times(
    tmp_path, encoder
):
    """N identical members cost O(N) catalog work, not O(N^2): a copy of content still in an
    unfilled batch waits for it instead of being resubmitted at every write (issue 11, item 5)."""
    copies = 800
    archive = _zip(tmp_path / "same.zip", {f"copy_{n:04d}.png": 7 for n in range(copies)})
    submitted: list[int] = []
    with Store(tmp_path / "data", writable=True) as store:
        store.bind_model(model_identity(encoder))
        place = store.place
        store.place = lambda placements: (submitted.append(len(placements)), place(placements))[1]
        report = IndexRun(store, encoder, progress=False).run([archive])
    assert (report.added, report.duplicates) == (1, copies - 1)
    assert sum(submitted) <= 2 * copies, f"{sum(submitted):,} placements sent for {copies - 1:,} copies"
    recorded = catalog(tmp_path / "data")
    assert len(recorded) == copies and len(set(recorded.values())) == 1
    assert_consistent(tmp_path / "data", images=1)

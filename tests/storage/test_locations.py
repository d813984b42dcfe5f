"""Locations: looked up a folder at a time, and prune's notion of "under a path"."""

from __future__ import annotations

import pytest

from storage import NewImage, Store
from tests.storage.test_store import MODEL, unit_vectors

pytestmark = pytest.mark.both_catalogs

MEMBERS = ["top.png", "a/one.png", "a/two.png", "a/b/deep.png", "a/bc/other.png", "a.png", "ab/x.png"]


def image(source: str, member: str, n: int) -> NewImage:
    return NewImage(source=source, member=member, sha256=f"{n:064x}", byte_size=n, width=8, height=8, format="PNG")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data", writable=True) as opened:
        opened.bind_model(MODEL)
        images = [image("/x/scenes", member, n) for n, member in enumerate(MEMBERS)]
        images += [image("/x/scenes2", "a/one.png", 50), image("/x/scenes/chips.zip", "a/z.png", 51)]
        opened.add(images, unit_vectors(len(images)))
        yield opened


@pytest.mark.parametrize(
    "directory, expected",
    [("", {"top.png", "a.png"}), ("a", {"a/one.png", "a/two.png"}), ("a/b", {"a/b/deep.png"}), ("ab", {"ab/x.png"})],
)
def test_a_folder_lookup_returns_exactly_the_files_directly_inside_it(store, directory, expected):
    assert set(store.recorded_in_directory("/x/scenes", directory)) == expected


@pytest.mark.parametrize(
    "root, expected",
    [
        ("/x/scenes/a", {("/x/scenes", m) for m in ["a/one.png", "a/two.png", "a/b/deep.png", "a/bc/other.png"]}),
        ("/x/scenes/a/one.png", {("/x/scenes", "a/one.png")}),
        ("/x/scenes/chips.zip", {("/x/scenes/chips.zip", "a/z.png")}),
        ("/x/scenes2", {("/x/scenes2", "a/one.png")}),  # a sibling with a common prefix is not inside
    ],
)
def test_prune_sweeps_only_what_lies_under_its_paths(store, root, expected):
    store.mark_for_sweep([root])
    removed = store.sweep([root])
    remaining = {(loc.source, loc.member) for source in store.sources() for loc in store.locations_in(source)}
    assert removed.removed_locations == len(expected)
    assert not expected & remaining and len(remaining) == len(MEMBERS) + 2 - len(expected)

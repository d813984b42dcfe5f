"""POST /admin/reload: with the key, the server starts serving what an indexer added meanwhile."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from indexer import IndexRun
from service.searcher import model_identity
from search_api import ApiSettings, create_app
from storage import Store
from tests.conftest import noise_image
from tests.search_api.conftest import TEST_CLIENT_HOSTS, build_index

pytestmark = pytest.mark.both_catalogs

KEY = {"X-API-Key": "reload-key"}


def test_reload_serves_items_an_indexer_added_after_start(tmp_path, encoder):
    data = build_index(tmp_path, encoder)
    # The periodic check is kept out of the way, so only the admin reload can serve the new items.
    settings = ApiSettings(data_dir=data.data_dir, api_key="reload-key", allowed_hosts=TEST_CLIENT_HOSTS, reload_seconds=3600)
    app = create_app(settings, encoder=encoder)
    with TestClient(app) as client:
        more = tmp_path / "more"
        more.mkdir()
        for seed in range(100, 104):
            noise_image(seed).save(more / f"{seed}.png")
        with Store(data.data_dir, writable=True) as store:  # another writer, as `rsclip index` would be
            store.bind_model(model_identity(encoder))
            IndexRun(store, encoder, progress=False).run([more])
            new_ids = sorted(set(store.get_many(range(1, 100))) - set(data.ids.values()))
        assert len(new_ids) == 4
        assert client.get(f"/search/similar/{new_ids[0]}").status_code == 404  # not in the served vectors yet

        reloaded = client.post("/admin/reload", headers=KEY)
        assert reloaded.status_code == 200
        assert reloaded.json()["items"] == reloaded.json()["vectors"] == 13
        for image_id in new_ids:
            assert client.get(f"/search/similar/{image_id}", params={"k": 3}).status_code == 200
        assert client.get("/stats").json()["vectors"] == 13

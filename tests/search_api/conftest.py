"""An index built from images the tests make (folder, zip, tar.gz) and an app serving it.

The session's index is built twice, with its catalog on SQLite and on PostgreSQL
(tests/catalogs.py), and every test of the app runs against each; the browser tests of
the page (marked ``sqlite_only``) run on SQLite alone.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.catalogs import CATALOGS, PostgresSchemas, postgres_server
from tests.conftest import noise_image

# The host name Starlette's TestClient sends; the apps under test answer it besides the loopback
# names (the Host check refuses every other name, see test_api_hosts.py).
TEST_CLIENT_HOSTS = ("testserver",)


def png_bytes(seed: int, size=(48, 40)) -> bytes:
    out = io.BytesIO()
    noise_image(seed, size).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class IndexedData:
    data_dir: Path
    inputs: Path
    ids: dict[str, int]  # location ("folder/a.png", "chips.zip!z1.png") -> image id
    database_url: str | None = None  # None: SQLite in data_dir


def _write_inputs(root: Path) -> list[Path]:
    folder = root / "scenes"
    folder.mkdir(parents=True)
    for seed in range(4):
        noise_image(seed).save(folder / f"scene_{seed}.png")
    noise_image(4, (64, 48)).save(folder / "scene_4.jpg", quality=90)
    with zipfile.ZipFile(root / "chips.zip", "w") as archive:
        archive.writestr("zipped/chip_5.png", png_bytes(5))
        archive.writestr("zipped/chip_6.png", png_bytes(6))
    with tarfile.open(root / "chips.tar.gz", "w:gz") as archive:
        for seed in (7, 8):
            data = png_bytes(seed)
            info = tarfile.TarInfo(f"tarred/chip_{seed}.png")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return [folder, root / "chips.zip", root / "chips.tar.gz"]


def build_index(root: Path, encoder, database_url: str | None = None) -> IndexedData:
    from indexer import IndexRun
    from indexer.sources import location
    from service.searcher import model_identity
    from storage import Store

    inputs = _write_inputs(root / "inputs")
    data_dir = root / "rsdata"
    with Store(data_dir, database_url=database_url, writable=True) as store:
        store.bind_model(model_identity(encoder))
        report = IndexRun(store, encoder, progress=False).run(inputs)
        assert report.added == 9 and not report.failures
        records = store.get_many(range(1, 100))
    ids = {location(r.source, r.member).removeprefix(str(root / "inputs") + "/"): r.id for r in records.values()}
    return IndexedData(data_dir, root / "inputs", ids, database_url)


def pytest_generate_tests(metafunc):
    """The session's index on each catalog engine for every test that reaches it, through
    ``client``, ``app`` or ``live_server`` too; tests marked ``sqlite_only`` (the page's, which
    test the page and not the catalog) on SQLite alone. Parametrized here rather than with
    ``params=`` on the fixture, so a module can narrow it without naming the fixture in each test."""
    if "indexed" in metafunc.fixturenames:
        engines = ("sqlite",) if metafunc.definition.get_closest_marker("sqlite_only") else CATALOGS
        metafunc.parametrize("indexed", engines, indirect=True, scope="session")


@pytest.fixture(scope="session")
def indexed(request, tmp_path_factory, encoder) -> IndexedData:
    database_url = None
    if request.param == "postgresql":
        schemas = PostgresSchemas(*postgres_server())
        request.addfinalizer(schemas.drop_all)
        database_url = schemas.new_url()
    return build_index(tmp_path_factory.mktemp("api-index"), encoder, database_url)


@pytest.fixture(scope="session")
def app(indexed, encoder):
    from search_api import ApiSettings, create_app

    settings = ApiSettings(
        data_dir=indexed.data_dir,
        database_url=indexed.database_url,
        max_upload_bytes=200_000,
        allowed_hosts=TEST_CLIENT_HOSTS,
    )
    return create_app(settings, encoder=encoder)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as client:
        yield client


@dataclass(frozen=True)
class LiveServer:
    url: str


@contextmanager
def serving(app):
    """``app`` under a real uvicorn on 127.0.0.1, on a port the OS picked (so runs never collide)."""
    import socket
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(400):  # bounded: at most ~20 s
        if server.started:
            started.set()
            break
        started.wait(0.05)
    assert server.started, "uvicorn did not start"
    yield LiveServer(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every page test of the session (each test opens its own context)."""
    from playwright.sync_api import sync_playwright

    from tests.search_api.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(app):
    with serving(app) as server:
        yield server


@dataclass(frozen=True)
class GeoIndexed:
    data_dir: Path
    records: list  # storage.ImageRecord, by id


@pytest.fixture(scope="session")
def geo_indexed(tmp_path_factory, encoder) -> GeoIndexed:
    """West scene (15 E, 2014) and east scene (16 E, 2020), 4 chips each, and two plain pictures."""
    from rasterio.transform import from_origin

    from tests.rasters import index_into, textured, write_geotiff

    root = tmp_path_factory.mktemp("api-geo")
    inputs = root / "inputs"
    inputs.mkdir()
    for name, lon, seed in (("west_20140720.tif", 15.0, 1), ("east_20200831.tif", 16.0, 2)):
        scene = textured((3, 128, 128), 0, 3000, seed=seed)
        write_geotiff(inputs / name, scene, crs="EPSG:4326", transform=from_origin(lon, 45.0, 0.001, 0.001))
    for seed in range(2):
        noise_image(seed).save(inputs / f"photo_{seed}.png")
    report, records = index_into(root / "data", encoder, [inputs], chip_size=64)
    assert report.added == 10 and report.failed == 0
    return GeoIndexed(root / "data", records)


@pytest.fixture(scope="session")
def geo_app(geo_indexed, encoder):
    from search_api import ApiSettings, create_app

    return create_app(ApiSettings(data_dir=geo_indexed.data_dir, allowed_hosts=TEST_CLIENT_HOSTS), encoder=encoder)

"""The catalog engines the storage, indexer, reindex, check and API tests run on.

A test module marked ``both_catalogs`` runs each test twice: on SQLite in the data
directory (the default) and on a real PostgreSQL server, whose URL
``scripts/test.sh`` exports as ``RSCLIP_TEST_POSTGRES_URL`` after starting one. Each
PostgreSQL catalog is a fresh schema of that server's database (creating one takes
a millisecond, a database a tenth of a second), dropped after the test.

Without a reachable server the PostgreSQL half is skipped with the reason in the
summary; under CI (``CI=true``) it fails instead, so CI can never silently skip it.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "RSCLIP_TEST_POSTGRES_URL"
CATALOGS = ("sqlite", "postgresql")
UNAVAILABLE = "PostgreSQL catalog NOT TESTED"


def postgres_unavailable(why: str):
    """Skip (fail under CI) a test that needs the PostgreSQL server."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{UNAVAILABLE} under CI: {why}", pytrace=False)
    pytest.skip(f"{UNAVAILABLE}: {why}")


# One counter for the whole run: a schema name is never reused, so a lock a finished test's
# lingering connection still holds (session advisory locks are keyed by schema) cannot refuse a later test.
_SCHEMA_NUMBERS = itertools.count()


class PostgresSchemas:
    """Fresh, empty catalogs on the test server: one schema each, all dropped at the end."""

    def __init__(self, url: str, admin: Engine):
        self.url, self.admin = url, admin
        self.made: list[str] = []

    def new_url(self) -> str:
        schema = f"rsclip_t{os.getpid()}_{next(_SCHEMA_NUMBERS)}"
        with self.admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        self.made.append(schema)
        # search_path: everything the catalog creates or reads lives in that schema
        url = make_url(self.url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '5s'"))
            for schema in self.made:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        self.made.clear()


_server: tuple[str, Engine] | str | None = None


def postgres_server() -> tuple[str, Engine]:
    """(url, admin engine) of the test server; skips (fails under CI) without one. Checked once."""
    global _server
    if _server is None:
        url = os.environ.get(POSTGRES_URL_ENV)
        if not url:
            _server = f"{POSTGRES_URL_ENV} is not set (scripts/test.sh starts a server and sets it)"
        else:
            admin = create_engine(url, poolclass=NullPool)
            try:
                admin.connect().close()
                _server = (url, admin)
            except Exception as exc:  # noqa: BLE001 -- any failure to connect means: no server
                _server = f"cannot reach {url}: {exc}".splitlines()[0]
    if isinstance(_server, str):
        postgres_unavailable(_server)
    return _server


@pytest.fixture
def postgres_schemas():
    """New PostgreSQL catalogs for this test (``.new_url()``), dropped after it."""
    schemas = PostgresSchemas(*postgres_server())
    yield schemas
    schemas.drop_all()


@pytest.fixture
def postgres_url(postgres_schemas) -> str:
    """The URL of one fresh, empty PostgreSQL catalog."""
    return postgres_schemas.new_url()


@pytest.fixture(autouse=True)
def catalog_backend(request, monkeypatch) -> str:
    """Which engine this test's catalogs use. On PostgreSQL, every data directory the test
    opens without a database URL gets a fresh schema of its own, as if its catalog lived there."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        import storage.catalog

        schemas = request.getfixturevalue("postgres_schemas")
        by_dir: dict[Path, str] = {}

        def catalog_of(data_dir: Path) -> str:
            key = Path(data_dir).resolve()
            if key not in by_dir:
                by_dir[key] = schemas.new_url()
            return by_dir[key]

        monkeypatch.setattr(storage.catalog, "default_database_url", catalog_of)
    return backend


def parametrize_catalogs(metafunc) -> None:
    """Run tests marked ``both_catalogs`` (and not ``sqlite_only``) on both engines."""
    definition = metafunc.definition
    if definition.get_closest_marker("both_catalogs") and not definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("catalog_backend", CATALOGS, indirect=True)


def summarize(terminalreporter) -> None:
    """Say loudly, at the end of the run, that the PostgreSQL half did not run."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and UNAVAILABLE in str(report.longrepr[2])
    ]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} tests SKIPPED: {UNAVAILABLE}", red=True, bold=True)
        terminalreporter.write_line(str(skipped[0].longrepr[2]))


def catalog_sql(data_dir: Path, script: str, **params) -> list[tuple]:
    """Run SQL (statements separated by ';') on ``data_dir``'s catalog, whichever engine holds it,
    in one transaction, as a hand or an older version would have; the last statement's rows."""
    import storage.catalog

    engine = create_engine(storage.catalog.default_database_url(Path(data_dir)), poolclass=NullPool)
    rows: list[tuple] = []
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            for statement in filter(None, (part.strip() for part in script.split(";"))):
                result = connection.execute(text(statement), params)
                rows = [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()
    return rows


def catalog_dialect(data_dir: Path) -> str:
    """Which engine holds ``data_dir``'s catalog: ``sqlite`` or ``postgresql``."""
    import storage.catalog

    return make_url(storage.catalog.default_database_url(Path(data_dir))).get_backend_name()

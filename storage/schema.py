"""Create the catalog, or bring an older one up to date with numbered migrations.

A new database gets the current tables and is stamped with ``CURRENT_VERSION``;
an existing one runs every migration above its stamp, in order, in one transaction.
To change the schema: edit the models, append a migration, bump the version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    func,
    select,
    text,
)

from storage.models import Base, ImageGeoRow, SchemaVersionRow


def _add_image_geo(connection: Connection, _data_dir: Path) -> None:
    """Version 2: raster chips' scene, window and geo metadata (issue 5)."""
    ImageGeoRow.__table__.create(connection, checkfirst=True)


def _add_index_runs(connection: Connection, _data_dir: Path) -> None:
    """Version 3: record each index run and the inputs it could not index (issue 6).

    The tables are spelled out here, frozen as they were at version 3, rather than
    taken from the models, so that a later change to the models cannot change what
    this step creates.
    """
    metadata = MetaData()
    Table(
        "index_runs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True), nullable=False),
        Column("inputs", JSON, nullable=False),
        *(Column(name, Integer, nullable=False) for name in ("seen", "added", "already_indexed", "duplicates", "failed")),
        Column("failures_by_kind", JSON, nullable=False),
    )
    Table(
        "index_failures",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, ForeignKey("index_runs.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("source", String, nullable=False),
        Column("member", String, nullable=False),
        Column("kind", String(32), nullable=False),
        Column("reason", String, nullable=False),
    )
    metadata.create_all(connection)


def _v4_locations_and_generation_status(connection: Connection, _data_dir: Path) -> None:
    """Version 4: ``locations`` (each file, archive member or raster chip window that holds an
    image, backfilled from ``images``) and ``generations.status``, for incremental updates,
    prune and resumable reindex (issue 4).

    Written as plain DDL, not from the models, so it stays what it was when later
    migrations change the models. Chips get their window as part, without the chipping
    recipe (it was never recorded): the first index run afterwards reads each scene once
    more, embeds nothing, and records the recipe. The few words SQLite and PostgreSQL
    spell differently (an auto-numbered key, false) are chosen by the connection's dialect.
    """
    postgres = connection.dialect.name == "postgresql"
    false = "FALSE" if postgres else "0"
    connection.execute(
        text(
            "CREATE TABLE locations ("
            + (" id SERIAL PRIMARY KEY," if postgres else " id INTEGER NOT NULL PRIMARY KEY,")
            + " source VARCHAR NOT NULL,"
            " member VARCHAR NOT NULL,"
            " part VARCHAR NOT NULL DEFAULT '',"
            f" byte_size {'BIGINT' if postgres else 'INTEGER'} NOT NULL,"
            " mtime FLOAT,"
            " image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
            f" indexing BOOLEAN NOT NULL DEFAULT {false})"
        )
    )
    connection.execute(text("CREATE UNIQUE INDEX ix_locations_place ON locations (source, member, part)"))
    connection.execute(text("CREATE INDEX ix_locations_image_id ON locations (image_id)"))
    part = (
        "COALESCE(g.window_x || ',' || g.window_y || ',' || g.window_width || ',' || g.window_height, '')"
    )
    connection.execute(
        text(
            "INSERT INTO locations (source, member, part, byte_size, mtime, image_id, indexing)"
            f" SELECT i.source, i.member, {part}, i.byte_size, i.mtime, i.id, {false}"
            " FROM images i LEFT JOIN image_geo g ON g.image_id = i.id"
            # a path re-indexed after its content changed has several rows: the newest holds
            f" WHERE i.id IN (SELECT max(i.id) FROM images i LEFT JOIN image_geo g ON g.image_id = i.id"
            f" GROUP BY i.source, i.member, {part})"
        )
    )
    connection.execute(text("ALTER TABLE generations ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'ready'"))



def _record_index_builds(connection: Connection, _data_dir: Path) -> None:
    """Version 5: how each generation's vector index was last built (type, nprobe, measured recall) (issue 8)."""
    for column, kind in (
        ("index_built_vectors", "INTEGER"),
        ("index_build_seconds", "FLOAT"),
        ("index_nprobe", "INTEGER"),
        ("index_recall_at_10", "FLOAT"),
        ("index_text_recall_at_10", "FLOAT"),
        ("index_text_queries", "VARCHAR(16)"),
    ):
        connection.execute(text(f"ALTER TABLE generations ADD COLUMN {column} {kind}"))


def _record_scene_fingerprints(connection: Connection, _data_dir: Path) -> None:
    """Version 6: each chip's scene sha256, checked before its pixels are served (issue 11).

    Older chips keep NULL and are checked by recomputing their own sha256 instead. (A
    catalog that came through version 2 here already has the column: that step creates
    ``image_geo`` from the current model.)
    """
    if "scene_sha256" not in {column["name"] for column in inspect(connection).get_columns("image_geo")}:
        connection.execute(text("ALTER TABLE image_geo ADD COLUMN scene_sha256 VARCHAR(64)"))


def _v7_vectors_to_files(connection: Connection, data_dir: Path) -> None:
    """Version 7: vectors move from fp32 blobs in ``embeddings`` to each generation's fp16
    vector file (storage/vector_file.py); rows keep their slot (issue 14).

    Streams generation by generation, image by image, so memory stays bounded. Each
    file is rewritten from its start, so a migration killed half-way (its transaction
    rolled back) simply runs again. A blob of the wrong size gets slot -1: ``rsclip
    check`` reports it and ``--repair`` re-embeds the image.
    """
    from storage.vector_file import VectorFile  # storage's own module; no model import

    connection.execute(text("ALTER TABLE embeddings ADD COLUMN slot INTEGER NOT NULL DEFAULT -1"))
    connection.execute(text("ALTER TABLE generations ADD COLUMN vector_slots INTEGER NOT NULL DEFAULT 0"))
    connection.execute(text("ALTER TABLE generations ADD COLUMN index_rerank INTEGER"))
    connection.execute(text("ALTER TABLE generations ADD COLUMN index_memory_budget BIGINT"))
    generations = connection.execute(text("SELECT id, dimension FROM generations ORDER BY id")).all()
    for generation_id, dimension in generations:
        vectors = VectorFile(data_dir, generation_id, dimension, committed=0)
        last_id = -1
        while True:
            rows = connection.execute(
                text(
                    "SELECT image_id, vector FROM embeddings WHERE generation_id = :g AND image_id > :last"
                    " ORDER BY image_id LIMIT 4096"
                ),
                {"g": generation_id, "last": last_id},
            ).all()
            if not rows:
                break
            last_id = rows[-1][0]
            good = [(image_id, blob) for image_id, blob in rows if blob is not None and len(blob) == 4 * dimension]
            if not good:
                continue
            ids = np.array([image_id for image_id, _ in good], dtype=np.int64)
            block = np.frombuffer(b"".join(bytes(blob) for _, blob in good), dtype=np.float32).reshape(len(good), dimension)
            start, end = vectors.write(ids, block)
            vectors.commit(end)
            connection.execute(
                text("UPDATE embeddings SET slot = :slot WHERE generation_id = :g AND image_id = :i"),
                [{"slot": start + n, "g": generation_id, "i": int(i)} for n, i in enumerate(ids)],
            )
        connection.execute(
            text("UPDATE generations SET vector_slots = :n WHERE id = :g"), {"n": vectors.committed, "g": generation_id}
        )
    connection.execute(text("ALTER TABLE embeddings DROP COLUMN vector"))


# Every column that holds an image id (images.id is also the FAISS id).
IMAGE_ID_COLUMNS = (("images", "id"), ("embeddings", "image_id"), ("locations", "image_id"), ("image_geo", "image_id"))


def _v8_bigint_image_ids(connection: Connection, _data_dir: Path) -> None:
    """Version 8: image ids are 64-bit on PostgreSQL, as they always were on SQLite (whose
    INTEGER PRIMARY KEY is the 64-bit rowid: nothing to change there). SERIAL made them
    int4, and an id past 2^31 - 1 could be neither stored nor looked up."""
    if connection.dialect.name != "postgresql":
        return
    for table, column in IMAGE_ID_COLUMNS:
        connection.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))
    sequence = connection.execute(text("SELECT pg_get_serial_sequence('images', 'id')")).scalar_one()
    if sequence is not None:  # SERIAL's sequence stops at 2^31 - 1 too
        connection.execute(text(f"ALTER SEQUENCE {sequence} AS BIGINT"))


def _v9_depth_per_query_kind(connection: Connection, _data_dir: Path) -> None:
    """Version 9: text-like queries get their own nprobe and re-rank depth (issue 14); the
    existing columns become image-like queries'. NULL (every older build) keeps one depth
    for both kinds, as it was built."""
    for column in ("index_text_nprobe", "index_text_rerank"):
        connection.execute(text(f"ALTER TABLE generations ADD COLUMN {column} INTEGER"))


def _v10_candidates_per_query_kind(connection: Connection, _data_dir: Path) -> None:
    """Version 10: the PQ candidates each kind of query takes, when it re-ranks only the best
    of them by a corrected score (issue 14; NULL, every older build: it re-ranks all it
    takes), and how many cells were trained for what text queries lean towards."""
    for column in ("index_candidates", "index_text_candidates", "index_text_cells"):
        connection.execute(text(f"ALTER TABLE generations ADD COLUMN {column} INTEGER"))


# MIGRATIONS[n] upgrades a database from version n + 1 to n + 2.
MIGRATIONS: list[Callable[[Connection, Path], None]] = [
    _add_image_geo,
    _add_index_runs,
    _v4_locations_and_generation_status,
    _record_index_builds,
    _record_scene_fingerprints,
    _v7_vectors_to_files,
    _v8_bigint_image_ids,
    _v9_depth_per_query_kind,
    _v10_candidates_per_query_kind,
]
CURRENT_VERSION = 1 + len(MIGRATIONS)


# First half of the advisory lock key held while the schema is created or migrated (an arbitrary constant).
SCHEMA_LOCK_CLASS = 0x7273_6373  # "rscs"


class SchemaTooNewError(RuntimeError):
    pass


def ensure_schema(engine: Engine, data_dir: Path | None = None) -> int:
    """Return the schema version after creating or migrating the database.

    ``data_dir`` holds the files beside the catalog (migration 7 writes vector files there).
    On PostgreSQL, processes on several machines may open a new catalog at once (two
    replicas starting): a transaction-scoped advisory lock lets one create it while the
    others wait, then find it made. SQLite's write transaction already serialises them.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_CLASS, func.hashtext(func.current_schema()))))
        if not inspect(connection).has_table(SchemaVersionRow.__tablename__):
            Base.metadata.create_all(connection)
            connection.execute(SchemaVersionRow.__table__.insert().values(version=CURRENT_VERSION))
            return CURRENT_VERSION
        version = connection.execute(select(SchemaVersionRow.version)).scalar_one()
        if version > CURRENT_VERSION:
            raise SchemaTooNewError(
                f"The catalog has schema version {version}; this rsclip-search knows up to "
                f"{CURRENT_VERSION}. Upgrade rsclip-search to open it."
            )
        if version == CURRENT_VERSION:
            return version  # opening an up-to-date catalog writes nothing (readers on full or read-only disks)
        for migrate in MIGRATIONS[version - 1 :]:
            migrate(connection, Path(data_dir) if data_dir is not None else Path("."))
        connection.execute(SchemaVersionRow.__table__.update().values(version=CURRENT_VERSION))
        return CURRENT_VERSION

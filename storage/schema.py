"""Create the catalog, or bring an older one up to date with numbered migrations.

A new database gets the current tables and is stamped with ``CURRENT_VERSION``;
an existing one runs every migration above its stamp, in order, in one transaction.
To change the schema: edit the models, append a migration, bump the version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from storage.models import Base, SchemaVersionRow


def _record_index_builds(connection: Connection) -> None:
    """2: how each generation's vector index was last built (type, nprobe, measured recall)."""
    for column, kind in (
        ("index_built_vectors", "INTEGER"),
        ("index_build_seconds", "FLOAT"),
        ("index_nprobe", "INTEGER"),
        ("index_recall_at_10", "FLOAT"),
        ("index_text_recall_at_10", "FLOAT"),
        ("index_text_queries", "VARCHAR(16)"),
    ):
        connection.execute(text(f"ALTER TABLE generations ADD COLUMN {column} {kind}"))


# MIGRATIONS[n] upgrades a database from version n + 1 to n + 2.
MIGRATIONS: list[Callable[[Connection], None]] = [_record_index_builds]
CURRENT_VERSION = 1 + len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    pass


def ensure_schema(engine: Engine) -> int:
    """Return the schema version after creating or migrating the database."""
    with engine.begin() as connection:
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
        for migrate in MIGRATIONS[version - 1 :]:
            migrate(connection)
        connection.execute(SchemaVersionRow.__table__.update().values(version=CURRENT_VERSION))
        return CURRENT_VERSION

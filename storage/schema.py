"""Create the catalog, or bring an older one up to date with numbered migrations.

A new database gets the current tables and is stamped with ``CURRENT_VERSION``;
an existing one runs every migration above its stamp, in order, in one transaction.
To change the schema: edit the models, append a migration, bump the version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select

from storage.models import Base, ImageGeoRow, SchemaVersionRow


def _add_image_geo(connection: Connection) -> None:
    """Version 2: raster chips' scene, window and geo metadata (issue 5)."""
    ImageGeoRow.__table__.create(connection, checkfirst=True)


# MIGRATIONS[n] upgrades a database from version n + 1 to n + 2.
MIGRATIONS: list[Callable[[Connection], None]] = [_add_image_geo]
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

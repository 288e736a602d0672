"""Opening the store: engine creation for SQLite (default, zero setup) and PostgreSQL (by URL),
and bringing the schema up to date with Alembic before first use."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from iotwarden.core.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - a packaging error, not a user error
        raise StoreError(f"no migrations found in {MIGRATIONS}")
    return head


_NUMBERED = re.compile(r"^(\d{4})_\w+\.py$")


def numbered_head() -> str | None:
    """The highest-numbered migration file's revision ('0006'): revisions here are numbered
    in a line, so this is the head, known without importing Alembic (a test checks it)."""
    numbers = [
        m.group(1) for f in (MIGRATIONS / "versions").iterdir() if (m := _NUMBERED.match(f.name))
    ]
    return max(numbers, default=None)


def _current_revision(engine: Engine) -> str | None:
    """The store's revision by plain SQL (None: a new store, or an unreadable one)."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None  # let the full path below report it
    return rows[0][0] if len(rows) == 1 else None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA wal_autocheckpoint=8192")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"{url!r} is not a database URL (e.g. sqlite:///path/to.db)") from e
    kwargs: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    f"cannot create the folder {folder} for the store {url!r}: {e.strerror or e}"
                ) from e
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as e:
        raise StoreError(f"cannot use database {url!r}: {e}") from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade(engine: Engine) -> None:
    """Apply pending migrations (idempotent; cheap when already at head: a store at the head
    revision is recognised by one query, without importing Alembic, Mako and Pygments)."""
    head = numbered_head()
    if head is not None and _current_revision(engine) == head:
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.begin() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head_revision():
                return
            log.info("migrating store from %s to %s", current, head_revision())
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except OperationalError as e:
        raise StoreError(f"cannot open the store at {engine.url!r}: {e.orig}") from e
    except SQLAlchemyError as e:
        raise StoreError(f"cannot migrate the store at {engine.url!r}: {e}") from e


@dataclass
class Store:
    """An opened, migrated store. Repositories take it; the CLI opens one per command."""

    engine: Engine

    @classmethod
    def open(cls, url: str) -> Store:
        engine = create_store_engine(url)
        upgrade(engine)
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

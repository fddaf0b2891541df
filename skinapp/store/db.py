"""Engines and schema migrations of the case store.

SQLite is made safe for several app sessions (threads) and processes writing at once:

- ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers;
- ``busy_timeout``: a writer waits up to :data:`BUSY_TIMEOUT_S` for another one instead of
  failing with "database is locked";
- write transactions start with ``BEGIN IMMEDIATE``, so two writers queue at the start
  instead of one failing when it upgrades its read lock (which the busy timeout does not
  cover);
- ``secure_delete=ON``: erased rows (photos included) are overwritten with zeros, not left
  in free pages of the file; ``foreign_keys=ON`` for the image rows' cascade.

The schema is created on first use and upgraded by Alembic (revisions in
``skinapp/store/migrations/versions``) inside one locked transaction, so two processes
starting on a new store do not race: SQLite's write lock, PostgreSQL's advisory lock.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from skinapp.store.config import StoreConfig, store_config
from skinapp.store.errors import StoreUnavailableError

__all__ = [
    "BUSY_TIMEOUT_S",
    "IMMEDIATE",
    "create_store_engine",
    "head_revision",
    "schema_revision",
    "upgrade",
]

logger = logging.getLogger(__name__)

#: How long a SQLite writer waits for another one (a save takes milliseconds).
BUSY_TIMEOUT_S = 30.0
#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
IMMEDIATE = "skinapp_begin_immediate"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating ("skinapp" in ASCII).
_PG_LOCK_KEY = 0x736B696E617070


def create_store_engine(config: StoreConfig | None = None) -> Engine:
    """An engine for the configured store (the SQLite folder is created, private to the user).

    Raises
    ------
    StoreConfigError
        Bad environment settings.
    StoreUnavailableError
        The data folder cannot be created.
    """
    config = config or store_config()
    if not config.is_sqlite:
        return create_engine(config.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    _prepare_sqlite_file(Path(config.url.database))
    engine = create_engine(
        config.url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _prepare_sqlite_file(path: Path) -> None:
    """Create the folder (mode 700) and an empty database file (mode 600): photos of
    patients must not be readable by other users of the machine. WAL files inherit it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    except OSError as err:
        raise StoreUnavailableError(
            f"Cannot create the case store at {path}: {err.strerror}. Set SKINAPP_DATA_DIR to "
            "a writable folder."
        ) from err


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun in _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def schema_revision(engine: Engine) -> str | None:
    """The schema revision of the database (None before the first migration)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to :func:`head_revision` under a lock; idempotent.

    Raises
    ------
    StoreUnavailableError
        The database cannot be reached or migrated.
    """
    cfg = _alembic_config()
    try:
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(cfg).get_current_head()
            if current != head:
                logger.info("Migrating the case store from %s to %s", current, head)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    except SQLAlchemyError as err:
        raise StoreUnavailableError(
            f"The case store could not be opened ({engine.url.render_as_string()}): "
            f"{err.__class__.__name__}: {getattr(err, 'orig', err)}"
        ) from err
    return head

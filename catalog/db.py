"""Database engine and schema migrations. Nothing is created at import time."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import Pool
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
READ_ONLY_OPTION = "procure_read_only"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (`postgres://`, `postgresql://`) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINTs (a released savepoint
            # commits); let SQLAlchemy issue BEGIN itself so nested transactions roll back.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Writers take the write lock up front (no lock-upgrade deadlocks between the bot
            # and the worker); readers must not, or every read would queue behind the others.
            read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (every head: features add their
    migrations on their own branch from the base when developed side by side)."""
    command.upgrade(alembic_config(engine), "heads")


_WRITERS: weakref.WeakKeyDictionary[Pool, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """On SQLite, the threads of this process that write take turns on a lock of their own.

    SQLite lets one writer in at a time; the others poll the file lock, sleeping a little
    longer after each try (its busy handler), so under load the database sat idle between
    writers that were still asleep. A Python lock hands over at once. Other processes (the
    bot and the worker both write) still meet at SQLite's lock, as before."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(engine.pool, threading.RLock())


def holds_write_lock(session: Session) -> bool:
    """Whether this session's transaction already holds its database's only write lock: a
    SQLite writer, which began with BEGIN IMMEDIATE. Nobody else can insert a row between
    what it reads and what it writes."""
    connection = session.connection()
    return connection.dialect.name == "sqlite" and not connection.get_execution_options().get(READ_ONLY_OPTION, False)


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any error.

    `read_only=True` promises no writes; on SQLite it lets readers run side by side."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    with (
        nullcontext() if read_only else _writer_lock(engine),
        Session(bind, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session

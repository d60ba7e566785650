"""Writing a row once by its business key, and reading one by its primary key: the helpers
every domain module of the repository builds its idempotent writes on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Executable, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

from catalog.db import holds_write_lock

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


def insert_unless_present(
    session: Session, model: type[SQLModel], key: str, values: dict[str, Any], existing: Callable[[], SQLModel | None]
) -> bool:
    """Insert a `model` row of `values` unless one with the same unique `key` exists; returns
    whether this call inserted it. On SQLite and PostgreSQL one `INSERT … ON CONFLICT (key) DO
    NOTHING`, built once per table: safe against a concurrent insert without a look-up first,
    a savepoint or the ORM's flush, which for these small hot rows cost more than the insert."""
    connection = session.connection()
    statement = conflict_free_insert(model, (key,), connection.dialect.name)
    if statement is None:  # another database: the portable way
        row = model(**values)
        return insert_once(session, row, existing) is row
    return connection.execute(statement, values).first() is not None


@cache
def conflict_free_insert(model: type[SQLModel], key: tuple[str, ...], dialect_name: str) -> Executable | None:
    """`INSERT … ON CONFLICT (key) DO NOTHING RETURNING` the primary key, for SQLite and
    PostgreSQL (None for another database): it returns a row only when it inserted one."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if dialect is None:
        return None
    [primary] = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    insert: Executable = dialect.insert(model).on_conflict_do_nothing(index_elements=list(key)).returning(primary)
    return insert


def insert_once(session: Session, row: T, existing: Callable[[], T | None]) -> T:
    """Insert `row` unless a row with the same key exists; safe against a concurrent insert."""
    found = existing()
    if found is not None:
        return found
    if holds_write_lock(session):
        # SQLite: the check above cannot be raced, so no savepoint is needed to survive one.
        session.add(row)
        session.flush()
        return row
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found
    return row


def insert_row_once(session: Session, row: M, key: tuple[str, ...], existing: Callable[[], M | None]) -> tuple[M, bool]:
    """`insert_once` for the rows an approved request writes: returns the stored row and
    whether this call inserted it. On SQLite and PostgreSQL one `conflict_free_insert` of
    every column of `row` (what the ORM's flush would write): no look-up first, no savepoint,
    no flush. The row returned when this call inserted it is `row` itself with its new
    primary key, not attached to the session: read it, do not change it (an update goes
    through the repository's functions)."""
    model = type(row)
    connection = session.connection()
    statement = conflict_free_insert(model, key, connection.dialect.name)
    if statement is None:  # another database: the portable way
        stored = insert_once(session, row, existing)
        return stored, stored is row
    table = model.__table__  # type: ignore[attr-defined]
    values = {c.key: getattr(row, c.key) for c in table.columns if not (c.primary_key and getattr(row, c.key) is None)}
    new_key = connection.execute(statement, values).scalar()
    if new_key is None:
        found = existing()
        if found is None:
            raise LookupError(f"{model.__name__} {values} conflicts with a row that cannot be found")
        return found, False
    for column in table.primary_key.columns:
        setattr(row, column.key, new_key)
    return row, True


def by_key(session: Session, model: type[M], statement: SelectOfScalar[M], pk: str) -> M | None:
    """`session.get` for a string primary key: the row this session already holds, else one
    prebuilt select (`session.get` builds its query on every miss, ~4× the select's cost)."""
    if identity_key(model, pk) in session.identity_map:
        return session.get(model, pk)
    return session.exec(statement, params={"pk": pk}).first()


def first_row(session: Session, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
    session.flush()
    return session.connection().execute(statement, params).first()


def save(session: Session, row: T) -> T:
    """Write `row` as changed in this session (a new one is added), and return it."""
    session.add(row)
    session.flush()
    return row

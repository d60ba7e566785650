"""What the migrations write alike: columns by kind, and nullable columns added to tables that
exist (tables.py has the tables, keys and indexes).

A table a migration creates reads like its model: one line a column, naming its kind (a string
of some length, cents, a timestamp, ...), `null=True` where the field is optional (NOT NULL
otherwise, as a model's required field) and `unique=True` where the model's field says so.

A migration that adds columns names them once, table by table; its downgrade drops the same
columns in the reverse order (tables last-added first), each table in one batch as before, so
SQLite recreates a table once whatever it loses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

# table -> the columns it gains, in order: (name, type); every one of them nullable.
NewColumns = Mapping[str, Sequence[tuple[str, Any]]]


def string(length: int) -> sa.types.TypeEngine[str]:
    """The VARCHAR(length) SQLModel's `str` fields map to."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def varchar(name: str, length: int, *, null: bool = False, unique: bool = False) -> sa.Column[str]:
    """A `str` field of `max_length=length`."""
    return sa.Column(name, string(length), nullable=null, unique=unique)


def text(name: str, *, null: bool = False) -> sa.Column[str]:
    """A `str` field of no length (sa.Text)."""
    return sa.Column(name, sa.Text(), nullable=null)


def integer(name: str, *, null: bool = False, unique: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=null, unique=unique)


def cents(name: str, *, null: bool = False) -> sa.Column[int]:
    """An amount of money in cents: BIGINT, as the models' `sa_type=BigInteger`."""
    return sa.Column(name, sa.BigInteger(), nullable=null)


def boolean(name: str, *, null: bool = False) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=null)


def date(name: str, *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Date(), nullable=null)


def timestamp(name: str, *, null: bool = False) -> sa.Column[Any]:
    """A moment: DateTime with its time zone."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=null)


def json(name: str, *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=null)


def add_columns(tables: NewColumns) -> None:
    for table, columns in tables.items():
        with op.batch_alter_table(table) as batch:
            for name, type_ in columns:
                batch.add_column(sa.Column(name, type_, nullable=True))


def drop_columns(tables: NewColumns) -> None:
    for table, columns in reversed(tables.items()):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)

"""What the migrations write alike: string columns, and nullable columns added to tables that exist.

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


def create_id_table(name: str, *columns_and_constraints: sa.schema.SchemaItem) -> None:
    """`op.create_table` of a table keyed by an integer `id`, its first column."""
    op.create_table(
        name, sa.Column("id", sa.Integer(), nullable=False), *columns_and_constraints, sa.PrimaryKeyConstraint("id")
    )

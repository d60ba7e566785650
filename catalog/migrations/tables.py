"""What the migrations write alike about tables: one keyed by an integer `id`, a foreign key,
and the indexes a model's `index=True` names `ix_<table>_<column>`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_id_table(name: str, *columns_and_constraints: sa.schema.SchemaItem) -> None:
    """`op.create_table` of a table keyed by an integer `id`, its first column."""
    op.create_table(
        name, sa.Column("id", sa.Integer(), nullable=False), *columns_and_constraints, sa.PrimaryKeyConstraint("id")
    )


def references(column: str, target: str) -> sa.ForeignKeyConstraint:
    """`column` holds a key of `target` ("table.column")."""
    return sa.ForeignKeyConstraint([column], [target])


def create_index(table: str, *columns: str, unique: bool = False) -> None:
    """The index `ix_<table>_<first column>` on `columns`, the name a model's `index=True` gives."""
    op.create_index(f"ix_{table}_{columns[0]}", table, list(columns), unique=unique)


def drop_index(table: str, column: str) -> None:
    """Drops the index `create_index(table, column, ...)` made."""
    op.drop_index(f"ix_{table}_{column}", table_name=table)

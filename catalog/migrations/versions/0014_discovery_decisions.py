"""discovery decisions: ITAM's adopt / block / ignore on a discovered product, and its digest

Revision ID: 0014_discovery_decisions
Revises: 0013_console_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014_discovery_decisions"
down_revision = "0013_console_indexes"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


_COLUMNS = (
    ("decision", _string(16)),
    ("decision_reason", sa.Text()),
    ("decided_by", _string(320)),
    ("suppressed_until", sa.Date()),
    ("asset_id", sa.Integer()),
    ("digest_channel", _string(32)),
    ("digest_ts", _string(32)),
)


def upgrade() -> None:
    with op.batch_alter_table("discovery") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_discovery_digest_ts", "discovery", ["digest_ts"])


def downgrade() -> None:
    op.drop_index("ix_discovery_digest_ts", table_name="discovery")
    with op.batch_alter_table("discovery") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)

"""discovery decisions: ITAM's adopt / block / ignore on a discovered product, and its digest"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import add_columns, drop_columns, string

revision = "0014_discovery_decisions"
down_revision = "0013_console_indexes"

COLUMNS = {
    "discovery": [
        ("decision", string(16)),
        ("decision_reason", sa.Text()),
        ("decided_by", string(320)),
        ("suppressed_until", sa.Date()),
        ("asset_id", sa.Integer()),
        ("digest_channel", string(32)),
        ("digest_ts", string(32)),
    ]
}


def upgrade() -> None:
    add_columns(COLUMNS)
    op.create_index("ix_discovery_digest_ts", "discovery", ["digest_ts"])


def downgrade() -> None:
    op.drop_index("ix_discovery_digest_ts", table_name="discovery")
    drop_columns(COLUMNS)

"""web console: API and calendar tokens, stored as their SHA-256 only"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import create_id_table, timestamp, varchar

revision = "0012_web_console"
down_revision = "0011_spend_discovery"


def upgrade() -> None:
    create_id_table(
        "web_api_token",
        varchar("token_hash", 64),
        varchar("email", 320),
        varchar("purpose", 16),
        varchar("label", 200, null=True),
        timestamp("created_at"),
        varchar("created_by", 320),
        timestamp("expires_at", null=True),
        timestamp("revoked_at", null=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_api_token_email", "web_api_token", ["email"])


def downgrade() -> None:
    op.drop_index("ix_web_api_token_email", table_name="web_api_token")
    op.drop_table("web_api_token")

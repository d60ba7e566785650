"""web console: API and calendar tokens, stored as their SHA-256 only"""

from __future__ import annotations

from alembic import op

from catalog.migrations.columns import timestamp, varchar
from catalog.migrations.tables import create_id_table, create_index, drop_index

revision = "0012_web_console"
down_revision = "0011_spend_discovery"


def upgrade() -> None:
    create_id_table(
        "web_api_token",
        varchar("token_hash", 64, unique=True),
        varchar("email", 320),
        varchar("purpose", 16),
        varchar("label", 200, null=True),
        timestamp("created_at"),
        varchar("created_by", 320),
        timestamp("expires_at", null=True),
        timestamp("revoked_at", null=True),
    )
    create_index("web_api_token", "email")


def downgrade() -> None:
    drop_index("web_api_token", "email")
    op.drop_table("web_api_token")

"""web console: API and calendar tokens, stored as their SHA-256 only"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from catalog.migrations.columns import create_id_table

revision = "0012_web_console"
down_revision = "0011_spend_discovery"


def upgrade() -> None:
    create_id_table(
        "web_api_token",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_api_token_email", "web_api_token", ["email"])


def downgrade() -> None:
    op.drop_index("ix_web_api_token_email", table_name="web_api_token")
    op.drop_table("web_api_token")

"""discovery: card and marketplace spend lines, SSO app usage, and the products discovered"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from catalog.migrations.columns import create_id_table

revision = "0011_spend_discovery"
down_revision = "0010_request_expands_asset"


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    create_id_table(
        "spend_line",
        sa.Column("source_key", _string(64), nullable=False),
        sa.Column("source", _string(8), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("descriptor", _string(300), nullable=False),
        sa.Column("payer_email", _string(320), nullable=True),
        sa.Column("cost_center", _string(64), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", _string(3), nullable=False),
        sa.Column("transaction_id", _string(128), nullable=True),
        sa.Column("memo", _string(300), nullable=True),
        sa.Column("marketplace", sa.Boolean(), nullable=False),
        sa.Column("provider", _string(16), nullable=True),
        sa.Column("publisher", _string(200), nullable=True),
        sa.Column("service_name", _string(200), nullable=True),
        sa.Column("sub_account_id", _string(128), nullable=True),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("request_id", _string(32), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitment.id"]),
        sa.UniqueConstraint("source_key"),
    )
    # No index but the key's: discovery reads every line up to a day in one GROUP BY, and each
    # index would slow the import of a million-line export (docs/decisions.md, "Discovery").
    create_id_table(
        "sso_app_usage",
        sa.Column("app_key", _string(200), nullable=False),
        sa.Column("app", _string(200), nullable=False),
        sa.Column("user_email", _string(320), nullable=False),
        sa.Column("last_login", sa.Date(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("app_key", "user_email"),
    )
    op.create_index("ix_sso_app_usage_app_key", "sso_app_usage", ["app_key"])
    create_id_table(
        "discovery",
        sa.Column("key", _string(200), nullable=False),
        sa.Column("product_id", _string(64), nullable=True),
        sa.Column("name", _string(200), nullable=False),
        sa.Column("vendor", _string(200), nullable=True),
        sa.Column("category", _string(64), nullable=True),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("spend_cents", sa.JSON(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("payers", sa.JSON(), nullable=False),
        sa.Column("cost_centers", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=True),
        sa.Column("last_seen", sa.Date(), nullable=True),
        sa.Column("sso_users", sa.Integer(), nullable=False),
        sa.Column("marketplace_lines", sa.Integer(), nullable=False),
        sa.Column("unreconciled_lines", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_discovery_product_id", "discovery", ["product_id"])
    op.create_index("ix_discovery_status", "discovery", ["status"])


def downgrade() -> None:
    op.drop_index("ix_discovery_status", table_name="discovery")
    op.drop_index("ix_discovery_product_id", table_name="discovery")
    op.drop_table("discovery")
    op.drop_index("ix_sso_app_usage_app_key", table_name="sso_app_usage")
    op.drop_table("sso_app_usage")
    op.drop_table("spend_line")

"""renewal reminders: decisions per contract term, reminders sent, weekly digests"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.migrations.columns import cents, date, integer, timestamp, varchar
from catalog.migrations.tables import create_id_table, create_index, drop_index, references

revision = "0002_reminders"
down_revision = "0001"


def upgrade() -> None:
    create_id_table(
        "renewal_term",
        integer("contract_id"),
        date("renewal_date"),
        varchar("status", 16),
        varchar("decided_by", 320, null=True),
        timestamp("decided_at", null=True),
        date("snoozed_until", null=True),
        varchar("itam_owner_email", 320, null=True),
        integer("renew_seats", null=True),
        cents("renew_unit_price_cents", null=True),
        timestamp("updated_at"),
        references("contract_id", "contract.id"),
        sa.UniqueConstraint("contract_id", "renewal_date"),
    )
    create_index("renewal_term", "contract_id")
    create_id_table(
        "reminder",
        integer("contract_id"),
        date("renewal_date"),
        date("due_on"),
        date("deadline"),
        timestamp("created_at"),
        timestamp("sent_at", null=True),
        varchar("channel_id", 32, null=True),
        varchar("channel_ts", 32, null=True),
        varchar("owner_slack_id", 32, null=True),
        varchar("dm_channel_id", 32, null=True),
        varchar("dm_ts", 32, null=True),
        references("contract_id", "contract.id"),
        sa.UniqueConstraint("contract_id", "renewal_date", "due_on"),
    )
    create_index("reminder", "contract_id")
    create_index("reminder", "due_on")
    op.create_table(
        "renewal_digest",
        date("as_of"),
        varchar("channel_id", 32),
        varchar("ts", 32),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("as_of"),
    )


def downgrade() -> None:
    op.drop_table("renewal_digest")
    drop_index("reminder", "due_on")
    drop_index("reminder", "contract_id")
    op.drop_table("reminder")
    drop_index("renewal_term", "contract_id")
    op.drop_table("renewal_term")

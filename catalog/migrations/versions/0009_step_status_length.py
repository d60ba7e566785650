"""approval steps: a status column wide enough for "changes_requested"

`approval_step.status` was VARCHAR(16), and "changes_requested" has 17 characters: PostgreSQL
refused to record an approver's "Request changes" (SQLite does not enforce the length).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_step_status_length"
down_revision = "0008_renewal_requests"


def upgrade() -> None:
    with op.batch_alter_table("approval_step") as batch:
        batch.alter_column(
            "status",
            existing_type=sa.String(length=16),
            type_=sqlmodel.sql.sqltypes.AutoString(length=32),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("approval_step") as batch:
        batch.alter_column(
            "status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )

"""merge the console's two migrations: web tokens (0011_web_console) and stored renewal plans
with their indexes (0011_console_indexes), written in parallel on two branches

Revision ID: 0012_merge_console
Revises: 0011_web_console, 0011_console_indexes
"""

from __future__ import annotations

revision = "0012_merge_console"
down_revision = ("0011_web_console", "0011_console_indexes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the two branches touch different tables; nothing to reconcile


def downgrade() -> None:
    pass

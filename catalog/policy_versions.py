"""The policy in force and the versions decisions were made under, with what changed between
them: the console's /policy page reads this.

A version is the first 12 hex digits of the SHA-256 of the policy's text
(`catalog.rules.policy.policy_version`); the `policy_version` table keeps the exact text of
every version a decision recorded, so an old decision can always be read against its rules."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from catalog.models import PolicyVersion
from catalog.rules.policy import policy_version


@dataclass(frozen=True)
class PolicyText:
    version: str
    text: str
    first_seen: datetime | None  # None: in force, but no decision has used it yet
    in_force: bool


def policy_history(session: Session, *, current_text: str) -> list[PolicyText]:
    """The policy in force first, then the earlier versions, newest first."""
    current = policy_version(current_text)
    stored = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.first_seen).desc())).all()
    seen = next((row.first_seen for row in stored if row.version == current), None)
    history = [PolicyText(current, current_text, seen, in_force=True)]
    history.extend(PolicyText(row.version, row.text, row.first_seen, False) for row in stored if row.version != current)
    return history


def policy_diff(older: PolicyText, newer: PolicyText) -> list[str]:
    """The unified diff from `older` to `newer`, one line per item (no trailing newlines)."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            older.text.splitlines(keepends=True),
            newer.text.splitlines(keepends=True),
            fromfile=f"version {older.version}",
            tofile=f"version {newer.version}",
        )
    ]

"""The policy in force and its earlier versions, with what changed (the console's /policy)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.policy_versions import policy_diff, policy_history
from catalog.rules.policy import policy_version

OLD = "version: 1\nsteps:\n  - role: manager\n  - role: finance\n"
NEW = "version: 1\nsteps:\n  - role: manager\n  - role: finops\n"


def test_the_policy_in_force_comes_first_then_older_versions_newest_first(engine: Engine) -> None:
    with transaction(engine) as session:
        repository.record_policy_version(
            session, version=policy_version("a\n"), text="a\n", at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        repository.record_policy_version(
            session, version=policy_version(OLD), text=OLD, at=datetime(2026, 6, 1, tzinfo=UTC)
        )
        repository.record_policy_version(
            session, version=policy_version(NEW), text=NEW, at=datetime(2026, 9, 1, tzinfo=UTC)
        )
    with transaction(engine, read_only=True) as session:
        history = policy_history(session, current_text=NEW)
    assert [(h.version, h.in_force) for h in history] == [
        (policy_version(NEW), True),
        (policy_version(OLD), False),
        (policy_version("a\n"), False),
    ]
    assert history[0].first_seen is not None and history[0].first_seen.date().isoformat() == "2026-09-01"
    diff = policy_diff(history[1], history[0])
    assert diff[0] == f"--- version {policy_version(OLD)}"
    assert "-  - role: finance" in diff and "+  - role: finops" in diff
    assert "   - role: manager" in diff


def test_a_policy_no_decision_has_used_yet_is_still_shown_in_force(engine: Engine) -> None:
    with transaction(engine, read_only=True) as session:
        history = policy_history(session, current_text=NEW)
    assert len(history) == 1 and history[0].in_force and history[0].first_seen is None

"""ITAM's decisions on discovered products and the payers' notices, on SQLite and PostgreSQL,
from the demo data and the shipped samples (catalog/repository/discovery_actions.py), and
the pure rules under them (catalog/rules/discovery_actions.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, Discovery, Product
from catalog.repository import discovery_actions as actions
from catalog.rules.discovery_actions import (
    InferredTerm,
    infer_term,
    main_currency,
    needs_decision,
    product_slug,
    rank_payers,
)
from procure.budget_cli import spend_app
from tests.cli.conftest import count, write
from tests.discovery_samples import cli, discover, import_samples

ITAM, EMPLOYEE = "U0ITAM", "U0EMPLOYEE"
AS_OF = date(2026, 12, 4)
AT = datetime(2026, 12, 4, 9, tzinfo=UTC)
DECIDED = ("discovery_adopted", "discovery_blocked", "discovery_ignored")


@pytest.fixture
def discovered(db: Engine) -> Engine:
    import_samples()
    discover()
    return db


def _row(engine: Engine, key: str) -> Discovery:
    with transaction(engine) as session:
        row = session.exec(select(Discovery).where(Discovery.key == key)).one()
        session.expunge(row)
        return row


def _audits(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "discovery"))
        return [e.action for e in events if e.action in DECIDED]


def test_only_itam_decides_and_a_refusal_writes_nothing(discovered: Engine) -> None:
    with transaction(discovered) as session:
        outcome = actions.adopt(session, key="known:chatgpt", actor_slack_id=EMPLOYEE, as_of=AS_OF, at=AT)
    assert not outcome.ok and "ITAM role" in outcome.message
    assert _row(discovered, "known:chatgpt").decision is None
    assert count(discovered, Asset) == count(discovered, Contract)
    assert _audits(discovered) == []


def test_adopt_twice_creates_one_asset_and_one_audit_row(discovered: Engine) -> None:
    assets_before = count(discovered, Asset)
    for _ in range(2):
        with transaction(discovered) as session:
            outcome = actions.adopt(session, key="known:chatgpt", actor_slack_id=ITAM, as_of=AS_OF, at=AT)
        assert outcome.ok, outcome.message
    assert count(discovered, Asset) == assets_before + 1
    assert _audits(discovered) == ["discovery_adopted"]
    row = _row(discovered, "known:chatgpt")
    with transaction(discovered) as session:
        asset = session.get(Asset, row.asset_id)
        assert asset is not None and asset.product_id == row.product_id
        product = session.get(Product, asset.product_id)
        assert product is not None and product.status == "approved"
        contract = session.exec(select(Contract).where(Contract.asset_id == asset.id)).one()
        # Eli pays $20 a month (2 charges), Vera once: monthly, $240 a year each.
        assert (contract.billing_period, asset.annual_cost_cents) == ("monthly", 48_000)
        assert contract.renewal_date > AS_OF >= contract.start_date
    # A product adopted is no longer in a new digest, nor can it be blocked from an old one.
    with transaction(discovered) as session:
        assert "known:chatgpt" not in [c.key for c in actions.digest_view(session, as_of=AS_OF).cards]
        refused = actions.block(session, key="known:chatgpt", actor_slack_id=ITAM, reason="no", alternatives=[], at=AT)
    assert not refused.ok and "already adopted" in refused.message


def test_block_needs_approved_alternatives_and_tells_the_payers_why(discovered: Engine) -> None:
    with transaction(discovered) as session:
        bad = actions.block(
            session,
            key="product:notion",
            actor_slack_id=ITAM,
            reason="data residency",
            alternatives=["lastpass"],
            at=AT,
        )
    assert not bad.ok and _row(discovered, "product:notion").decision is None
    with transaction(discovered) as session:
        ok = actions.block(
            session,
            key="product:notion",
            actor_slack_id=ITAM,
            reason="data residency",
            alternatives=["confluence"],
            at=AT,
        )
        assert ok.ok
        notices = {n.key: n for n in actions.payer_notices(session, as_of=AS_OF, inactive_days=30)}
    notice = notices["discovery-dm:product:notion:engineer@example.com:2026"]
    assert (notice.blocked_reason, notice.alternatives) == ("data residency", ("Confluence",))


def test_ignore_suppresses_for_n_days_and_refuses_out_of_range(discovered: Engine) -> None:
    with transaction(discovered) as session:
        refused = actions.ignore(
            session, key="unknown:someapp", actor_slack_id=ITAM, reason="trial", days=0, as_of=AS_OF, at=AT
        )
        assert not refused.ok
        assert actions.ignore(
            session, key="unknown:someapp", actor_slack_id=ITAM, reason="trial", days=30, as_of=AS_OF, at=AT
        ).ok
        assert "unknown:someapp" not in [c.key for c in actions.digest_view(session, as_of=AS_OF).cards]
        later = actions.digest_view(session, as_of=date(2027, 1, 3))
    assert "unknown:someapp" in [c.key for c in later.cards]
    assert _row(discovered, "unknown:someapp").suppressed_until == date(2027, 1, 3)


def test_the_payer_of_an_owned_product_is_offered_its_free_seat(discovered: Engine) -> None:
    with transaction(discovered) as session:
        notices = {n.key: n for n in actions.payer_notices(session, as_of=AS_OF, inactive_days=30)}
    miro = notices["discovery-dm:product:miro:employee@example.com:2026"]
    assert (miro.owned_product, miro.free_seats, miro.slack_id) == ("Miro", 18, EMPLOYEE)
    lastpass = notices["discovery-dm:product:lastpass:finance@example.com:2026"]
    assert lastpass.blocked_reason and lastpass.alternatives == ("1Password",)


def test_term_inference_counts_each_payers_charges_apart() -> None:
    monthly = [("a", date(2026, m, 3), 2000) for m in (9, 10, 11)] + [("b", date(2026, 11, 20), 2000)]
    assert infer_term(monthly, as_of=AS_OF) == InferredTerm("monthly", 1, 48_000)
    # Three people each paying once a month apart is not a monthly subscription.
    spread = [("a", date(2026, 9, 1), 9000), ("b", date(2026, 10, 1), 9000), ("c", date(2026, 11, 1), 9000)]
    assert infer_term(spread, as_of=AS_OF) == InferredTerm("annual", 12, 27_000)
    yearly = [("a", date(2025, 6, 1), 50_000), ("a", date(2026, 6, 1), 60_000)]
    assert infer_term(yearly, as_of=AS_OF) == InferredTerm("annual", 12, 60_000)


def test_adopt_names_the_top_payer_by_spend_not_the_first_alphabetically(discovered: Engine, tmp_path: Path) -> None:
    # ChatGPT: Eli (engineer@) paid $20 twice, Vera (vp@) once; Vera now pays $60 more, in
    # three charges, and Eli €500 that is not compared with dollars (the main currency is USD).
    more = "".join(f"2026-11-{d},OPENAI *CHATGPT SUBSCR,20.00,USD,vp@example.com,CC-EXEC\n" for d in ("02", "03", "04"))
    more += "2026-11-05,OPENAI *CHATGPT SUBSCR,500.00,EUR,engineer@example.com,CC-ENG\n"
    header = "date,merchant,amount,currency,employee_email,cost_center\n"
    cli(spend_app, "import", write(tmp_path, "more.csv", header + more), "--format", "card")
    discover()
    row = _row(discovered, "known:chatgpt")
    with transaction(discovered) as session:
        outcome = actions.adopt(session, key="known:chatgpt", actor_slack_id=ITAM, as_of=AS_OF, at=AT)
    assert outcome.ok, outcome.message
    with transaction(discovered) as session:
        asset = session.get(Asset, _row(discovered, "known:chatgpt").asset_id)
        assert asset is not None and row.payers == ["engineer@example.com", "vp@example.com"]
        assert (asset.owner_email, asset.cost_center, asset.currency) == ("vp@example.com", "CC-EXEC", "USD")


def test_payers_rank_by_twelve_months_spend_then_charges_then_email() -> None:
    old = date(2025, 1, 1)  # out of the 12 months: does not count
    charges = [("b@x", date(2026, 11, 1), 3000), ("a@x", date(2026, 11, 1), 3000), ("c@x", old, 99_000)]
    assert rank_payers(charges, as_of=AS_OF) == ["a@x", "b@x"]  # a tie on spend and count: by email
    charges += [("b@x", date(2026, 11, 2), 1000), ("b@x", date(2026, 11, 3), -1000)]
    assert rank_payers(charges, as_of=AS_OF) == ["b@x", "a@x"]  # same spend, more charges
    charges += [("a@x", date(2026, 11, 4), 1)]
    assert rank_payers(charges, as_of=AS_OF) == ["a@x", "b@x"]  # a cent more wins
    usd, eur = ("p", date(2026, 11, 1), 100, "USD"), ("p", date(2026, 11, 1), 100_000, "EUR")
    assert main_currency([usd, eur, eur], as_of=AS_OF) == "EUR"  # counted, not summed
    assert main_currency([usd, eur], as_of=AS_OF) == "USD"
    assert main_currency([("p", old, 1, "GBP")], as_of=AS_OF) == "GBP" and main_currency([], as_of=AS_OF) is None


def test_what_the_digest_asks_about() -> None:
    assert needs_decision(status="unmanaged", decision=None, suppressed_until=None, as_of=AS_OF)
    assert not needs_decision(status="managed", decision=None, suppressed_until=None, as_of=AS_OF)
    assert not needs_decision(status="unknown", decision="blocked", suppressed_until=None, as_of=AS_OF)
    assert not needs_decision(status="unknown", decision="ignored", suppressed_until=date(2026, 12, 5), as_of=AS_OF)
    assert needs_decision(status="unknown", decision="ignored", suppressed_until=AS_OF, as_of=AS_OF)
    assert product_slug("ChatGPT Team") == "chatgpt-team" and product_slug("Ünïcode Ltd.") == "unicode-ltd"


def test_commitments_list_shows_actual_drawdown_next_to_approved(discovered: Engine) -> None:
    from procure.budget_cli import commitments_app
    from tests.discovery_samples import cli

    listed = {row["name"]: row for row in map(json.loads, cli(commitments_app, "list", "--json").splitlines())}
    aws = listed["AWS EDP 2026"]
    assert aws["actual_drawdown_cents"] == 695_000  # Datadog 3000 + 3000 − 250, Snowflake 1200
    # The figures add up: total = used before it was imported + approved here + left.
    assert aws["used_before_cents"] + aws["approved_drawdown_cents"] + aws["remaining_cents"] == aws["total_cents"]
    table = cli(commitments_app, "list")
    assert "approved" in table and "actual" in table and "6,950.00" in table

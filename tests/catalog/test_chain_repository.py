"""Persistence of the approval chain on SQLite and PostgreSQL, through the real migrations:
the merge migration, budget reservations and commitment drawdowns (exactly once, also under
concurrency), policy versions, step bookkeeping and the App Home queries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, text
from sqlmodel import select

from catalog import repository
from catalog.db import alembic_config, make_engine, transaction, upgrade
from catalog.models import (
    ApprovalStep,
    AuditEvent,
    Budget,
    BudgetReservation,
    Commitment,
    CommitmentDrawdown,
    PolicyVersion,
    PurchaseRequest,
    RequestStatus,
    StepStatus,
)
from catalog.rules.budget import BudgetError

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _request(request_id: str, *, slack_id: str = "U0EMPLOYEE", minutes: int = 0, **values: Any) -> PurchaseRequest:
    at = AT + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "id": request_id,
        "workflow_id": f"request-{request_id}",
        "requester_email": "employee@example.com",
        "requester_slack_id": slack_id,
        "product_id": "figma",
        "product_name": "Figma",
        "seats": 2,
        "unit_price_cents": 18000,
        "annual_cost_cents": 36000,
        "cost_center": "CC-DESIGN",
        "status": RequestStatus.PENDING_APPROVAL,
        "created_at": at,
        "updated_at": at,
    }
    return PurchaseRequest(**(fields | values))


def _run_concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads that all call `work(i)` at the same moment; re-raise any error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    return results


# --- the migration -------------------------------------------------------------------------


def test_0004_merges_the_two_heads_into_one() -> None:
    from alembic.config import Config

    from catalog.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1, f"the migrations must have one head, not {heads}"
    assert "0004_approval_chain" in {r.revision for r in script.iterate_revisions(heads[0], "base")}
    assert set(script.get_revision("0004_approval_chain").down_revision) == {"0002_reminders", "0003_asset_external_id"}


def test_migration_keeps_rows_written_before_it(engine: Engine, tmp_path: Path) -> None:
    """Downgrade to the two old heads, write a request and a step as the old code did, then
    upgrade: the old rows read as round 1, stage 1, internal data, no reasons."""
    cfg = alembic_config(engine)
    command.downgrade(cfg, "base")  # 0004's downgrade included
    command.upgrade(cfg, "0002_reminders")  # the schema as both branches left it
    command.upgrade(cfg, "0003_asset_external_id")
    assert "policy_version" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO purchase_request (id, workflow_id, requester_email, requester_slack_id, product_name,"
                " seats, unit_price_cents, annual_cost_cents, currency, cost_center, channel, justification, status,"
                " created_at, updated_at) VALUES ('REQ-OLD', 'request-REQ-OLD', 'employee@example.com', 'U0EMPLOYEE',"
                " 'Figma', 1, 100, 100, 'USD', 'CC-DESIGN', 'direct', '', 'pending_approval', :at, :at)"
            ),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO approval_step (request_id, seq, role, approver_email, approver_slack_id, status)"
                " VALUES ('REQ-OLD', 1, 'manager', 'manager@example.com', 'U0MANAGER', 'pending')"
            )
        )
    upgrade(engine)
    with transaction(engine) as session:
        request = repository.get_request(session, request_id="REQ-OLD")
        step = repository.get_step(session, request_id="REQ-OLD", seq=1)
        assert request is not None and step is not None
        assert (request.data_classification, request.round, request.policy_version) == ("internal", 1, None)
        assert (step.stage, step.round, step.reasons, step.sla_business_days) == (1, 1, [], 2)
        assert step.opened_at is None and step.delegate_slack_id is None


def test_0007_records_rate_1_for_reservations_in_their_budgets_currency(engine: Engine) -> None:
    """Reservations written before the rate was recorded: in the line's currency they added
    their own amount at rate 1; in another currency (the defect) nothing is known, so NULL."""
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0004_approval_chain")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO budget (cost_center, fiscal_year, annual_cents, committed_cents, actual_cents, currency)"
                " VALUES ('CC-DESIGN', 2026, 5000000, 1001000, 0, 'USD')"
            )
        )
        for rid, amount, currency in (("REQ-USD", 1000, "USD"), ("REQ-EUR", 1000000, "EUR")):
            conn.execute(
                text(
                    "INSERT INTO budget_reservation (request_id, cost_center, fiscal_year, amount_cents, currency, at)"
                    " VALUES (:rid, 'CC-DESIGN', 2026, :amount, :currency, :at)"
                ),
                {"rid": rid, "amount": amount, "currency": currency, "at": AT},
            )
    upgrade(engine)
    with transaction(engine, read_only=True) as session:
        usd = repository.get_reservation(session, request_id="REQ-USD")
        eur = repository.get_reservation(session, request_id="REQ-EUR")
        assert usd is not None and eur is not None
        assert (usd.budget_cents, usd.budget_currency, usd.rate) == (1000, "USD", "1")
        assert (eur.budget_cents, eur.budget_currency, eur.rate) == (None, "USD", None)


# --- budget reservations -------------------------------------------------------------------


def _budget(engine: Engine, cost_center: str = "CC-DESIGN", year: int = 2026) -> Budget:
    with transaction(engine, read_only=True) as session:
        budget = repository.get_budget(session, cost_center=cost_center, fiscal_year=year)
        assert budget is not None
        return budget


def test_reserve_budget_commits_once_per_request(seeded_engine: Engine) -> None:
    before = _budget(seeded_engine)
    for attempt in range(3):
        with transaction(seeded_engine) as session:
            reservation, created = repository.reserve_budget(
                session,
                request_id="REQ-1",
                cost_center="CC-DESIGN",
                fiscal_year=2026,
                amount_cents=36000 + attempt,  # a retry with another amount still reserves nothing new
                currency="USD",
                at=AT,
            )
            assert created is (attempt == 0)
            assert reservation.amount_cents == 36000
    with transaction(seeded_engine) as session:
        repository.reserve_budget(
            session,
            request_id="REQ-2",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=100,
            currency="USD",
            at=AT,
        )
    after = _budget(seeded_engine)
    assert after.committed_cents == before.committed_cents + 36000 + 100
    assert after.annual_cents == before.annual_cents and after.actual_cents == before.actual_cents
    with transaction(seeded_engine) as session:
        events = repository.list_audit(session, request_id="REQ-1")
        assert [e.action for e in events] == ["budget_reserved"]
        assert events[0].detail["budget"]["committed_cents"] == before.committed_cents + 36000
        assert events[0].detail["budget"]["available_cents"] == before.annual_cents - before.committed_cents - 36000


def test_reserve_budget_without_a_line_shows_the_overspend(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        assert repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2030) is None
        repository.reserve_budget(
            session,
            request_id="REQ-9",
            cost_center="CC-DESIGN",
            fiscal_year=2030,
            amount_cents=5000,
            currency="EUR",
            at=AT,
        )
    line = _budget(seeded_engine, year=2030)
    assert (line.annual_cents, line.committed_cents, line.currency) == (0, 5000, "EUR")
    with transaction(seeded_engine) as session, pytest.raises(ValueError, match="negative"):
        repository.reserve_budget(
            session,
            request_id="REQ-10",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=-1,
            currency="USD",
            at=AT,
        )


RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}


def test_reserve_budget_converts_to_the_lines_currency_and_records_the_rate(seeded_engine: Engine) -> None:
    """Issue 19 #3: a 10,000 EUR request added 1,000,000 EUR cents to a USD line's committed."""
    before = _budget(seeded_engine)
    with transaction(seeded_engine) as session:
        reservation, created = repository.reserve_budget(
            session,
            request_id="REQ-EUR",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=10_000_00,
            currency="EUR",
            at=AT,
            rates=RATES,
        )
        assert created
        assert (reservation.amount_cents, reservation.currency) == (10_000_00, "EUR")
        assert (reservation.budget_cents, reservation.budget_currency, reservation.rate) == (10_800_00, "USD", "1.08")
    after = _budget(seeded_engine)
    assert after.committed_cents - before.committed_cents == 10_800_00
    with transaction(seeded_engine, read_only=True) as session:
        stored = repository.get_reservation(session, request_id="REQ-EUR")
        assert stored is not None and (stored.budget_cents, stored.rate) == (10_800_00, "1.08")
        (event,) = repository.list_audit(session, request_id="REQ-EUR")
        assert (event.detail["amount_cents"], event.detail["currency"]) == (10_000_00, "EUR")
        assert (event.detail["budget_cents"], event.detail["budget_currency"], event.detail["rate"]) == (
            10_800_00,
            "USD",
            "1.08",
        )


def test_reserve_budget_without_a_rate_refuses_and_writes_nothing(seeded_engine: Engine) -> None:
    before = _budget(seeded_engine).committed_cents
    with pytest.raises(BudgetError, match="no EUR rate is configured"), transaction(seeded_engine) as session:
        repository.reserve_budget(
            session,
            request_id="REQ-EUR",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=10_000_00,
            currency="EUR",
            at=AT,
            rates={"USD": Decimal(1)},
        )
    assert _budget(seeded_engine).committed_cents == before
    with transaction(seeded_engine, read_only=True) as session:
        assert repository.get_reservation(session, request_id="REQ-EUR") is None
        assert repository.list_audit(session, request_id="REQ-EUR") == []


def test_a_retried_reservation_finds_the_first_even_after_the_rate_went_away(seeded_engine: Engine) -> None:
    kwargs: dict[str, Any] = {
        "request_id": "REQ-EUR",
        "cost_center": "CC-DESIGN",
        "fiscal_year": 2026,
        "amount_cents": 500_00,
        "currency": "EUR",
        "at": AT,
    }
    with transaction(seeded_engine) as session:
        repository.reserve_budget(session, **kwargs, rates=RATES)
    committed = _budget(seeded_engine).committed_cents
    with transaction(seeded_engine) as session:
        again, created = repository.reserve_budget(session, **kwargs, rates={"USD": Decimal(1)})
        assert not created and again.budget_cents == 540_00
    assert _budget(seeded_engine).committed_cents == committed


def test_a_line_a_reservation_creates_is_in_the_policys_currency(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        reservation, _ = repository.reserve_budget(
            session,
            request_id="REQ-GBP",
            cost_center="CC-DESIGN",
            fiscal_year=2030,
            amount_cents=100_00,
            currency="GBP",
            at=AT,
            rates=RATES,
            line_currency="USD",
        )
        assert (reservation.budget_cents, reservation.budget_currency, reservation.rate) == (127_00, "USD", "1.27")
    line = _budget(seeded_engine, year=2030)
    assert (line.annual_cents, line.committed_cents, line.currency) == (0, 127_00, "USD")


def test_reserve_budget_rolls_back_with_its_transaction(seeded_engine: Engine) -> None:
    before = _budget(seeded_engine).committed_cents
    with pytest.raises(RuntimeError), transaction(seeded_engine) as session:
        repository.reserve_budget(
            session,
            request_id="REQ-1",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=900,
            currency="USD",
            at=AT,
        )
        raise RuntimeError("the activity failed after reserving")
    assert _budget(seeded_engine).committed_cents == before
    with transaction(seeded_engine) as session:
        assert repository.get_reservation(session, request_id="REQ-1") is None


def test_fifty_concurrent_reservations_of_one_request_reserve_once(seeded_engine: Engine) -> None:
    before = _budget(seeded_engine).committed_cents

    def reserve(_: int) -> bool:
        with transaction(seeded_engine) as session:
            _, created = repository.reserve_budget(
                session,
                request_id="REQ-RACE",
                cost_center="CC-DESIGN",
                fiscal_year=2026,
                amount_cents=123_45,
                currency="USD",
                at=AT,
            )
            return created

    created = _run_concurrently(50, reserve)
    assert created.count(True) == 1
    assert _budget(seeded_engine).committed_cents == before + 123_45
    with transaction(seeded_engine) as session:
        assert session.exec(select(func.count()).select_from(BudgetReservation)).one() == 1
        assert len([e for e in repository.list_audit(session, request_id="REQ-RACE")]) == 1


def test_concurrent_reservations_of_different_requests_all_count(seeded_engine: Engine) -> None:
    """The committed amount is updated atomically: no reservation of another request is lost."""
    before = _budget(seeded_engine).committed_cents

    def reserve(i: int) -> None:
        with transaction(seeded_engine) as session:
            repository.reserve_budget(
                session,
                request_id=f"REQ-{i}",
                cost_center="CC-DESIGN",
                fiscal_year=2026,
                amount_cents=100 + i,
                currency="USD",
                at=AT,
            )

    _run_concurrently(20, reserve)
    assert _budget(seeded_engine).committed_cents == before + sum(100 + i for i in range(20))


# --- added seats joining an asset we own (issue 18 §4) ---------------------------------------


def _figma(engine: Engine) -> tuple[int, int, int]:
    """The seeded Figma asset: (id, seats, annual cost)."""
    with transaction(engine, read_only=True) as session:
        [(asset, contract)] = repository.product_contracts(session, product_id="figma")
        assert asset.id is not None and contract.asset_id == asset.id
        return asset.id, asset.seats, asset.annual_cost_cents


def _expand(engine: Engine, request_id: str, seats: int = 2, holder: str = "employee@example.com") -> bool:
    asset_id = _figma(engine)[0]
    with transaction(engine) as session:
        _, _, added = repository.expand_asset(
            session,
            asset_id=asset_id,
            request_id=request_id,
            seats=seats,
            annual_cents=seats * 18000,
            holder_email=holder,
            at=AT,
            detail={"prorated_cents": 5819},
        )
        return added


def test_expanding_an_asset_adds_seats_once_with_an_audited_before_and_after(seeded_engine: Engine) -> None:
    asset_id, seats, annual = _figma(seeded_engine)
    assert (seats, annual) == (40, 40 * 18000)
    assert _expand(seeded_engine, "REQ-MORE") is True
    assert _expand(seeded_engine, "REQ-MORE") is False  # a retried closing adds nothing
    assert _figma(seeded_engine) == (asset_id, 42, 42 * 18000)
    with transaction(seeded_engine, read_only=True) as session:
        [event] = repository.list_audit(session, request_id="REQ-MORE")
        assert (event.action, event.entity, event.entity_id) == ("seats_added", "asset", str(asset_id))
        assert event.detail == {
            "prorated_cents": 5819,
            "before": {"seats": 40, "annual_cost_cents": 720_000},
            "after": {"seats": 42, "annual_cost_cents": 756_000},
        }
        holders = {seat.person_email for seat in repository.list_seats(session, asset_id=asset_id)}
        assert "employee@example.com" in holders
        # One contract still: no asset was recorded for the request.
        assert repository.get_asset_for_request(session, request_id="REQ-MORE") is None
        assert len(repository.product_contracts(session, product_id="figma")) == 1


def test_concurrent_expansions_of_one_asset_all_count_and_one_request_counts_once(seeded_engine: Engine) -> None:
    """The asset's row is locked: no expansion of another request is lost, and the same
    request's closing run twice at once (a retry racing the first attempt) adds once."""
    _run_concurrently(8, lambda i: _expand(seeded_engine, f"REQ-C{i}", seats=1, holder=f"p{i}@example.com"))
    assert _figma(seeded_engine)[1:] == (48, 48 * 18000)
    added = _run_concurrently(8, lambda _: _expand(seeded_engine, "REQ-SAME", seats=3))
    assert added.count(True) == 1
    assert _figma(seeded_engine)[1:] == (51, 51 * 18000)


# --- commitments ---------------------------------------------------------------------------


def _remaining(engine: Engine, name: str) -> int:
    with transaction(engine, read_only=True) as session:
        commitment = repository.get_commitment(session, name=name)
        assert commitment is not None
        return commitment.remaining_cents


def test_draw_commitment_once_with_overflow(seeded_engine: Engine) -> None:
    gcp = "GCP commit 2026"
    left = _remaining(seeded_engine, gcp)
    for _ in range(2):
        with transaction(seeded_engine) as session:
            drawn = repository.draw_commitment(
                session, request_id="REQ-1", commitment_name=gcp, amount_cents=left + 4_000_00, at=AT
            )
            assert (drawn.amount_cents, drawn.overflow_cents) == (left + 4_000_00, 4_000_00)
    assert _remaining(seeded_engine, gcp) == 0
    with transaction(seeded_engine) as session:
        later = repository.draw_commitment(session, request_id="REQ-2", commitment_name=gcp, amount_cents=500, at=AT)
        assert later.overflow_cents == 500  # nothing left: all of it overflows
        assert session.exec(select(func.count()).select_from(CommitmentDrawdown)).one() == 2
        event = repository.list_audit(session, request_id="REQ-1")[0]
        assert event.action == "commitment_drawn"
        assert (event.detail["remaining_before_cents"], event.detail["remaining_after_cents"]) == (left, 0)
        with pytest.raises(LookupError):
            repository.draw_commitment(session, request_id="REQ-3", commitment_name="nope", amount_cents=1, at=AT)


def test_concurrent_drawdowns_never_overdraw(seeded_engine: Engine) -> None:
    aws = "AWS EDP 2026"
    with transaction(seeded_engine) as session:
        commitment = repository.get_commitment(session, name=aws)
        assert commitment is not None
        commitment.remaining_cents = 1000
        session.add(commitment)

    def draw(i: int) -> CommitmentDrawdown:
        with transaction(seeded_engine) as session:
            # Requests 0-9 each twice (two workers retrying the same activity).
            return repository.draw_commitment(
                session, request_id=f"REQ-{i % 10}", commitment_name=aws, amount_cents=300, at=AT
            )

    _run_concurrently(20, draw)
    with transaction(seeded_engine) as session:
        rows = session.exec(select(CommitmentDrawdown)).all()
        assert len(rows) == 10
        drawn = sum(r.amount_cents - r.overflow_cents for r in rows)
        assert drawn == 1000 and sorted(r.overflow_cents for r in rows).count(300) == 6
    assert _remaining(seeded_engine, aws) == 0


# --- policy versions, steps, requests -------------------------------------------------------


def test_policy_version_is_recorded_once(engine: Engine) -> None:
    for text_ in ("first text", "another text, same version key"):
        with transaction(engine) as session:
            row = repository.record_policy_version(session, version="abc123def456", text=text_, at=AT)
            assert row.text == "first text"
    with transaction(engine) as session:
        assert not repository.keep_policy_version(session, version="abc123def456", text="third", at=AT)
        assert repository.keep_policy_version(session, version="fed654cba321", text="other", at=AT)
    with transaction(engine) as session:
        assert session.exec(select(func.count()).select_from(PolicyVersion)).one() == 2
        stored = repository.get_policy_version(session, version="abc123def456")
        assert stored is not None and stored.first_seen.replace(tzinfo=UTC) == AT


def test_seed_records_the_shipped_policy_version(seeded_engine: Engine) -> None:
    from catalog.routing import load_active_policy

    policy = load_active_policy()
    with transaction(seeded_engine) as session:
        stored = repository.get_policy_version(session, version=policy.version)
        assert stored is not None and stored.text == policy.text


def _open(session: Any, request_id: str, seq: int, **values: Any) -> ApprovalStep:
    fields: dict[str, Any] = {
        "role": "manager",
        "approver_email": "manager@example.com",
        "approver_slack_id": "U0MANAGER",
    }
    return repository.open_step(session, request_id=request_id, seq=seq, **(fields | values))


def test_open_step_stores_the_route_fields_once(seeded_engine: Engine) -> None:
    remind, escalate = AT + timedelta(days=2), AT + timedelta(days=4)
    for approver in ("finance@example.com", "someone-else@example.com"):
        with transaction(seeded_engine) as session:
            repository.create_request(session, request=_request("REQ-1"))
            step = _open(
                session,
                "REQ-1",
                2,
                role="finance",
                approver_email=approver,
                approver_slack_id="U0FINANCE",
                stage=2,
                round=1,
                reasons=["annual cost 6,000.00 USD is over 5,000.00 USD"],
                opened_at=AT,
                sla_business_days=3,
                remind_at=remind,
                escalate_at=escalate,
                assigned_because="delegate of Fiona Finance, out of office until 2026-12-01",
                delegate_email="vp@example.com",
                delegate_slack_id="U0VP",
            )
            assert step.approver_email == "finance@example.com"  # the retry found the first
    with transaction(seeded_engine) as session:
        step = repository.get_step(session, request_id="REQ-1", seq=2)
        assert step is not None
        assert (step.stage, step.round, step.sla_business_days) == (2, 1, 3)
        assert step.reasons == ["annual cost 6,000.00 USD is over 5,000.00 USD"]
        assert step.remind_at is not None and step.remind_at.replace(tzinfo=UTC) == remind
        assert (step.delegate_email, step.delegate_slack_id) == ("vp@example.com", "U0VP")
        assert step.assigned_because and step.assigned_because.startswith("delegate of Fiona")


def test_reassign_set_times_and_nudge_claims(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request("REQ-1"))
        _open(session, "REQ-1", 1, delegate_email="x@example.com", delegate_slack_id="U0X")
    with transaction(seeded_engine) as session:
        step = repository.reassign_step(
            session,
            request_id="REQ-1",
            seq=1,
            approver_email="vp@example.com",
            approver_slack_id="U0VP",
            assigned_because="escalated: waited 2 SLAs",
        )
        assert (step.approver_slack_id, step.delegate_slack_id) == ("U0VP", None)
        later = AT + timedelta(days=9)
        repository.set_step_times(session, request_id="REQ-1", seq=1, remind_at=later, escalate_at=None)
    for expected in (True, False):
        with transaction(seeded_engine) as session:
            assert repository.mark_step_nudged(session, request_id="REQ-1", seq=1, kind="reminder", at=AT) is expected
    with transaction(seeded_engine) as session:
        assert repository.mark_step_nudged(session, request_id="REQ-1", seq=1, kind="escalation", at=AT) is True
        step_ = repository.get_step(session, request_id="REQ-1", seq=1)
        assert step_ is not None and step_.reminded_at is not None and step_.escalated_at is not None
        assert step_.remind_at is not None and step_.remind_at.replace(tzinfo=UTC) == AT + timedelta(days=9)
        assert step_.escalate_at is None
        with pytest.raises(LookupError):
            repository.mark_step_nudged(session, request_id="REQ-1", seq=7, kind="reminder", at=AT)
        with pytest.raises(ValueError):
            repository.mark_step_nudged(session, request_id="REQ-1", seq=1, kind="nag", at=AT)  # type: ignore[arg-type]
        repository.close_step(
            session, request_id="REQ-1", seq=1, status=StepStatus.APPROVED, actor="vp@example.com", reason=None, at=AT
        )
        closed = repository.reassign_step(
            session,
            request_id="REQ-1",
            seq=1,
            approver_email="manager@example.com",
            approver_slack_id="U0MANAGER",
            assigned_because="x",
        )
        assert closed.approver_slack_id == "U0VP"  # a decided step keeps who decided it


def test_concurrent_nudges_claim_once(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request("REQ-1"))
        _open(session, "REQ-1", 1)

    def nudge(_: int) -> bool:
        with transaction(seeded_engine) as session:
            return repository.mark_step_nudged(session, request_id="REQ-1", seq=1, kind="escalation", at=AT)

    assert _run_concurrently(10, nudge).count(True) == 1


def test_update_request_changes_only_editable_fields(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request("REQ-1"))
        later = AT + timedelta(hours=1)
        row = repository.update_request(
            session,
            request_id="REQ-1",
            values={"seats": 5, "annual_cost_cents": 90000, "data_classification": "confidential", "round": 2},
            at=later,
        )
        assert (row.seats, row.annual_cost_cents, row.data_classification, row.round) == (5, 90000, "confidential", 2)
        with pytest.raises(ValueError, match="requester_email"):
            repository.update_request(session, request_id="REQ-1", values={"requester_email": "x@y.z"}, at=later)
        with pytest.raises(LookupError):
            repository.update_request(session, request_id="REQ-404", values={"seats": 1}, at=later)
    with transaction(seeded_engine) as session:
        stored = repository.get_request(session, request_id="REQ-1")
        assert stored is not None and stored.requester_email == "employee@example.com"
        assert stored.updated_at.replace(tzinfo=UTC) == AT + timedelta(hours=1)


def test_app_home_queries(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request("REQ-A", minutes=0))
        repository.create_request(session, request=_request("REQ-B", minutes=1))
        repository.create_request(session, request=_request("REQ-C", minutes=2, status=RequestStatus.APPROVED))
        repository.create_request(session, request=_request("REQ-D", slack_id="U0ENGINEER", minutes=3))
        _open(session, "REQ-A", 1)  # manager decides
        repository.close_step(
            session, request_id="REQ-A", seq=1, status=StepStatus.APPROVED, actor="m", reason=None, at=AT
        )
        _open(session, "REQ-A", 2, role="finance", approver_email="finance@example.com", approver_slack_id="U0FINANCE",
              delegate_email="vp@example.com", delegate_slack_id="U0VP", stage=2)  # fmt: skip
        _open(session, "REQ-A", 3, role="security", approver_email="security@example.com",
              approver_slack_id="U0SECURITY", stage=2)  # fmt: skip
        _open(session, "REQ-B", 1)
        _open(session, "REQ-C", 1)  # left pending in a request that is already closed: not shown
        _open(session, "REQ-D", 1)
    with transaction(seeded_engine, read_only=True) as session:
        waiting = repository.pending_steps_for(session, slack_id="U0MANAGER")
        assert [(r.id, s.seq) for r, s in waiting] == [("REQ-B", 1), ("REQ-D", 1)]
        assert [(r.id, s.seq) for r, s in repository.pending_steps_for(session, slack_id="U0VP")] == [("REQ-A", 2)]
        assert repository.pending_steps_for(session, slack_id="U0NOBODY") == []
        mine = repository.requests_of(session, requester_slack_id="U0EMPLOYEE")
        assert [(r.id, s.seq if s else None) for r, s in mine] == [("REQ-C", None), ("REQ-B", 1), ("REQ-A", 2)]
        assert [r.id for r, _ in repository.requests_of(session, requester_slack_id="U0EMPLOYEE", limit=1)] == ["REQ-C"]


def test_audit_records_step_and_policy_version(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.audit(
            session,
            idem_key="REQ-1:step2:approved",
            at=AT,
            entity="step",
            entity_id="REQ-1:2",
            action="step_approved",
            actor="finance@example.com",
            request_id="REQ-1",
            step_seq=2,
            policy_version="40d326c58f96",
            detail={"budget": {"available_cents": 1}},
        )
        repository.audit(  # an existing caller: no step, no version
            session,
            idem_key="k2",
            at=AT,
            entity="request",
            entity_id="REQ-1",
            action="x",
            actor="y",
            request_id="REQ-1",
        )
    with transaction(seeded_engine) as session:
        first, second = repository.list_audit(session, request_id="REQ-1")
        assert (first.step_seq, first.policy_version, first.detail) == (
            2,
            "40d326c58f96",
            {"budget": {"available_cents": 1}},
        )
        assert (second.step_seq, second.policy_version) == (None, None)
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 2


def test_directory_snapshot_budgets_and_cost_centers(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        snapshot = repository.directory_snapshot(session)
        fiona = snapshot["finance@example.com"]
        assert fiona.roles == ("finance",) and fiona.delegate_email == "vp@example.com"
        assert fiona.ooo_from == date(2025, 12, 22) and fiona.ooo_to == date(2026, 1, 2)
        assert not fiona.out_of_office(date(2026, 11, 23)) and fiona.out_of_office(date(2026, 1, 1))
        assert {"security", "finance", "finops", "it"} <= {r for p in snapshot.values() for r in p.roles}
        assert [p.email for p in repository.list_people(session)] == sorted(snapshot)
        assert {"CC-DESIGN", "CC-ENG", "CC-SEC"} <= repository.known_cost_centers(session)
        years = {b.fiscal_year for b in repository.list_budgets(session)}
        assert {2026, 2027} <= years
        assert {b.fiscal_year for b in repository.list_budgets(session, fiscal_year=2027)} == {2027}
        names = [c.name for c in repository.list_commitments(session)]
        assert {"AWS EDP 2026", "Azure MACC FY26", "GCP commit 2026"} == set(names)
        assert session.exec(select(func.count()).select_from(Commitment)).one() == 3


def test_list_messages_of_a_request(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.save_message(session, key="REQ-1:requester", request_id="REQ-1", channel="D1", ts="1.0", at=AT)
        repository.save_message(session, key="REQ-1:step1:approver:U0MANAGER", request_id="REQ-1", channel="D2",
                                ts="2.0", at=AT + timedelta(seconds=1))  # fmt: skip
        repository.save_message(session, key="REQ-2:requester", request_id="REQ-2", channel="D1", ts="3.0", at=AT)
        assert [m.ts for m in repository.list_messages(session, request_id="REQ-1")] == ["1.0", "2.0"]


def test_a_noted_message_is_listed_once_posted_and_keeps_its_first_reference(seeded_engine: Engine) -> None:
    key = "REQ-1:outcome"
    with transaction(seeded_engine) as session:
        assert repository.note_message(session, key=key, request_id="REQ-1", at=AT) is True
        assert repository.note_message(session, key=key, request_id="REQ-1", at=AT) is False  # a second run
        assert repository.list_messages(session, request_id="REQ-1") == []  # nothing to update yet
    with transaction(seeded_engine) as session:
        noted = repository.get_message(session, key=key)
        assert noted is not None and noted.ts == ""
        repository.save_message(session, key=key, request_id="REQ-1", channel="D1", ts="1.0", at=AT)
        assert noted.ts == "1.0"  # the row this session holds is completed too
        repository.save_message(session, key=key, request_id="REQ-1", channel="D1", ts="9.9", at=AT)
        assert repository.note_message(session, key=key, request_id="REQ-1", at=AT) is False
    with transaction(seeded_engine) as session:
        assert [(m.key, m.channel, m.ts) for m in repository.list_messages(session, request_id="REQ-1")] == [
            (key, "D1", "1.0")
        ]


def test_sqlite_file_engine_upgrade_from_scratch(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"policy_version", "commitment", "commitment_drawdown", "budget_reservation", "spend_record"} <= tables
    from alembic.config import Config

    from catalog.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert stamped == ScriptDirectory.from_config(cfg).get_heads()
    engine.dispose()


@pytest.mark.parametrize("status", list(StepStatus))
def test_every_step_status_can_be_recorded(seeded_engine: Engine, status: StepStatus) -> None:
    """ "changes_requested" has 17 characters: PostgreSQL refused it in a VARCHAR(16) column."""
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request("REQ-S"))
        _open(session, "REQ-S", 1)
        repository.close_step(
            session, request_id="REQ-S", seq=1, status=status, actor="manager@example.com", reason="x", at=AT
        )
    with transaction(seeded_engine) as session:
        step = repository.get_step(session, request_id="REQ-S", seq=1)
        assert step is not None and step.status == status

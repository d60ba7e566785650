"""The persistence layer, on SQLite and on PostgreSQL, through the real Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, select

from catalog import repository
from catalog.db import normalise_url, transaction, upgrade
from catalog.models import ApprovalStep, Asset, Budget, Contract, Person, Product, PurchaseRequest, StepStatus
from catalog.seed import seed_if_empty

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _request(request_id: str = "REQ-1") -> PurchaseRequest:
    return PurchaseRequest(
        id=request_id,
        workflow_id=f"request-{request_id}",
        requester_email="employee@example.com",
        requester_slack_id="U0EMPLOYEE",
        product_id="figma",
        product_name="Figma",
        vendor="Figma, Inc.",
        seats=2,
        unit_price_cents=18000,
        annual_cost_cents=36000,
        cost_center="CC-DESIGN",
        justification="x",
        created_at=AT,
        updated_at=AT,
    )


def _open_manager_step(session: Session, reasons: list[str] | None = None) -> None:
    repository.open_step(
        session,
        request_id="REQ-1",
        seq=1,
        role="manager",
        approver_email="manager@example.com",
        approver_slack_id="U0MANAGER",
        reasons=reasons or [],
    )


def _manager_approves(session: Session) -> ApprovalStep:
    return repository.close_step(
        session,
        request_id="REQ-1",
        seq=1,
        status=StepStatus.APPROVED,
        actor="manager@example.com",
        reason=None,
        at=AT,
    )


def _record_asset(
    session: Session, request: PurchaseRequest, renewal: date = date(2027, 11, 23)
) -> tuple[Asset, Contract]:
    """What an approved request bought: a year from 2026-11-23, auto-renewing."""
    return repository.create_asset_for_request(
        session,
        request=request,
        start_date=date(2026, 11, 23),
        term_months=12,
        auto_renew=True,
        notice_days=30,
        renewal_date=renewal,
        at=AT,
    )


def test_migrations_create_every_table_and_are_repeatable(engine: Engine) -> None:
    upgrade(engine)  # second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {
        "product",
        "person",
        "budget",
        "purchase_request",
        "approval_step",
        "asset",
        "contract",
        "seat_assignment",
        "audit_event",
        "slack_message",
        "alembic_version",
    } <= tables


def test_seed_loads_once(engine: Engine) -> None:
    with transaction(engine) as session:
        assert seed_if_empty(session)
    with transaction(engine) as session:
        assert not seed_if_empty(session)
        assert session.get(Product, "figma") is not None
        employee = repository.get_person(session, email="Employee@Example.com ")
        assert employee is not None and employee.manager_email == "manager@example.com"
        assert len(session.exec(select(Budget)).all()) >= 5


def test_request_asset_and_audit_writes_are_idempotent(seeded_engine: Engine) -> None:
    for _ in range(2):
        with transaction(seeded_engine) as session:
            repository.create_request(session, request=_request())
            _open_manager_step(session)
            repository.audit(
                session,
                idem_key="REQ-1:submitted",
                at=AT,
                entity="request",
                entity_id="REQ-1",
                action="submitted",
                actor="employee@example.com",
                request_id="REQ-1",
            )
    with transaction(seeded_engine) as session:
        first = _manager_approves(session)
        again = repository.close_step(
            session,
            request_id="REQ-1",
            seq=1,
            status=StepStatus.DENIED,
            actor="someone@example.com",
            reason="late",
            at=AT,
        )
        assert again.status == first.status == StepStatus.APPROVED and again.decided_by == "manager@example.com"
    for _ in range(2):
        with transaction(seeded_engine) as session:
            request = repository.get_request(session, request_id="REQ-1")
            assert request is not None
            _record_asset(session, request)
    with transaction(seeded_engine) as session:
        assets = [a for a in repository.list_assets(session) if a.request_id == "REQ-1"]  # the seed owns others
        assert len(assets) == 1 and assets[0].annual_cost_cents == 36000
        assert assets[0].id is not None
        contract = repository.get_contract(session, asset_id=assets[0].id)
        assert contract is not None and contract.renewal_date == date(2027, 11, 23)
        assert len(repository.list_seats(session, asset_id=assets[0].id)) == 1
        assert [a.action for a in repository.list_audit(session, request_id="REQ-1")] == ["submitted"]
        waiting = repository.requests_waiting_for(session, approver_slack_id="U0MANAGER", status=StepStatus.PENDING)
        assert waiting == []


def _audit(session: Session, key: str, action: str) -> bool:
    return repository.audit(
        session,
        idem_key=key,
        at=AT,
        entity="request",
        entity_id="REQ-1",
        action=action,
        actor="employee@example.com",
        request_id="REQ-1",
        detail={"note": "ünïcode & <tags>", "budget": {"available_cents": 12}},
    )


def test_an_audit_key_is_written_once_across_transactions_and_within_one(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        assert _audit(session, "REQ-1:a", "first") is True
        assert _audit(session, "REQ-1:a", "again in the same transaction") is False
        assert _audit(session, "REQ-1:b", "second") is True
    with transaction(seeded_engine) as session:
        assert _audit(session, "REQ-1:a", "a retried activity") is False
    with transaction(seeded_engine, read_only=True) as session:
        rows = repository.list_audit(session, request_id="REQ-1")
    assert [(r.idem_key, r.action) for r in rows] == [("REQ-1:a", "first"), ("REQ-1:b", "second")]
    assert rows[0].detail == {"note": "ünïcode & <tags>", "budget": {"available_cents": 12}}
    with transaction(seeded_engine, read_only=True) as session:
        only = repository.list_audit(session, request_id="REQ-1", actions=("second", "absent"))
    assert [r.idem_key for r in only] == ["REQ-1:b"]


def test_an_audit_row_written_by_a_failed_transaction_is_gone_with_it(seeded_engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(seeded_engine) as session:
        _audit(session, "REQ-1:lost", "rolled back")
        raise RuntimeError("boom")
    with transaction(seeded_engine) as session:
        assert _audit(session, "REQ-1:lost", "written on the retry") is True
    with transaction(seeded_engine, read_only=True) as session:
        assert [r.action for r in repository.list_audit(session, request_id="REQ-1")] == ["written on the retry"]


def test_a_failed_transaction_leaves_nothing_behind(seeded_engine: Engine) -> None:
    try:
        with transaction(seeded_engine) as session:
            repository.create_request(session, request=_request("REQ-2"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with transaction(seeded_engine) as session:
        assert repository.get_request(session, request_id="REQ-2") is None


def test_slack_id_moves_to_the_person_slack_says_it_is(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.link_slack_id(session, email="engineer@example.com", slack_id="U0EMPLOYEE")
    with transaction(seeded_engine) as session:
        person = repository.get_person_by_slack_id(session, slack_id="U0EMPLOYEE")
        assert person is not None and person.email == "engineer@example.com"
        former = session.get(Person, "employee@example.com")
        assert former is not None and former.slack_id is None


def test_database_urls_are_normalised_to_psycopg3() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_money_beyond_32_bits_is_stored_exactly(seeded_engine: Engine) -> None:
    big = 99_000_000_00  # $99 million a year: above 2**31 cents, within MAX_ANNUAL_CENTS
    request = _request("REQ-BIG")
    request.unit_price_cents = big
    request.annual_cost_cents = big
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=request)
    with transaction(seeded_engine) as session:
        stored = repository.get_request(session, request_id="REQ-BIG")
        assert stored is not None and stored.annual_cost_cents == big


def test_a_summary_reads_each_table_once_however_many_steps_and_people(seeded_engine: Engine) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def reads(request_id: str) -> int:
        with transaction(seeded_engine) as session:
            session.connection()  # the transaction's BEGIN is not one of the look-ups counted
            statements.clear()
            event.listen(seeded_engine, "before_cursor_execute", count)
            try:
                rows = repository.request_rows(session, request_id=request_id)
            finally:
                event.remove(seeded_engine, "before_cursor_execute", count)
            assert rows is not None
            return len(statements)

    approvers = [("manager", "manager@example.com", "U0MANAGER"), ("finance", "finance@example.com", "U0FINANCE")]
    for request_id, steps in (("REQ-1", approvers[:1]), ("REQ-2", approvers)):
        with transaction(seeded_engine) as session:
            repository.create_request(session, request=_request(request_id))
            for seq, (role, email, slack_id) in enumerate(steps, start=1):
                repository.open_step(
                    session, request_id=request_id, seq=seq, role=role, approver_email=email, approver_slack_id=slack_id
                )
    one, two = reads("REQ-1"), reads("REQ-2")
    # request, steps, people, asset, product, alternatives, plans, reservation (no contract without an asset)
    assert one == two == 8
    with transaction(seeded_engine) as session:
        rows = repository.request_rows(session, request_id="REQ-2")
        assert rows is not None
        assert sorted(rows.people) == ["employee@example.com", "finance@example.com", "manager@example.com"]
        statements.clear()
        event.listen(seeded_engine, "before_cursor_execute", count)
        try:
            # Already in the session: a person is found again without asking the database.
            first = repository.get_person(session, email=" Employee@Example.com ")
            assert repository.get_person(session, email="EMPLOYEE@example.com") is first is not None
            assert len(statements) == 1
        finally:
            event.remove(seeded_engine, "before_cursor_execute", count)
        assert repository.get_person(session, email="nobody@example.com") is None
        assert repository.get_request(session, request_id="no-such-request") is None


def _same_columns(row: object, model: object) -> None:
    """Every column of the model's table reads the same on the plain row."""
    for column in type(model).__table__.columns:  # type: ignore[attr-defined]
        assert getattr(row, column.name) == getattr(model, column.name), column.name


def test_request_rows_read_what_the_model_objects_read(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        request = repository.create_request(session, request=_request())
        _open_manager_step(session, reasons=["the requester's manager approves every request"])
        for action, detail in (("submitted", {"reasons": ["first"]}), ("resubmitted", {"note": "no plan"})):
            repository.audit(
                session,
                idem_key=f"REQ-1:{action}",
                at=AT,
                entity="request",
                entity_id="REQ-1",
                action=action,
                actor="employee@example.com",
                request_id="REQ-1",
                detail=detail,
            )
        _manager_approves(session)
        _record_asset(session, request)
        repository.reserve_budget(
            session,
            request_id="REQ-1",
            cost_center="CC-DESIGN",
            fiscal_year=2026,
            amount_cents=36000,
            currency="USD",
            at=AT,
        )
    with transaction(seeded_engine) as session:
        rows = repository.request_rows(session, request_id="REQ-1")
        assert rows is not None
        stored = repository.get_request(session, request_id="REQ-1")
        assert stored is not None
        _same_columns(rows.request, stored)
        steps = repository.list_steps(session, request_id="REQ-1")
        assert len(rows.steps) == len(steps) == 1
        _same_columns(rows.steps[0], steps[0])
        assert rows.steps[0].reasons == ["the requester's manager approves every request"]
        people = {e: repository.get_person(session, email=e) for e in ("employee@example.com", "manager@example.com")}
        assert sorted(rows.people) == sorted(people) == ["employee@example.com", "manager@example.com"]
        for email, person in people.items():
            _same_columns(rows.people[email], person)
        asset = repository.get_asset_for_request(session, request_id="REQ-1")
        assert asset is not None and asset.id is not None and rows.asset is not None
        _same_columns(rows.asset, asset)
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None and rows.contract is not None
        _same_columns(rows.contract, contract)
        product = repository.get_product(session, product_id="figma")
        assert product is not None and rows.product is not None
        _same_columns(rows.product, product)
        assert list(rows.alternatives) == sorted(product.alternatives) and rows.alternatives
        reservation = repository.get_reservation(session, request_id="REQ-1")
        assert reservation is not None and rows.reservation is not None
        _same_columns(rows.reservation, reservation)
        assert [(p.action, p.detail) for p in rows.plans] == [
            ("submitted", {"reasons": ["first"]}),
            ("resubmitted", {"note": "no plan"}),
        ]
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2026)
        row = repository.budget_row(session, cost_center="CC-DESIGN", fiscal_year=2026)
        assert line is not None and row is not None
        _same_columns(row, line)
        assert repository.budget_row(session, cost_center="CC-NONE", fiscal_year=2026) is None
        manager = repository.get_person_by_slack_id(session, slack_id="U0MANAGER")
        manager_row = repository.person_row_by_slack_id(session, slack_id="U0MANAGER")
        assert manager is not None and manager_row is not None
        _same_columns(manager_row, manager)
        assert repository.person_row_by_slack_id(session, slack_id="U0NOBODY") is None
        assert repository.request_rows(session, request_id="REQ-NONE") is None


def test_request_rows_see_the_changes_the_transaction_has_not_flushed(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request())
    with transaction(seeded_engine) as session:
        request = repository.get_request(session, request_id="REQ-1")
        assert request is not None
        request.status = "denied"
        request.decided_by = "manager@example.com"
        rows = repository.request_rows(session, request_id="REQ-1")
        assert rows is not None and rows.request.status == "denied"
        assert "manager@example.com" in rows.people


def test_an_asset_is_recorded_once_and_a_repeat_returns_the_stored_one(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        repository.create_request(session, request=_request())
    made = []
    for renewal in (date(2027, 11, 23), date(2028, 1, 1)):  # the repeat's terms are not applied
        with transaction(seeded_engine) as session:
            request = repository.get_request(session, request_id="REQ-1")
            assert request is not None
            asset, contract = _record_asset(session, request, renewal=renewal)
            made.append((asset.id, asset.seats, contract.id, contract.renewal_date))
    assert made[0] == made[1] and made[0][0] is not None and made[0][2] is not None
    assert made[0][1:] == (2, made[0][2], date(2027, 11, 23))
    with transaction(seeded_engine) as session:
        stored = repository.get_asset_for_request(session, request_id="REQ-1")
        assert stored is not None and stored.id == made[0][0]
        assert [s.person_email for s in repository.list_seats(session, asset_id=stored.id)] == ["employee@example.com"]


def test_a_reuse_check_reads_the_product_its_category_and_its_alternatives_only(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        for n in range(300):  # a real catalog: many products nothing here is compared with
            session.add(Product(id=f"bulk-{n}", name=f"Bulk {n}", vendor="Bulk Inc.", category="bulk"))
    with transaction(seeded_engine) as session:
        catalog = repository.list_products(session)
        assert len(catalog) > 300
        for product in catalog:
            if product.category == "bulk":
                continue
            related = repository.related_products(session, product=product)
            expected = [
                p.id
                for p in catalog
                if p.id == product.id or p.category == product.category or p.id in product.alternatives
            ]
            assert [p.id for p in related] == expected, product.id
            assert not any(p.category == "bulk" for p in related)
        figma = repository.get_product(session, product_id="figma")
        assert figma is not None and "canva" in [p.id for p in repository.related_products(session, product=figma)]


def test_an_audit_row_is_found_by_its_key(seeded_engine: Engine) -> None:
    with transaction(seeded_engine) as session:
        assert _audit(session, "REQ-1:reuse1", "reuse_new_purchase")
    with transaction(seeded_engine) as session:
        row = repository.get_audit(session, idem_key="REQ-1:reuse1")
        assert row is not None and row.action == "reuse_new_purchase"
        assert repository.get_audit(session, idem_key="REQ-1:reuse2") is None

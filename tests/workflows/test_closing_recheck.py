"""The closing transaction checks the route once more, under the budget line's lock (issue 19,
4): of two approvals closing at the same moment, the second sees the first one's reservation,
so both cannot fit into the last of a budget. Real PostgreSQL sessions, two threads."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.rules.budget import fiscal_year_of
from catalog.seed import seed_if_empty
from tests.conftest import migrated_engine
from tests.helpers import wait_for_a_lock_wait
from tests.workflows.fakes import RecordingNotifier
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.types import ChainClosing, ChainOutcome, OutcomeResult, PlanInput, RequestInput

AT = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for engine in migrated_engine(request.param, tmp_path, request):
        with transaction(engine) as session:
            seed_if_empty(session)
        yield engine


def _planned(activities: ProcurementActivities) -> RequestInput:
    """A Figma request (2 seats, 360 USD: the manager alone), planned and recorded."""
    request = RequestInput(
        request_id=f"REQ-{uuid.uuid4().hex[:8].upper()}",
        requester_slack_id="U0EMPLOYEE",
        requester_email="employee@example.com",
        product_name="Figma",
        product_id="figma",
        seats=2,
        justification="Design reviews",
    )
    plan = PlanInput(request, AT.isoformat())
    route, preview, policy, terms = activities.route._plan_in_db(plan, AT)
    assert [s.role for s in route.steps] == ["manager"]
    activities.route._record_plan(plan, route, preview, policy, terms, AT)
    return request


def _closing(request: RequestInput) -> ChainClosing:
    outcome = ChainOutcome(request.request_id, "approved", "U0MANAGER", None, AT.isoformat(), "", 1)
    return ChainClosing([], outcome, True, request, ["manager"])


def test_an_approval_closes_when_the_budget_still_holds(seeded: Engine) -> None:
    activities = ProcurementActivities(seeded, RecordingNotifier())
    request = _planned(activities)
    recorded, _, _ = activities.closing._close_chain(_closing(request))
    assert not recorded.route_grew
    with transaction(seeded) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "approved"
    # A retry after the commit does not count its own reservation against itself.
    again, _, _ = activities.closing._close_chain(_closing(request))
    assert not again.route_grew


def test_an_approval_over_the_budget_now_is_not_closed(seeded: Engine) -> None:
    activities = ProcurementActivities(seeded, RecordingNotifier())
    request = _planned(activities)
    with transaction(seeded) as session:
        repository.reserve_budget(
            session,
            request_id="REQ-OTHER",
            cost_center="CC-DESIGN",
            fiscal_year=fiscal_year_of(AT.date(), 1),
            amount_cents=5_000_000,
            currency="USD",
            at=AT,
        )
    recorded, _, _ = activities.closing._close_chain(_closing(request))
    assert recorded.route_grew
    with transaction(seeded) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status != "approved"
        assert repository.get_reservation(session, request_id=request.request_id) is None


@pytest.mark.postgres
def test_two_approvals_closing_at_once_do_not_both_fit_into_the_last_of_a_budget(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for engine in migrated_engine("postgres", tmp_path, request):
        with transaction(engine) as session:
            seed_if_empty(session)
        assert _second_of_two_closings(engine).route_grew, "the second approval saw the first one's reservation"


def _second_of_two_closings(engine: Engine) -> OutcomeResult:
    activities = ProcurementActivities(engine, RecordingNotifier())
    second = _closing(_planned(activities))
    year = fiscal_year_of(AT.date(), 1)
    result: dict[str, OutcomeResult] = {}

    def close_second() -> None:
        result["second"] = activities.closing._close_chain(second)[0]

    # The first approval is closing: it holds the line while it reserves what is left.
    with transaction(engine) as session:
        repository.lock_budget_line(session, cost_center="CC-DESIGN", fiscal_year=year)
        closer = threading.Thread(target=close_second)
        closer.start()
        wait_for_a_lock_wait(engine, what="the closing")
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=year)
        assert line is not None
        repository.reserve_budget(
            session,
            request_id="REQ-FIRST",
            cost_center="CC-DESIGN",
            fiscal_year=year,
            amount_cents=line.annual_cents - line.committed_cents - line.actual_cents - 100,
            currency="USD",
            at=AT,
        )
    closer.join(timeout=60)
    return result["second"]

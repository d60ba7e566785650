"""The policy-driven approval chain on Temporal's time-skipping server, with the real
activities on a real (SQLite) database, the shipped policy.yaml and a recording notifier:
stages in order and steps in parallel, reservation exactly once, request changes → edit →
re-plan, delegation, withdrawal, and the SLA (reminder, escalation, expiry) on business days."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from catalog import repository
from catalog.db import transaction
from catalog.models import Person
from catalog.ports import MessageKind, MessageRef, RequestSummary
from catalog.rules.budget import fiscal_year_of
from catalog.rules.policy import default_policy_path
from catalog.settings import Settings
from tests.helpers import eventually
from tests.workflows.fakes import RecordingNotifier
from tests.workflows.test_request_workflow import Harness, running_harness
from workflows.request.activities.messaging import Messenger, Noted
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.types import (
    ACTION_REQUEST_CHANGES,
    CHOICE_BUY,
    ChainClosing,
    ChainOutcome,
    ChoiceInput,
    DecisionInput,
    DelegateInput,
    EditInput,
    PlanInput,
    RequestInput,
    RequestResult,
    RequestState,
    StepState,
    WithdrawInput,
)
from workflows.request.workflow import ALL_PATCHES_PATCH, ProcurementRequestWorkflow

EMPLOYEE = "U0EMPLOYEE"
MANAGER = "U0MANAGER"
VP = "U0VP"
ENGINEER = "U0ENGINEER"


def purchase(**overrides: object) -> RequestInput:
    """1Password for the whole company: 24,000 USD a year, over the finance threshold."""
    fields: dict[str, object] = {
        "request_id": f"REQ-{uuid.uuid4().hex[:8].upper()}",
        "requester_slack_id": EMPLOYEE,
        "requester_email": "employee@example.com",
        "product_id": "1password",
        "product_name": "1Password",
        "seats": 1,
        "justification": "Company-wide password manager",
    }
    fields.update(overrides)
    return RequestInput(**fields)  # type: ignore[arg-type]


class Chain(Harness):
    async def start(self, request: RequestInput) -> None:
        """Submit, say "buy" to any reuse offer, and return once the first approver has the DM."""
        await self.client.submit(request)

        async def settled() -> bool:
            state = await self.state(request.request_id)
            if state.choice_open:
                await self.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY))
                return False
            return any(s.status == "pending" for s in state.steps or [])

        await eventually(settled, what="the first approval step")
        for step in await self.open_steps(request.request_id):
            await self.dm_sent(request.request_id, step.seq)

    async def dm_sent(self, request_id: str, seq: int) -> None:
        def sent() -> bool:
            return any(
                s.kind is MessageKind.APPROVAL_REQUEST
                and s.summary.request_id == request_id
                and s.summary.viewer_seq == seq
                for s in self.notifier.sent
            )

        await eventually(sent, what=f"the approval DM of step {seq}")

    async def state(self, request_id: str) -> RequestState:
        state = await self.client.state(request_id)
        assert state is not None
        return state

    async def open_steps(self, request_id: str) -> list[StepState]:
        return [s for s in (await self.state(request_id)).steps or [] if s.status == "pending"]

    async def approve_open(self, request_id: str) -> list[StepState]:
        """Approve every open step as its approver; returns the steps approved."""
        steps = await self.open_steps(request_id)
        for step in steps:
            outcome = await self.client.decide(
                request_id, DecisionInput(step.approver_slack_id, approve=True, seq=step.seq)
            )
            assert outcome.accepted, outcome.message
        return steps

    async def next_stage(self, request_id: str, after: list[int]) -> list[StepState]:
        found: list[StepState] = []

        async def opened() -> bool:
            found[:] = [s for s in await self.open_steps(request_id) if s.seq not in after]
            return bool(found)

        await eventually(opened, what="the next stage")
        for step in found:
            await self.dm_sent(request_id, step.seq)
        return found

    async def result(self, request_id: str) -> RequestResult:
        handle = self.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request_id}")
        return await handle.result()


@contextlib.asynccontextmanager
async def running_chain(env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Chain]:
    async with running_harness(env, engine) as harness:
        yield Chain(harness.env, harness.engine, harness.notifier, harness.queue)


@pytest.fixture
async def chain(time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Chain]:
    async with running_chain(time_skipping_env, sqlite_seeded) as harness:
        yield harness


@pytest.fixture
async def clock_chain(own_clock_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Chain]:
    """On a test server of its own: for the test that moves the clock by hand."""
    async with running_chain(own_clock_env, sqlite_seeded) as harness:
        yield harness


def _budget(engine: Engine, cost_center: str) -> tuple[int, int]:
    with transaction(engine) as session:
        line = repository.get_budget(
            session, cost_center=cost_center, fiscal_year=fiscal_year_of(datetime.now(UTC).date(), 1)
        )
        assert line is not None
        return line.committed_cents, line.annual_cents


async def test_manager_finance_and_finops_walk_in_order_and_reserve_once(chain: Chain) -> None:
    request = purchase(channel="aws_marketplace")
    committed_before, _ = _budget(chain.engine, "CC-DESIGN")
    await chain.start(request)

    first = await chain.open_steps(request.request_id)
    assert [(s.role, s.approver_slack_id) for s in first] == [("manager", MANAGER)]
    # Only the first stage is asked: finance hears nothing until the manager approves.
    roles_asked = {s.summary.viewer_seq for s in chain.notifier.sent if s.kind is MessageKind.APPROVAL_REQUEST}
    assert roles_asked == {first[0].seq}
    manager_dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].summary
    assert manager_dm.budget is not None and manager_dm.budget.cost_center == "CC-DESIGN"
    assert manager_dm.budget.after_cents == manager_dm.budget.available_cents - 2_400_000
    assert manager_dm.drawdown is not None and manager_dm.drawdown.provider == "aws"
    assert any("5,000.00" in reason for reason in manager_dm.policy_reasons)

    await chain.approve_open(request.request_id)
    finance = await chain.next_stage(request.request_id, [first[0].seq])
    assert [s.role for s in finance] == ["finance"]
    finance_dm = chain.notifier.sent_to(finance[0].approver_slack_id, MessageKind.APPROVAL_REQUEST)
    assert finance_dm and finance_dm[-1].summary.viewer_seq == finance[0].seq
    assert any("5,000.00" in r for r in next(s for s in finance_dm[-1].summary.steps if s.role == "finance").reasons)

    await chain.approve_open(request.request_id)
    finops = await chain.next_stage(request.request_id, [first[0].seq, finance[0].seq])
    assert [s.role for s in finops] == ["finops"]
    # A second click on an approved step changes nothing and says who decided it.
    again = await chain.client.decide(
        request.request_id, DecisionInput(finance[0].approver_slack_id, approve=True, seq=finance[0].seq)
    )
    assert not again.accepted and "already approved" in again.message
    await chain.approve_open(request.request_id)

    result = await chain.result(request.request_id)
    assert result.status == "approved" and result.asset_id is not None
    committed_after, _ = _budget(chain.engine, "CC-DESIGN")
    assert committed_after - committed_before == 2_400_000
    with transaction(chain.engine) as session:
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None and reservation.amount_cents == 2_400_000
        drawn = repository.get_drawdown(session, request_id=request.request_id)
        assert drawn is not None and drawn.amount_cents + drawn.overflow_cents == 2_400_000
        events = repository.list_audit(session, request_id=request.request_id)
        steps_approved = [e for e in events if e.action == "step_approved"]
        assert [e.step_seq for e in steps_approved] == [first[0].seq, finance[0].seq, finops[0].seq]
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.policy_version
        assert all(e.policy_version == stored.policy_version for e in steps_approved)
        approved = next(e for e in events if e.action == "approved")
        assert (
            approved.detail["reserved_cents"] == 2_400_000 and approved.detail["budget"]["cost_center"] == "CC-DESIGN"
        )
        # The line as the closing transaction saw it, before and after the reservation.
        before, after = approved.detail["budget"], approved.detail["budget_after"]
        assert before["committed_cents"] == committed_before
        assert after["committed_cents"] == committed_after == before["committed_cents"] + 2_400_000
        assert after["available_cents"] == before["available_cents"] - 2_400_000
        # Each step's audit row names who decided it, by email (the click names a Slack id).
        deciders = [e.actor for e in steps_approved]
        assert deciders[0] == "manager@example.com" and all("@" in d for d in deciders), deciders
    assert len(chain.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)) == 1
    # The last click closes the request with one activity: its step, the outcome, the notice.
    history = await chain.env.client.get_workflow_handle(f"request-{request.request_id}").fetch_history()
    queued = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert queued[-3:] == ["record_step", "open_chain_stage", "close_chain"], queued
    # One patch marker (and one search-attribute upsert) stands for every patch a new request takes.
    patches = [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    upserts = [e for e in history.events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
    assert len(patches) == len(upserts) == 1
    [marker] = patches[0].marker_recorded_event_attributes.details["patch-data"].payloads
    assert json.loads(marker.data)["id"] == ALL_PATCHES_PATCH


async def test_an_earlier_approver_clicking_a_later_open_step_is_told_whose_it_is(chain: Chain) -> None:
    """The manager approved stage 1; Approve on the finance step (open, Fiona's) is refused as
    someone else's step, not as "already approved by <@manager>"."""
    request = purchase()
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    [finance] = await chain.next_stage(request.request_id, [s.seq for s in manager])
    refused = await chain.client.decide(request.request_id, DecisionInput(MANAGER, approve=True, seq=finance.seq))
    assert not refused.accepted
    assert refused.message == (
        f"Only <@{finance.approver_slack_id}> (or their delegate <@{finance.delegate_slack_id}>) can decide this step."
    )
    # A click without a step (an old button) still hears what this person decided.
    old_button = await chain.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    assert not old_button.accepted and old_button.message == f"This step was already approved by <@{MANAGER}>."
    assert [s.status for s in await chain.open_steps(request.request_id)] == ["pending"]


async def test_the_requester_sees_the_whole_planned_route_from_the_start(chain: Chain) -> None:
    """Confidential, through AWS Marketplace: manager, then finance + security, then FinOps.
    While the manager decides, the status message already shows every stage, the later ones
    as waiting with their approvers."""
    request = purchase(channel="aws_marketplace", data_classification="confidential")
    await chain.start(request)
    await eventually(lambda: bool(chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_STATUS)), what="status")
    [status] = chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_STATUS)
    shown = ([u[2] for u in chain.notifier.updates if u[0] == status.ref] or [status.summary])[-1]
    assert [(s.stage, s.role, s.status) for s in shown.steps] == [
        (1, "manager", "pending"),
        (2, "finance", "waiting"),
        (2, "security", "waiting"),
        (3, "finops", "waiting"),
    ]
    assert [s.approver_slack_id for s in shown.steps] == [MANAGER, "U0FINANCE", "U0SECURITY", "U0FINOPS"]
    assert [s.approver_name for s in shown.steps][1:] == ["Fiona Finance", "Sam Security", "Felix FinOps"]
    # The manager's DM shows it too; decided or closed, only the steps that were opened remain.
    manager_dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].summary
    assert len(manager_dm.steps) == 4
    await chain.client.withdraw(request.request_id, WithdrawInput(EMPLOYEE))
    assert (await chain.result(request.request_id)).status == "withdrawn"
    closed = [u[2] for u in chain.notifier.updates if u[0] == status.ref][-1]
    assert [(s.role, s.status) for s in closed.steps] == [("manager", "withdrawn")]


async def test_an_estimate_below_the_catalog_price_changes_nothing(chain: Chain) -> None:
    """Issue 19 #2: 1Password (24,000 USD a year, no seat pool) asked for with an estimate of
    1 USD went to the manager alone, reserved 1 USD and was recorded as a 1 USD asset."""
    request = purchase(estimate_cents=100)
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].summary
    assert dm.annual_cost_cents == 2_400_000
    assert dm.price is not None and (dm.price.catalog_annual_cents, dm.price.estimate_cents) == (2_400_000, 100)
    finance = await chain.next_stage(request.request_id, [s.seq for s in manager])
    assert [s.role for s in finance] == ["finance"]  # over the 5,000 USD threshold, at the catalog price
    await chain.approve_open(request.request_id)
    result = await chain.result(request.request_id)
    assert result.status == "approved"
    with transaction(chain.engine) as session:
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None and reservation.amount_cents == 2_400_000
        asset = repository.get_asset_for_request(session, request_id=request.request_id)
        assert asset is not None and (asset.annual_cost_cents, asset.unit_price_cents) == (2_400_000, 2_400_000)
        [submitted] = repository.list_audit(session, request_id=request.request_id, actions=["submitted"])
        assert submitted.detail["annual_cost_cents"] == 2_400_000
        assert submitted.detail["price"] == {
            "basis": "catalog",
            "annual_cost_cents": 2_400_000,
            "catalog_annual_cents": 2_400_000,
            "estimate_cents": 100,
            "currency": "USD",
        }


async def test_closing_uses_the_company_date_for_the_fiscal_year_and_the_contract(sqlite_seeded: Engine) -> None:
    """Issue 19 #10: approved at 20:30 on 2026-12-31 in New York (01:30 UTC on 2027-01-01),
    the request reserved against FY2027 and its contract started on 2027-01-01."""
    activities = ProcurementActivities(sqlite_seeded, RecordingNotifier())
    activities.messenger.settings = Settings(company_timezone="America/New_York", fiscal_year_start_month=1)
    env = ActivityEnvironment()
    request = purchase()
    await env.run(activities.route.plan_route, PlanInput(request, "2026-12-31T20:00:00-05:00"))
    outcome = ChainOutcome(request.request_id, "approved", MANAGER, None, "2027-01-01T01:30:00+00:00")
    result = await env.run(activities.closing.close_chain, ChainClosing([], outcome))
    assert result.renewal_date == "2027-12-31"
    with transaction(sqlite_seeded) as session:
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None and reservation.fiscal_year == 2026
        asset = repository.get_asset_for_request(session, request_id=request.request_id)
        assert asset is not None and asset.id is not None
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None and contract.start_date == date(2026, 12, 31)
        [approved] = repository.list_audit(session, request_id=request.request_id, actions=["approved"])
        assert approved.detail["budget"]["fiscal_year"] == approved.detail["budget_after"]["fiscal_year"] == 2026


async def test_parallel_steps_are_asked_together_and_one_denial_ends_it(chain: Chain) -> None:
    request = purchase(data_classification="confidential")
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    stage2 = await chain.next_stage(request.request_id, [s.seq for s in manager])
    assert sorted(s.role for s in stage2) == ["finance", "security"]
    security = next(s for s in stage2 if s.role == "security")
    finance = next(s for s in stage2 if s.role == "finance")
    refused = await chain.client.decide(
        request.request_id, DecisionInput(security.approver_slack_id, approve=False, seq=security.seq)
    )
    assert not refused.accepted and "reason" in refused.message
    denied = await chain.client.decide(
        request.request_id,
        DecisionInput(security.approver_slack_id, approve=False, reason="No SSO, no SOC 2", seq=security.seq),
    )
    assert denied.accepted, denied.message
    result = await chain.result(request.request_id)
    assert result.status == "denied" and result.reason == "No SSO, no SOC 2"
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is None
        statuses = {s.seq: s.status for s in repository.list_steps(session, request_id=request.request_id)}
    assert statuses[security.seq] == "denied" and statuses[finance.seq] == "superseded"
    late = await chain.client.decide(
        request.request_id, DecisionInput(finance.approver_slack_id, approve=True, seq=finance.seq)
    )
    assert not late.accepted


async def test_request_changes_then_edit_replans_and_keeps_approvals_that_still_hold(chain: Chain) -> None:
    request = purchase()
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    finance = await chain.next_stage(request.request_id, [s.seq for s in manager])
    no_comment = await chain.client.decide(
        request.request_id,
        DecisionInput(finance[0].approver_slack_id, approve=False, seq=finance[0].seq, action=ACTION_REQUEST_CHANGES),
    )
    assert not no_comment.accepted
    asked = await chain.client.decide(
        request.request_id,
        DecisionInput(
            finance[0].approver_slack_id,
            approve=False,
            reason="Annual billing please, and half the price",
            seq=finance[0].seq,
            action=ACTION_REQUEST_CHANGES,
        ),
    )
    assert asked.accepted, asked.message

    async def changes_requested() -> bool:
        state = await chain.state(request.request_id)
        return state.status == "changes_requested"

    await eventually(changes_requested, what="changes requested")
    # One status message, updated in place: it now waits for the requester's edit, with the
    # comment (and the Edit button); a notice without buttons tells them.
    [status_message] = chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_STATUS)
    assert not chain.notifier.sent_to(EMPLOYEE, MessageKind.CHANGES_REQUESTED)

    def shown() -> list[RequestSummary]:
        return [u[2] for u in chain.notifier.updates if u[0] == status_message.ref]

    since_asked = [v for v in shown() if any(s.status == "changes_requested" for s in v.steps)]
    assert since_asked and all(v.status == "changes_requested" for v in since_asked), [v.status for v in since_asked]
    assert since_asked[-1].changes_comment == "Annual billing please, and half the price"
    [notice] = [
        n for n in chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_NOTICE) if "change" in (n.summary.event or "")
    ]
    assert "“Annual billing please, and half the price”" in (notice.summary.event or "")
    # Only the requester edits; a bad edit is refused and the request keeps waiting.
    stranger = await chain.client.edit(request.request_id, EditInput(MANAGER, estimate_cents=400_000))
    assert not stranger.accepted
    bad = await chain.client.edit(request.request_id, EditInput(EMPLOYEE, cost_center="CC-NOPE"))
    assert not bad.accepted and "CC-NOPE" in bad.message
    edited = await chain.client.edit(request.request_id, EditInput(EMPLOYEE, seats=1, justification="Cheaper plan"))
    assert edited.accepted, edited.message

    # Same cost: the manager's approval carries over, finance is asked again in round 2.
    again = await chain.next_stage(request.request_id, [s.seq for s in manager] + [finance[0].seq])
    assert [s.role for s in again] == ["finance"]
    resubmitted = shown()[-1]
    assert resubmitted.status == "pending_approval" and resubmitted.changes_comment is None
    assert len(chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_STATUS)) == 1
    await chain.approve_open(request.request_id)
    result = await chain.result(request.request_id)
    assert result.status == "approved"
    with transaction(chain.engine) as session:
        rows = repository.list_steps(session, request_id=request.request_id)
        stored = repository.get_request(session, request_id=request.request_id)
    assert stored is not None and stored.round == 2 and stored.justification == "Cheaper plan"
    round2 = [(s.role, s.status) for s in rows if s.round == 2]
    assert round2 == [("manager", "approved"), ("finance", "approved")]
    assert any("earlier round" in (s.assigned_because or "") for s in rows if s.round == 2 and s.role == "manager")


async def test_delegate_hands_the_step_over_and_the_requester_may_withdraw(chain: Chain) -> None:
    request = purchase()
    await chain.start(request)
    step = (await chain.open_steps(request.request_id))[0]
    to_self = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, MANAGER, step.seq))
    assert not to_self.accepted
    to_requester = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, EMPLOYEE, step.seq))
    assert not to_requester.accepted
    unknown = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, "U0NOBODY", step.seq))
    assert not unknown.accepted and "directory" in unknown.message
    delegated = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, VP, step.seq, "I'm off"))
    assert delegated.accepted, delegated.message
    (to_vp,) = chain.notifier.sent_to(VP, MessageKind.APPROVAL_REQUEST)
    notice = "Max Manager delegated this approval to you."
    assert to_vp.summary.event == notice
    # The refresh of every message that follows the delegation keeps the notice it was posted with.
    assert all(u[2].event == notice for u in chain.notifier.updates if u[0] == to_vp.ref)
    manager_now = await chain.client.decide(request.request_id, DecisionInput(MANAGER, approve=True, seq=step.seq))
    assert not manager_now.accepted

    not_mine = await chain.client.withdraw(request.request_id, WithdrawInput(VP))
    assert not not_mine.accepted
    withdrawn = await chain.client.withdraw(request.request_id, WithdrawInput(EMPLOYEE))
    assert withdrawn.accepted, withdrawn.message
    result = await chain.result(request.request_id)
    assert result.status == "withdrawn"
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is None
        steps = repository.list_steps(session, request_id=request.request_id)
    assert [(s.approver_email, s.status) for s in steps] == [("vp@example.com", "withdrawn")]


async def test_a_step_is_delegated_only_to_someone_who_could_take_its_role(chain: Chain) -> None:
    """24,000 USD: the manager may not hand his step to an engineer (who would approve it "as
    Manager"); the refusal names who may take it and is audited. His own manager may."""
    request = purchase()
    await chain.start(request)
    step = (await chain.open_steps(request.request_id))[0]
    refused = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, ENGINEER, step.seq))
    assert not refused.accepted
    assert "Eli Engineer can't take over a manager step" in refused.message
    assert "above Max Manager in the reporting line (Vera Vice-President)" in refused.message
    assert (await chain.open_steps(request.request_id))[0].approver_slack_id == MANAGER
    assert not chain.notifier.sent_to(ENGINEER, MessageKind.APPROVAL_REQUEST)
    with transaction(chain.engine) as session:
        [audited] = [
            e
            for e in repository.list_audit(session, request_id=request.request_id)
            if e.action == "step_delegation_refused"
        ]
    assert audited.actor == "manager@example.com" and audited.detail["to"] == "engineer@example.com"
    assert audited.detail["role"] == "manager" and "can't take over" in audited.detail["reason"]

    up_the_line = await chain.client.delegate(request.request_id, DelegateInput(MANAGER, VP, step.seq))
    assert up_the_line.accepted, up_the_line.message
    manager = await chain.approve_open(request.request_id)
    [finance] = await chain.next_stage(request.request_id, [s.seq for s in manager])
    # Finance may go to another holder of the role or to Fiona's delegate, not to the manager.
    not_finance = await chain.client.delegate(
        request.request_id, DelegateInput(finance.approver_slack_id, MANAGER, finance.seq)
    )
    assert not not_finance.accepted and "holds the finance role" in not_finance.message
    to_delegate = await chain.client.delegate(
        request.request_id, DelegateInput(finance.approver_slack_id, VP, finance.seq)
    )
    assert to_delegate.accepted, to_delegate.message


async def test_sla_reminds_then_escalates_then_expires_on_business_days(clock_chain: Chain) -> None:
    chain = clock_chain
    request = purchase()
    await chain.start(request)
    step = (await chain.open_steps(request.request_id))[0]
    with transaction(chain.engine) as session:
        row = repository.get_step(session, request_id=request.request_id, seq=step.seq)
        assert row is not None and row.remind_at and row.escalate_at and row.opened_at
        remind_at, escalate_at, opened_at = row.remind_at, row.escalate_at, row.opened_at
    # Two business days, never counting a weekend or a holiday.
    assert remind_at - opened_at >= timedelta(days=2)
    assert remind_at.astimezone(UTC).weekday() < 5

    def reminded() -> bool:
        return bool(chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REMINDER))

    assert not reminded()
    await _skip_until(chain, remind_at)
    await eventually(reminded, what="the reminder")
    assert any(
        "reminded" in (s.summary.event or "") for s in chain.notifier.sent_to(EMPLOYEE, MessageKind.REQUESTER_NOTICE)
    )

    await _skip_until(chain, escalate_at)

    async def escalated() -> bool:
        steps = await chain.open_steps(request.request_id)
        return bool(steps) and steps[0].approver_slack_id == VP

    await eventually(escalated, what="the escalation to the manager's manager")
    (to_vp,) = chain.notifier.sent_to(VP, MessageKind.APPROVAL_REQUEST)
    assert to_vp.summary.event and to_vp.summary.event.startswith("Escalated to you")
    assert all(u[2].event == to_vp.summary.event for u in chain.notifier.updates if u[0] == to_vp.ref)
    # The original approver may still decide, as the new approver's delegate.
    assert (await chain.open_steps(request.request_id))[0].delegate_slack_id == MANAGER

    with transaction(chain.engine) as session:
        planned = next(
            e for e in repository.list_audit(session, request_id=request.request_id) if e.action == "submitted"
        )
    expires_at = datetime.fromisoformat(planned.detail["expires_at"])
    # Ten business days from when the route was planned (so at least two weekends: 14 days).
    # Not from the step's opening, which comes a moment later and would fall short by that moment.
    assert expires_at - planned.at.replace(tzinfo=UTC) >= timedelta(days=14)
    await _skip_until(chain, expires_at)
    result = await chain.result(request.request_id)
    assert result.status == "expired"
    with transaction(chain.engine) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        actions = [e.action for e in repository.list_audit(session, request_id=request.request_id)]
    assert stored is not None and stored.status == "expired"
    assert "step_reminder" in actions and "step_escalated" in actions and "expired" in actions


async def _skip_until(chain: Chain, when: datetime) -> None:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    now = await chain.env.get_current_time()
    if when > now:
        await chain.env.sleep(when - now + timedelta(minutes=1))


async def test_fifty_clicks_from_approver_and_requester_decide_once(chain: Chain) -> None:
    request = purchase(product_id="figma", product_name="Figma", seats=2)
    await chain.start(request)
    step = (await chain.open_steps(request.request_id))[0]
    clicks = [
        chain.client.decide(
            request.request_id, DecisionInput(MANAGER if i % 2 else EMPLOYEE, approve=True, seq=step.seq)
        )
        for i in range(50)
    ]
    outcomes = await asyncio.gather(*clicks)
    accepted = [o for o in outcomes if o.accepted]
    assert len(accepted) == 1
    refused_requester = [o for i, o in enumerate(outcomes) if i % 2 == 0]
    assert all(not o.accepted and "own request" in o.message for o in refused_requester)
    result = await chain.result(request.request_id)
    assert result.status == "approved"
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is not None
        # Figma is owned: the two seats join its contract, once.
        added = repository.list_audit(session, request_id=request.request_id, actions=["seats_added"])
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None
    assert len(added) == 1


async def test_requester_who_holds_the_finance_role_never_approves_their_own_request(chain: Chain) -> None:
    with transaction(chain.engine) as session:
        fiona = repository.get_person(session, email="finance@example.com")
        assert fiona is not None and "finance" in fiona.roles and fiona.slack_id
        finance_people = [p for p in repository.list_people(session) if "finance" in p.roles]
        if len(finance_people) < 2:
            repository.upsert_person(
                session,
                person=Person(
                    email="finance2@example.com",
                    slack_id="U0FINANCE2",
                    name="Frank Finance",
                    manager_email="vp@example.com",
                    department="finance",
                    cost_center="CC-FIN",
                    roles=["finance"],
                ),
            )
        fiona_slack = fiona.slack_id
    chain.notifier.emails["finance2@example.com"] = "U0FINANCE2"
    request = purchase(requester_slack_id=fiona_slack, requester_email="finance@example.com")
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    stage2 = await chain.next_stage(request.request_id, [s.seq for s in manager])
    finance = next(s for s in stage2 if s.role == "finance")
    assert finance.approver_slack_id != fiona_slack
    own = await chain.client.decide(request.request_id, DecisionInput(fiona_slack, approve=True, seq=finance.seq))
    assert not own.accepted and "own request" in own.message


async def test_each_message_changes_once_per_stage_and_never_to_what_it_already_shows(chain: Chain) -> None:
    """Opening a stage, deciding it and closing the request each update every message once:
    the approval that settles a stage is recorded without its own round of updates, and the
    DM just posted is not updated to what it already shows (Slack rate-limits chat.update)."""
    request = purchase(channel="aws_marketplace")
    await chain.start(request)
    seqs: list[int] = []
    for _ in range(3):
        approved = await chain.approve_open(request.request_id)
        seqs += [s.seq for s in approved]
        if len(seqs) < 3:
            await chain.next_stage(request.request_id, seqs)
    assert (await chain.result(request.request_id)).status == "approved"

    shown: dict[MessageRef, list[RequestSummary]] = {}
    for sent in chain.notifier.sent:
        if sent.summary.request_id == request.request_id:
            shown[sent.ref] = [sent.summary]
    for ref, _, summary in chain.notifier.updates:
        if summary.request_id == request.request_id:
            shown[ref].append(summary)
    for ref, versions in shown.items():
        assert all(a != b for a, b in itertools.pairwise(versions)), f"{ref} updated to what it showed"
    manager_dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].ref
    # Posted at stage 1; updated when stage 2 opens, when stage 3 opens and at the outcome.
    assert [s.status for s in shown[manager_dm][1:]] == ["pending_approval"] * 2 + ["approved"]
    requester = next(s.ref for s in chain.notifier.sent if s.kind is MessageKind.REQUESTER_STATUS)
    assert shown[requester][-1].status == "approved" and len(shown[requester]) == 4


async def test_notes_before_posts_ride_in_the_transactions_that_precede_them(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the step and closing the request note the messages they post next in their own
    transactions: on the common path no message note takes a transaction of its own, and each
    message still goes out once."""
    own_transactions: list[str] = []
    note_alone = Messenger.note_or_ref

    def counted(self: Messenger, key: str, request_id: str) -> Noted:
        own_transactions.append(key)
        return note_alone(self, key, request_id)

    monkeypatch.setattr(Messenger, "note_or_ref", counted)
    request = purchase(product_id="zoom", product_name="Zoom")  # the manager's step alone
    await chain.start(request)
    [step] = await chain.approve_open(request.request_id)
    assert (await chain.result(request.request_id)).status == "approved"
    assert own_transactions == []
    mine = [s for s in chain.notifier.sent if s.summary.request_id == request.request_id]
    assert sorted((s.user_id, s.kind) for s in mine) == sorted(
        [
            (MANAGER, MessageKind.APPROVAL_REQUEST),
            (EMPLOYEE, MessageKind.REQUESTER_STATUS),
            (EMPLOYEE, MessageKind.OUTCOME_NOTICE),
        ]
    )
    with transaction(chain.engine) as session:
        stored = {m.key: m.ts for m in repository.list_messages(session, request_id=request.request_id)}
    assert sorted(stored) == sorted(
        [
            f"{request.request_id}:step{step.seq}:approver:{MANAGER}",
            f"{request.request_id}:requester",
            f"{request.request_id}:outcome",
        ]
    )
    assert all(stored.values())


async def _ask_changes(chain: Chain, request_id: str, step: StepState, reason: str) -> None:
    asked = await chain.client.decide(
        request_id,
        DecisionInput(
            step.approver_slack_id, approve=False, reason=reason, seq=step.seq, action=ACTION_REQUEST_CHANGES
        ),
    )
    assert asked.accepted, asked.message

    async def changes_requested() -> bool:
        return (await chain.state(request_id)).status == "changes_requested"

    await eventually(changes_requested, what="changes requested")


async def test_an_approval_is_carried_over_only_from_the_round_just_before(chain: Chain) -> None:
    """The manager approves at 100 USD; security asks for changes; the requester raises it to
    900 (everyone is asked again); the manager asks for changes ("too much"); the requester
    edits to 800. The manager's round-1 approval at 100 must not count for 800."""
    request = purchase(product_id=None, product_name="Sketchy Notes", estimate_cents=10_000)
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    assert [s.role for s in manager] == ["manager"]
    security = await chain.next_stage(request.request_id, [s.seq for s in manager])
    assert [s.role for s in security] == ["security"]
    await _ask_changes(chain, request.request_id, security[0], "Which data does it hold?")
    edited = await chain.client.edit(request.request_id, EditInput(EMPLOYEE, estimate_cents=90_000))
    assert edited.accepted, edited.message
    seen = [s.seq for s in manager + security]
    round2 = await chain.next_stage(request.request_id, seen)
    assert [s.role for s in round2] == ["manager"]
    await _ask_changes(chain, request.request_id, round2[0], "900 is too much")
    edited = await chain.client.edit(request.request_id, EditInput(EMPLOYEE, estimate_cents=80_000))
    assert edited.accepted, edited.message
    round3 = await chain.next_stage(request.request_id, [*seen, round2[0].seq])
    assert [s.role for s in round3] == ["manager"], "the manager who asked for changes is asked again"
    with transaction(chain.engine) as session:
        rows = repository.list_steps(session, request_id=request.request_id)
    assert not any("earlier round" in (s.assigned_because or "") for s in rows if s.round == 3)


async def test_an_approval_is_not_carried_over_to_another_cost_center(chain: Chain) -> None:
    request = purchase()
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    finance = await chain.next_stage(request.request_id, [s.seq for s in manager])
    await _ask_changes(chain, request.request_id, finance[0], "Charge it to IT")
    edited = await chain.client.edit(request.request_id, EditInput(EMPLOYEE, cost_center="CC-IT"))
    assert edited.accepted, edited.message
    again = await chain.next_stage(request.request_id, [s.seq for s in manager] + [finance[0].seq])
    # A new cost center asks the manager again, beside CC-IT's owner.
    assert [s.role for s in again] == ["manager", "cost_center_owner"]


def _price_in_euros(engine: Engine, product_id: str, cents: int) -> None:
    with transaction(engine) as session:
        product = repository.get_product(session, product_id=product_id)
        assert product is not None
        product.price_cents, product.currency = cents, "EUR"
        session.add(product)


async def test_a_eur_request_reserves_its_converted_cost_on_a_usd_budget(chain: Chain) -> None:
    """Issue 19 #3: the policy saw 10,000 EUR as 10,800 USD, but closing added 1,000,000 EUR
    cents to the USD line's committed (and the DMs showed the line as if it cost nothing)."""
    _price_in_euros(chain.engine, "1password", 10_000_00)
    request = purchase(channel="aws_marketplace")
    committed_before, _ = _budget(chain.engine, "CC-DESIGN")
    await chain.start(request)
    manager_dm = chain.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[-1].summary
    assert manager_dm.currency == "EUR" and manager_dm.budget is not None and manager_dm.budget.currency == "USD"
    assert manager_dm.budget.after_cents == manager_dm.budget.available_cents - 10_800_00
    decided = [s.seq for s in await chain.approve_open(request.request_id)]
    finance = await chain.next_stage(request.request_id, decided)  # 10,800 USD > 5,000 USD
    assert [s.role for s in finance] == ["finance"]
    decided += [s.seq for s in await chain.approve_open(request.request_id)]
    assert [s.role for s in await chain.next_stage(request.request_id, decided)] == ["finops"]
    await chain.approve_open(request.request_id)

    result = await chain.result(request.request_id)
    assert result.status == "approved" and result.asset_id is not None
    committed_after, _ = _budget(chain.engine, "CC-DESIGN")
    assert committed_after - committed_before == 10_800_00
    with transaction(chain.engine) as session:
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None
        assert (reservation.amount_cents, reservation.currency) == (10_000_00, "EUR")
        assert (reservation.budget_cents, reservation.budget_currency, reservation.rate) == (10_800_00, "USD", "1.08")
        [approved] = repository.list_audit(session, request_id=request.request_id, actions=["approved"])
        assert (approved.detail["reserved_cents"], approved.detail["reserved_currency"]) == (10_800_00, "USD")
        # The AWS commitment (in USD) is drawn in dollars too.
        drawn = repository.get_drawdown(session, request_id=request.request_id)
        assert drawn is not None and drawn.amount_cents == 10_800_00
    # The requester's notice shows the line after the reservation, in dollars.
    notice = chain.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)[-1].summary
    assert notice.budget is not None
    assert notice.budget.available_cents - notice.budget.after_cents == 10_800_00


async def test_closing_without_a_rate_refuses_the_purchase_and_says_why(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EUR rate was in policy.yaml when the request was planned and is gone when the last
    approver clicks: nothing is reserved or bought, and the requester (and ITAM) learn why."""
    policy = tmp_path / "policy.yaml"
    shipped = default_policy_path().read_text(encoding="utf-8")
    policy.write_text(shipped, encoding="utf-8")
    monkeypatch.setattr(Messenger, "settings", Settings(policy_file=policy))
    _price_in_euros(chain.engine, "1password", 10_000_00)
    request = purchase()
    committed_before, _ = _budget(chain.engine, "CC-DESIGN")
    await chain.start(request)
    manager = await chain.approve_open(request.request_id)
    await chain.next_stage(request.request_id, [s.seq for s in manager])
    without_eur = shipped.replace('  EUR: "1.08"\n', "")
    assert without_eur != shipped
    policy.write_text(without_eur, encoding="utf-8")
    await chain.approve_open(request.request_id)

    result = await chain.result(request.request_id)
    assert result.status == "rejected" and result.asset_id is None and result.decided_by_slack_id is None
    assert result.reason is not None
    assert "no EUR rate is configured" in result.reason and "ITAM: add the rate to currency_rates" in result.reason
    assert _budget(chain.engine, "CC-DESIGN")[0] == committed_before
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is None
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "rejected" and stored.decision_reason == result.reason
        actions = [e.action for e in repository.list_audit(session, request_id=request.request_id)]
        assert actions[-1] == "budget_reservation_refused" and "approved" not in actions
    [notice] = chain.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)
    assert notice.summary.status == "rejected" and notice.summary.decision_reason == result.reason
    # A late click is told the request is closed, not that the last approver rejected it.
    late = await chain.client.decide(request.request_id, DecisionInput(MANAGER, approve=True, seq=manager[0].seq))
    assert not late.accepted and late.message == "This request is already closed (rejected)."


def _use_up_budget(engine: Engine, cost_center: str) -> None:
    """Another request takes the rest of the cost center's budget (and more)."""
    with transaction(engine) as session:
        repository.reserve_budget(
            session,
            request_id=f"REQ-OTHER{uuid.uuid4().hex[:6].upper()}",
            cost_center=cost_center,
            fiscal_year=fiscal_year_of(datetime.now(UTC).date(), 1),
            amount_cents=15_000_000_00,
            currency="USD",
            at=datetime.now(UTC),
        )


async def test_a_stage_opening_after_the_budget_ran_out_adds_finance(chain: Chain) -> None:
    """Planned for manager + security while CC-DESIGN had room; another request then spends it.
    Security's stage opens with finance beside it, and the request is not approved without it."""
    request = purchase(
        product_id=None, product_name="Sketchy Notes", estimate_cents=150_000, data_classification="confidential"
    )
    await chain.start(request)
    _use_up_budget(chain.engine, "CC-DESIGN")
    manager = await chain.approve_open(request.request_id)
    stage2 = await chain.next_stage(request.request_id, [s.seq for s in manager])
    assert sorted(s.role for s in stage2) == ["finance", "security"]
    with transaction(chain.engine) as session:
        grew = repository.list_audit(session, request_id=request.request_id, actions=["route_grew"])
    assert len(grew) == 1 and [a["role"] for a in grew[0].detail["added"]] == ["finance"]
    assert any("CC-DESIGN" in r for r in grew[0].detail["added"][0]["reasons"])
    await chain.approve_open(request.request_id)
    assert (await chain.result(request.request_id)).status == "approved"


async def test_closing_after_the_budget_ran_out_asks_finance_first(chain: Chain) -> None:
    """Manager only when planned; the budget is used up before he approves: finance is asked
    before anything is reserved, and the request is approved once finance agrees."""
    request = purchase(product_id="figma", product_name="Figma", seats=2)
    await chain.start(request)
    _use_up_budget(chain.engine, "CC-DESIGN")
    manager = await chain.approve_open(request.request_id)
    assert [s.role for s in manager] == ["manager"]
    finance = await chain.next_stage(request.request_id, [s.seq for s in manager])
    assert [s.role for s in finance] == ["finance"]
    with transaction(chain.engine) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "pending_approval"
        assert repository.get_reservation(session, request_id=request.request_id) is None
    await chain.approve_open(request.request_id)
    assert (await chain.result(request.request_id)).status == "approved"
    with transaction(chain.engine) as session:
        assert repository.get_reservation(session, request_id=request.request_id) is not None

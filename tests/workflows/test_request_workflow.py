"""ProcurementRequestWorkflow on Temporal's time-skipping test server, with the real
activities on a real (SQLite) database and a recording notifier."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from catalog import repository
from catalog.db import transaction
from catalog.ports import MessageKind, Undeliverable
from catalog.rules.renewals import add_months
from tests.helpers import eventually
from tests.workflows.fakes import RecordingNotifier, Sent
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient, SubmitResult
from workflows.request.types import CHOICE_BUY, DECISION_NOT_ALLOWED, ChoiceInput, DecisionInput, RequestInput
from workflows.request.workflow import ProcurementRequestWorkflow
from workflows.worker import build_worker

EMPLOYEE, MANAGER, ENGINEER = "U0EMPLOYEE", "U0MANAGER", "U0ENGINEER"


def figma_request(**overrides: object) -> RequestInput:
    fields: dict[str, object] = {
        "request_id": f"REQ-{uuid.uuid4().hex[:8].upper()}",
        "requester_slack_id": EMPLOYEE,
        "requester_email": "employee@example.com",
        "product_id": "figma",
        "product_name": "Figma",
        "seats": 2,
        "justification": "Two new designers start Monday",
    }
    fields.update(overrides)
    return RequestInput(**fields)  # type: ignore[arg-type]


class TrackingClient(ProcurementClient):
    """The façade, remembering what a test started so the fixture can end it afterwards."""

    def __init__(self, client: Client, *, task_queue: str) -> None:
        super().__init__(client, task_queue=task_queue)
        self.started: list[str] = []

    async def submit(self, request: RequestInput) -> SubmitResult:
        self.started.append(request.request_id)
        return await super().submit(request)

    async def terminate_running(self) -> None:
        """A workflow left waiting (or an activity left in flight on this test's queue, whose
        worker is gone) would hold the time-skipping server's clock for every later test."""
        for request_id in self.started:
            handle = self.temporal.get_workflow_handle(f"request-{request_id}")

            async def settled(handle: WorkflowHandle[Any, Any] = handle) -> bool:
                description = await handle.describe()
                return not description.raw_description.pending_activities

            try:
                # Let the activity in flight finish first: the test server keeps its clock
                # locked for an activity whose workflow was terminated under it.
                await eventually(settled, what="no activity in flight")
                await handle.terminate("test finished")
            except RPCError:
                pass  # already completed


class Harness:
    def __init__(self, env: WorkflowEnvironment, engine: Engine, notifier: RecordingNotifier, queue: str) -> None:
        self.env = env
        self.engine = engine
        self.notifier = notifier
        self.queue = queue
        self.client = TrackingClient(env.client, task_queue=queue)

    async def buy_more_when_offered(self, request: RequestInput) -> None:
        """Figma is owned and full in the demo data: reuse first offers to reclaim idle seats
        or buy more. The requester answers "Buy more seats", and the request goes to approval."""

        def offered() -> bool:
            return any(
                s.kind is MessageKind.REUSE_OFFER and s.summary.request_id == request.request_id
                for s in self.notifier.sent
            )

        await eventually(offered, what="the reuse offer")
        chosen = await self.client.choose(request.request_id, ChoiceInput(request.requester_slack_id, CHOICE_BUY))
        assert chosen.accepted, chosen.message

    async def start_pending(self, request: RequestInput) -> None:
        """Submit, and return as soon as the approver's DM is out: a person may click at once."""
        await self.client.submit(request)
        await self.buy_more_when_offered(request)

        def approver_dm_sent() -> bool:
            return any(
                s.kind is MessageKind.APPROVAL_REQUEST and s.summary.request_id == request.request_id
                for s in self.notifier.sent
            )

        await eventually(approver_dm_sent, what="the approver DM")


@contextlib.asynccontextmanager
async def running_harness(env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Harness]:
    notifier = RecordingNotifier()
    queue = f"test-{uuid.uuid4().hex}"
    worker = build_worker(env.client, task_queue=queue, activities=ProcurementActivities(engine, notifier))
    async with worker:
        harness = Harness(env, engine, notifier, queue)
        yield harness
        await harness.client.terminate_running()


def _seeded_figma(engine: Engine) -> tuple[int, int]:
    """The Figma asset of the demo data (40 seats, catalog/data/seats.yaml): (id, seats)."""
    with transaction(engine) as session:
        asset = next(a for a in repository.product_assets(session, product_id="figma") if a.request_id is None)
        assert asset.id is not None
        return asset.id, asset.seats


async def test_approval_adds_the_seats_to_the_contract_we_have_and_tells_everyone(harness: Harness) -> None:
    """Issue 18 §4: "Figma, 2 seats → Buy more seats → approved" recorded a second, 2-seat
    Figma contract. The seats join the 40-seat contract instead (co-termed, prorated)."""
    figma_id, seats_before = _seeded_figma(harness.engine)
    request = figma_request()
    await harness.start_pending(request)
    dm = harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)
    assert len(dm) == 1
    assert dm[0].summary.annual_cost_cents == 2 * 18000
    assert dm[0].summary.approver_slack_id == MANAGER
    # The approver sees which contract the seats join and what they cost until its renewal.
    planned = dm[0].summary.expansion
    assert planned is not None and planned.asset_id == figma_id
    assert (planned.seats_before, planned.seats_after) == (seats_before, seats_before + 2)
    assert 0 < planned.prorated_cents <= 36000 and planned.days_left <= planned.term_days
    assert dm[0].summary.budget is not None
    assert dm[0].summary.budget.after_cents == dm[0].summary.budget.available_cents - planned.prorated_cents

    outcome = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    assert outcome.accepted, outcome.message
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    result = await handle.result()
    assert result.status == "approved"
    assert result.asset_id == figma_id

    with transaction(harness.engine) as session:
        # One Figma contract: no asset for the request, the seeded one has two seats more.
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None
        [asset] = repository.product_assets(session, product_id="figma")
        assert (asset.id, asset.seats, asset.annual_cost_cents) == (figma_id, seats_before + 2, 42 * 18000)
        contract = repository.get_contract(session, asset_id=figma_id)
        assert contract is not None
        assert "employee@example.com" in {s.person_email for s in repository.list_seats(session, asset_id=figma_id)}
        events = repository.list_audit(session, request_id=request.request_id)
        assert [row.action for row in events] == [
            "submitted",
            "reuse_reclaim",
            "reuse_choice",
            "step_opened",
            "step_approved",
            "budget_reserved",
            "approved",
            "seats_added",
        ]
        added = events[-1].detail
        assert (added["before"]["seats"], added["after"]["seats"]) == (seats_before, seats_before + 2)
        assert added["annual_cents"] == 36000 and added["renewal_date"] == planned.renewal_date.isoformat()
        assert date.fromisoformat(added["renewal_date"]) > contract.start_date
        # The budget reserves the prorated amount for the rest of the term, not a full year.
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None and reservation.amount_cents == added["prorated_cents"]
        assert 0 < reservation.amount_cents <= 36000
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "approved" and stored.decided_by == "manager@example.com"
        assert stored.expands_asset_id == figma_id

    # The manager's message was updated in place to show the decision; the requester got one notice.
    approver_ref = dm[0].ref
    updated = [u for u in harness.notifier.updates if u[0] == approver_ref]
    assert updated and updated[-1][2].status == "approved"
    notices = harness.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)
    assert len(notices) == 1 and notices[0].summary.asset_id == figma_id


async def test_a_separate_contract_records_an_asset_of_its_own(harness: Harness) -> None:
    figma_id, seats_before = _seeded_figma(harness.engine)
    request = figma_request(separate_contract=True)
    await harness.start_pending(request)
    dm = harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].summary
    assert dm.expansion is None and dm.own_contract_reason == "the requester asked for a separate contract"
    assert (await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))).accepted
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    result = await handle.result()
    with transaction(harness.engine) as session:
        asset = repository.get_asset_for_request(session, request_id=request.request_id)
        assert asset is not None and asset.id == result.asset_id != figma_id
        assert (asset.product_id, asset.seats, asset.annual_cost_cents) == ("figma", 2, 36000)
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None
        assert contract.term_months == 12 and contract.auto_renew
        assert contract.renewal_date == add_months(contract.start_date, 12)
        assert [s.person_email for s in repository.list_seats(session, asset_id=asset.id)] == ["employee@example.com"]
        reservation = repository.get_reservation(session, request_id=request.request_id)
        assert reservation is not None and reservation.amount_cents == 36000
        actions = [row.action for row in repository.list_audit(session, request_id=request.request_id)]
        assert actions[-1] == "asset_created" and "seats_added" not in actions
    assert _seeded_figma(harness.engine) == (figma_id, seats_before)


async def test_a_click_the_moment_the_dm_arrives_counts(harness: Harness) -> None:
    """The approver can click while the activity that sent the DM is still finishing."""
    request = figma_request()
    outcomes = []

    async def click_at_once(sent: Sent) -> None:
        if sent.kind is MessageKind.REUSE_OFFER:
            outcomes.append(await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY)))
        if sent.kind is MessageKind.APPROVAL_REQUEST:
            outcomes.append(await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True)))

    harness.notifier.on_send = click_at_once
    await harness.client.submit(request)
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{request.request_id}"
    ).result()
    assert [o.accepted for o in outcomes] == [True, True], outcomes
    assert result.status == "approved" and result.asset_id is not None


async def test_a_dm_slack_refuses_for_good_is_audited_and_the_request_goes_on(harness: Harness) -> None:
    """The approver's DM is refused for good (a Slack id gone stale: user_not_found). It is
    not retried for ever: the refusal is in the request's audit trail, the approver can still
    decide (from the App Home), and the requester hears the outcome."""
    harness.notifier.refusals[MANAGER] = Undeliverable(
        target=MANAGER, error="user_not_found", hint="correct their Slack id in the directory"
    )
    request = figma_request()
    await harness.client.submit(request)
    await harness.buy_more_when_offered(request)

    def refused() -> list[dict[str, Any]]:
        with transaction(harness.engine) as session:
            rows = repository.list_audit(session, request_id=request.request_id, actions=("message_undeliverable",))
            return [row.detail for row in rows]

    await eventually(refused, what="the refused DM in the audit trail")
    assert [(d["target"], d["error"]) for d in refused()] == [(MANAGER, "user_not_found")]
    assert not harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)
    outcome = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    assert outcome.accepted, outcome.message
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    assert (await handle.result()).status == "approved"
    assert len(harness.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)) == 1


async def test_only_the_assigned_approver_decides_and_never_the_requester(harness: Harness) -> None:
    request = figma_request()
    await harness.start_pending(request)
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    for actor, expected in ((EMPLOYEE, DECISION_NOT_ALLOWED), (ENGINEER, DECISION_NOT_ALLOWED)):
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await handle.execute_update(ProcurementRequestWorkflow.decide, DecisionInput(actor, approve=True))
        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == expected
    refused = await harness.client.decide(request.request_id, DecisionInput(EMPLOYEE, approve=True))
    assert not refused.accepted and "own request" in refused.message
    assert (await harness.client.state(request.request_id)).status == "pending_approval"  # type: ignore[union-attr]

    first = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    second = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    assert first.accepted
    assert not second.accepted and "already approved by <@U0MANAGER>" in second.message
    await handle.result()
    after = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=False, reason="oops"))
    assert not after.accepted and "already approved" in after.message


async def test_deny_needs_a_reason_and_creates_no_asset(harness: Harness) -> None:
    request = figma_request()
    await harness.start_pending(request)
    no_reason = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=False))
    assert not no_reason.accepted and "reason" in no_reason.message
    denied = await harness.client.decide(
        request.request_id, DecisionInput(MANAGER, approve=False, reason="Use Canva, we own it")
    )
    assert denied.accepted
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{request.request_id}"
    ).result()
    assert result.status == "denied" and result.asset_id is None
    with transaction(harness.engine) as session:
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.decision_reason == "Use Canva, we own it"
    notice = harness.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)
    assert len(notice) == 1 and notice[0].summary.decision_reason == "Use Canva, we own it"


async def test_request_expires_without_decision(clock_harness: Harness) -> None:
    harness = clock_harness
    request = figma_request()
    await harness.start_pending(request)
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    # policy.yaml: ten business days (two weeks and more, with weekends and holidays).
    await harness.env.sleep(timedelta(days=30))
    result = await handle.result()
    assert result.status == "expired"
    with transaction(harness.engine) as session:
        step = repository.get_step(session, request_id=request.request_id, seq=1)
        assert step is not None and step.status == "expired"
    late = await harness.client.decide(request.request_id, DecisionInput(MANAGER, approve=True))
    assert not late.accepted and "expired" in late.message


async def test_blocked_product_is_rejected_before_any_approver_sees_it(harness: Harness) -> None:
    request = figma_request(product_id="lastpass", product_name="LastPass", seats=1)
    await harness.client.submit(request)
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{request.request_id}"
    ).result()
    assert result.status == "rejected" and "blocked" in (result.reason or "")
    assert not harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)
    notice = harness.notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)
    assert len(notice) == 1 and notice[0].summary.alternatives == ("1Password",)
    with transaction(harness.engine) as session:
        assert [r.action for r in repository.list_audit(session, request_id=request.request_id)] == ["rejected"]


async def test_unknown_requester_and_missing_estimate_are_clear_rejections(harness: Harness) -> None:
    stranger = figma_request(requester_email="nobody@example.com", requester_slack_id="U0NOBODY")
    await harness.client.submit(stranger)
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{stranger.request_id}"
    ).result()
    assert result.status == "rejected" and "directory" in (result.reason or "")

    unpriced = figma_request(product_id=None, product_name="Lucidchart", estimate_cents=None)
    await harness.client.submit(unpriced)
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{unpriced.request_id}"
    ).result()
    assert result.status == "rejected" and "estimated annual cost" in (result.reason or "")


async def test_submitting_twice_starts_one_workflow(harness: Harness) -> None:
    request = figma_request()
    first = await harness.client.submit(request)
    second = await harness.client.submit(request)
    assert first.run_id == second.run_id
    await harness.buy_more_when_offered(request)
    await eventually(
        lambda: bool(harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)), what="the approver DM"
    )
    assert len(harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)) == 1


async def test_concurrent_clicks_decide_once(harness: Harness) -> None:
    request = figma_request()
    await harness.start_pending(request)
    clicks = [DecisionInput(MANAGER, approve=True) for _ in range(25)]
    clicks += [DecisionInput(EMPLOYEE, approve=True) for _ in range(25)]
    outcomes = await asyncio.gather(*(harness.client.decide(request.request_id, c) for c in clicks))
    accepted = [o for o in outcomes if o.accepted]
    assert len(accepted) == 1
    assert all("own request" in o.message for o in outcomes[25:])
    result = await harness.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{request.request_id}"
    ).result()
    assert result.status == "approved"
    with transaction(harness.engine) as session:
        actions = [r.action for r in repository.list_audit(session, request_id=request.request_id)]
    assert actions.count("approved") == 1 and actions.count("seats_added") == 1


async def test_activities_are_idempotent_when_retried(sqlite_seeded: Engine) -> None:
    from temporalio.testing import ActivityEnvironment

    from workflows.request.types import OutcomeInput, StepInput

    notifier = RecordingNotifier()
    activities = ProcurementActivities(sqlite_seeded, notifier)
    env = ActivityEnvironment()
    request = figma_request()
    plan = await env.run(activities.single_approver.check_request, request)
    await env.run(activities.single_approver.check_request, request)
    step = StepInput(request.request_id, 1, plan.role, plan.approver_email, plan.approver_slack_id)
    await env.run(activities.single_approver.announce_step, step)
    await env.run(activities.single_approver.announce_step, step)
    outcome = OutcomeInput(request.request_id, 1, "approved", MANAGER, None, "2026-11-23T10:00:00+00:00")
    first = await env.run(activities.single_approver.record_outcome, outcome)
    second = await env.run(activities.single_approver.record_outcome, outcome)
    await env.run(activities.single_approver.announce_outcome, request.request_id)
    await env.run(activities.single_approver.announce_outcome, request.request_id)
    assert first == second and first.renewal_date == "2027-11-23"
    assert len(notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)) == 1
    assert len(notifier.sent_to(EMPLOYEE, MessageKind.OUTCOME_NOTICE)) == 1
    with transaction(sqlite_seeded) as session:
        assert len([a for a in repository.list_assets(session) if a.request_id == request.request_id]) == 1
        actions = [r.action for r in repository.list_audit(session, request_id=request.request_id)]
    assert actions == ["submitted", "step_opened", "approved", "asset_created"]


async def test_a_dm_slack_took_before_the_worker_died_is_found_not_posted_again(sqlite_seeded: Engine) -> None:
    """A local activity run again after a crash starts at attempt 1 again, so `_post_once`
    cannot go by the attempt number: the note it stores before posting tells it to look."""
    from temporalio.testing import ActivityEnvironment

    from workflows.request.types import StepInput

    notifier = RecordingNotifier()
    activities = ProcurementActivities(sqlite_seeded, notifier)
    env = ActivityEnvironment()  # attempt 1 on every run
    request = figma_request()
    plan = await env.run(activities.single_approver.check_request, request)
    step = StepInput(request.request_id, 1, plan.role, plan.approver_email, plan.approver_slack_id)

    async def worker_dies(_sent: Sent) -> None:
        raise ConnectionResetError("the worker died after Slack took the post")

    notifier.on_send = worker_dies
    with pytest.raises(ConnectionResetError):
        await env.run(activities.single_approver.announce_step, step)
    notifier.on_send = None
    await env.run(activities.single_approver.announce_step, step)
    [dm] = notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)
    with transaction(sqlite_seeded) as session:
        stored = [(m.channel, m.ts) for m in repository.list_messages(session, request_id=request.request_id)]
    assert [ref for ref in stored if ref[0] == dm.ref.channel] == [(dm.ref.channel, dm.ref.ts)]

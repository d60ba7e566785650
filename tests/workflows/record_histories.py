"""Record the event histories the replay test (test_replay.py) runs against the current code.

    .venv/bin/python -m tests.workflows.record_histories            # every scenario
    .venv/bin/python -m tests.workflows.record_histories Renewal    # only <Type>-<scenario> names containing "Renewal"

Runs one representative scenario per outcome of every workflow type on Temporal's
time-skipping test server, with the real activities on a seeded SQLite database and a
recording notifier, and writes each history as `histories/<WorkflowType>-<scenario>.json`
(`WorkflowHistory.to_json()`), replacing the previous recording of the same scenario.
Arguments, if any, restrict the run to the scenarios whose `<WorkflowType>-<scenario>` name
contains one of them: record only what you changed, and leave the other histories as they are.

Histories recorded by earlier versions of the code stay, under their own names
(`<WorkflowType>-v1_<scenario>.json`: before reuse-first; `v2_`: before the approval chain;
`v3_`: before local activities; `v4_`: while steps opened locally; `v5_`: before one activity
closed the request; `v6_`: before one patch stood for all the earlier ones; `v7_`: before one
activity opened a whole stage; `v8_`: before the route was checked again as stages open and
as the request closes):
they prove that workflows started by that version still replay. When a change is *meant* to
alter what a workflow does, guard it with `workflow.patched(...)`, rename the current files to
the next `vN_` prefix, and record again (see README, "Changing workflow code")."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from catalog import repository
from catalog.db import make_engine, transaction, upgrade
from catalog.models import Contract
from catalog.ports import MessageKind, RenewalCard
from catalog.repository import reminders as reminders_repo
from catalog.rules.budget import fiscal_year_of
from catalog.rules.renewals import HolidayCalendar, add_months, plan_renewal
from catalog.seed import seed_if_empty
from tests.workflows.contracts import add_contract
from tests.workflows.fakes import RecordingNotifier
from workflows.discovery import (
    DigestRefreshInput,
    DiscoveryActivities,
    DiscoveryDigestRefreshWorkflow,
    DiscoveryInput,
    DiscoveryWorkflow,
)
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.client import RenewalClient
from workflows.renewals.types import DigestInput, RenewalDecisionInput, ScanInput
from workflows.renewals.workflows import SEND_BATCH, RenewalDigestWorkflow, RenewalScanWorkflow
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient
from workflows.request.types import (
    ACTION_REQUEST_CHANGES,
    CHOICE_BUY,
    ChoiceInput,
    DecisionInput,
    DelegateInput,
    EditInput,
    RequestInput,
    StepState,
    WithdrawInput,
)
from workflows.seat_release.client import SeatReleaseClient
from workflows.seat_release.types import SeatReleaseAnswer, SeatReleaseInput
from workflows.worker import build_worker

HISTORIES = Path(__file__).resolve().parent / "histories"
EMPLOYEE, MANAGER, ENGINEER, ITAM = "U0EMPLOYEE", "U0MANAGER", "U0ENGINEER", "U0ITAM"
ITAM_CHANNEL = "#itam"
US = HolidayCalendar(country="US")


def _request(**overrides: object) -> RequestInput:
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


@dataclass
class Context:
    env: WorkflowEnvironment
    procurement: ProcurementClient
    notifier: RecordingNotifier
    engine: Engine
    renewals: RenewalClient
    queue: str

    async def dm_sent(self, request_id: str) -> None:
        for _ in range(1000):
            if any(
                s.kind is MessageKind.APPROVAL_REQUEST and s.summary.request_id == request_id
                for s in self.notifier.sent
            ):
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"no approver DM for {request_id}")


async def _open_steps(ctx: Context, request_id: str, after: set[int] | None = None) -> list[StepState]:
    """The open steps of a request (not in `after`) once each approver has their DM; a reuse
    offer on the way is answered "buy"."""
    for _ in range(1000):
        state = await ctx.procurement.state(request_id)
        if state is not None and state.choice_open:
            await ctx.procurement.choose(request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY))
        steps = [
            s for s in (state.steps if state else None) or [] if s.status == "pending" and s.seq not in (after or set())
        ]
        dms = {
            s.summary.viewer_seq
            for s in ctx.notifier.sent
            if s.kind is MessageKind.APPROVAL_REQUEST and s.summary.request_id == request_id
        }
        if steps and all(s.seq in dms for s in steps):
            return steps
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no open approval step for {request_id}")


async def _approve_all(ctx: Context, request_id: str) -> None:
    seen: set[int] = set()
    while True:
        state = await ctx.procurement.state(request_id)
        if state is None or state.status != "pending_approval":
            return
        try:
            steps = await _open_steps(ctx, request_id, seen)
        except TimeoutError:
            return
        for step in steps:
            await ctx.procurement.decide(request_id, DecisionInput(step.approver_slack_id, True, seq=step.seq))
            seen.add(step.seq)


async def _approved(ctx: Context) -> str:
    """Manager, then finance, then FinOps (a marketplace purchase over the finance threshold)."""
    request = _request(product_id="1password", product_name="1Password", seats=1, channel="aws_marketplace")
    await ctx.procurement.submit(request)
    first = await _open_steps(ctx, request.request_id)
    # Refused clicks are rejected by the validator and leave no trace; the second approval
    # is a no-op answered by the update handler.
    await ctx.procurement.decide(request.request_id, DecisionInput(EMPLOYEE, approve=True))
    await ctx.procurement.decide(request.request_id, DecisionInput(MANAGER, approve=True, seq=first[0].seq))
    await ctx.procurement.decide(request.request_id, DecisionInput(MANAGER, approve=True, seq=first[0].seq))
    await _approve_all(ctx, request.request_id)
    return f"request-{request.request_id}"


async def _denied(ctx: Context) -> str:
    """Finance and security in parallel; security denies, finance's open step is superseded.
    Two seats: Emma holds the one `_approved` bought, so one seat would end as already held."""
    request = _request(product_id="1password", product_name="1Password", seats=2, data_classification="confidential")
    await ctx.procurement.submit(request)
    first = await _open_steps(ctx, request.request_id)
    await ctx.procurement.decide(request.request_id, DecisionInput(MANAGER, True, seq=first[0].seq))
    stage2 = await _open_steps(ctx, request.request_id, {first[0].seq})
    security = next(s for s in stage2 if s.role == "security")
    await ctx.procurement.decide(
        request.request_id, DecisionInput(security.approver_slack_id, False, "No SSO", seq=security.seq)
    )
    return f"request-{request.request_id}"


async def _expired(ctx: Context) -> str:
    """Nobody decides: a reminder after one SLA, the escalation after two, then the expiry."""
    request = _request(product_id="notion", product_name="Notion", seats=2)
    await ctx.procurement.submit(request)
    await _open_steps(ctx, request.request_id)
    await ctx.env.sleep(timedelta(days=30))
    return f"request-{request.request_id}"


async def _rejected(ctx: Context) -> str:
    request = _request(product_id="lastpass", product_name="LastPass", seats=1)
    await ctx.procurement.submit(request)
    return f"request-{request.request_id}"


async def _changes(ctx: Context) -> str:
    """The manager asks for changes; the requester edits; the route is planned again."""
    request = _request(product_id="docusign", product_name="DocuSign", seats=3)
    await ctx.procurement.submit(request)
    first = await _open_steps(ctx, request.request_id)
    await ctx.procurement.decide(
        request.request_id,
        DecisionInput(MANAGER, False, "Two seats are enough", seq=first[0].seq, action=ACTION_REQUEST_CHANGES),
    )
    for _ in range(1000):
        edited = await ctx.procurement.edit(request.request_id, EditInput(EMPLOYEE, seats=2))
        if edited.accepted:
            break
        await asyncio.sleep(0.01)
    await _approve_all(ctx, request.request_id)
    return f"request-{request.request_id}"


async def _route_grew(ctx: Context) -> str:
    """Planned for the manager and security (confidential data) while CC-DESIGN had room;
    another request then spends the budget: security's stage opens with finance beside it
    (`recheck_route`), and the request closes once all three approved."""
    request = _request(
        product_id=None,
        product_name="Sketchy Notes",
        seats=1,
        estimate_cents=150_000,
        data_classification="confidential",
    )
    await ctx.procurement.submit(request)
    first = await _open_steps(ctx, request.request_id)
    now = await ctx.env.get_current_time()  # the server's clock: earlier scenarios skipped time
    with transaction(ctx.engine) as session:
        repository.reserve_budget(
            session,
            request_id=f"REQ-SPENT{uuid.uuid4().hex[:4].upper()}",
            cost_center="CC-DESIGN",
            fiscal_year=fiscal_year_of(now.date(), 1),
            amount_cents=15_000_000_00,
            currency="USD",
            at=datetime.now(UTC),
        )
    await ctx.procurement.decide(request.request_id, DecisionInput(MANAGER, True, seq=first[0].seq))
    await _approve_all(ctx, request.request_id)
    return f"request-{request.request_id}"


async def _withdrawn(ctx: Context) -> str:
    """The manager delegates to the VP; the requester withdraws before anyone decides."""
    request = _request(product_id=None, product_name="Linear", seats=5, estimate_cents=48_000)
    await ctx.procurement.submit(request)
    first = await _open_steps(ctx, request.request_id)
    await ctx.procurement.delegate(request.request_id, DelegateInput(MANAGER, "U0VP", first[0].seq, "on leave"))
    await ctx.procurement.withdraw(request.request_id, WithdrawInput(EMPLOYEE))
    return f"request-{request.request_id}"


async def _renewal_approved(ctx: Context) -> str:
    """A renewal request (the owner's Renew at 40 seats where 5 are held): no reuse offer, the
    chain for the increase, and on approval the renewal recorded and the increase reserved."""
    start = add_months(datetime.now(UTC).date(), -12) + timedelta(days=60)
    contract_id = add_contract(ctx.engine, start=start)
    request = _request(
        product_id=None,
        seats=40,
        justification=f"Renewal of contract #{contract_id}",
        cost_center="CC-DESIGN",
        renewal_contract_id=contract_id,
        renewal_date=add_months(start, 12).isoformat(),
        renewal_unit_price_cents=15_000,
    )
    await ctx.procurement.submit(request)
    await _approve_all(ctx, request.request_id)
    return f"request-{request.request_id}"


# --- renewals -----------------------------------------------------------------------------
# Each scenario states its own day (`as_of`, `decided_at`), so what it records does not
# depend on when it is recorded; the server does not skip time on its own meanwhile.


def _first_reminder(engine: Engine, contract_id: int) -> date:
    with transaction(engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        terms = reminders_repo.contract_terms(
            start_date=contract.start_date,
            term_months=contract.term_months,
            auto_renew=contract.auto_renew,
            notice_days=contract.notice_days,
            notice_basis=contract.notice_basis,
            renewal_date=contract.renewal_date,
        )
        return plan_renewal(terms, as_of=contract.start_date, calendar=US).reminders[0]


async def _scan(ctx: Context, scan: ScanInput) -> str:
    workflow_id = f"renewal-scan-{scan.as_of or 'today'}-{uuid.uuid4().hex[:6]}"
    await ctx.env.client.execute_workflow(RenewalScanWorkflow.run, scan, id=workflow_id, task_queue=ctx.queue)
    return workflow_id


async def _scan_due(ctx: Context) -> str:
    """The first reminder of a seeded contract (the earliest-created): claim it, send it in one batch."""
    with transaction(ctx.engine) as session:
        contract_id = session.exec(select(Contract.id).order_by(col(Contract.id))).first()
    assert contract_id is not None, "the seed has no contracts"
    day = _first_reminder(ctx.engine, contract_id)
    workflow_id = await _scan(ctx, ScanInput(as_of=day.isoformat()))
    assert any(card.contract_id == contract_id for _, card, _ in ctx.notifier.renewal_posts)
    return workflow_id


async def _scan_batches(ctx: Context) -> str:
    """More reminders due on one day than one send batch takes (`SEND_BATCH`)."""
    start = date(2026, 1, 5)
    for _ in range(SEND_BATCH + 2):
        add_contract(ctx.engine, start=start)
    workflow_id = await _scan(ctx, ScanInput(as_of="2026-09-04"))
    result = await ctx.env.client.get_workflow_handle_for(RenewalScanWorkflow.run, workflow_id).result()
    assert result.claimed > SEND_BATCH, result
    return workflow_id


async def _scan_nothing_due(ctx: Context) -> str:
    """A day already scanned: nothing left to claim, no batch to send."""
    await _scan(ctx, ScanInput(as_of="2026-09-07"))
    return await _scan(ctx, ScanInput(as_of="2026-09-07"))


async def _scan_by_the_clock(ctx: Context) -> str:
    """As the schedule starts it: no date, "today" by the workflow clock."""
    return await _scan(ctx, ScanInput(timezone="Europe/Paris"))


async def _digest(ctx: Context, digest: DigestInput) -> str:
    workflow_id = f"renewal-digest-{digest.as_of or 'today'}-{uuid.uuid4().hex[:6]}"
    await ctx.env.client.execute_workflow(RenewalDigestWorkflow.run, digest, id=workflow_id, task_queue=ctx.queue)
    return workflow_id


async def _digest_posted(ctx: Context) -> str:
    return await _digest(ctx, DigestInput(as_of="2026-10-05"))


async def _digest_already_posted(ctx: Context) -> str:
    await _digest(ctx, DigestInput(as_of="2026-10-12"))
    return await _digest(ctx, DigestInput(as_of="2026-10-12"))


async def _digest_by_the_clock(ctx: Context) -> str:
    return await _digest(ctx, DigestInput())


async def _discovery(ctx: Context, given: DiscoveryInput) -> str:
    workflow_id = f"discovery-{given.as_of or 'today'}-{uuid.uuid4().hex[:6]}"
    await ctx.env.client.execute_workflow(DiscoveryWorkflow.run, given, id=workflow_id, task_queue=ctx.queue)
    return workflow_id


async def _discovery_on_a_day(ctx: Context) -> str:
    return await _discovery(ctx, DiscoveryInput(as_of="2026-12-04"))


async def _discovery_by_the_clock(ctx: Context) -> str:
    return await _discovery(ctx, DiscoveryInput(timezone="Europe/Paris"))


async def _digest_redrawn(ctx: Context) -> str:
    workflow_id = f"discovery-digest-refresh-{uuid.uuid4().hex[:6]}"
    given = DigestRefreshInput("C0ITAM", "2000000000.000001", "2026-12-04")
    await ctx.env.client.execute_workflow(
        DiscoveryDigestRefreshWorkflow.run, given, id=workflow_id, task_queue=ctx.queue
    )
    return workflow_id


async def _reminded_contract(ctx: Context) -> tuple[int, RenewalCard]:
    """A new contract whose first reminder has been sent (channel and DM)."""
    contract_id = add_contract(ctx.engine, start=date(2026, 2, 2))
    await _scan(ctx, ScanInput(as_of=_first_reminder(ctx.engine, contract_id).isoformat()))
    cards = [card for _, card, _ in ctx.notifier.renewal_posts if card.contract_id == contract_id]
    assert cards, f"no reminder for contract {contract_id}"
    return contract_id, cards[-1]


def _decision(contract_id: int, card: RenewalCard, action: str, actor: str, **extra: object) -> RenewalDecisionInput:
    day = card.deadline - timedelta(days=card.days_left)
    return RenewalDecisionInput(
        contract_id=contract_id,
        renewal_date=card.renewal_date.isoformat(),
        deadline=card.deadline.isoformat(),
        action=action,
        actor_slack_id=actor,
        click_id=uuid.uuid4().hex,
        decided_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat(),
        **extra,  # type: ignore[arg-type]
    )


async def _decide(ctx: Context, decision: RenewalDecisionInput) -> str:
    """Run the decision workflow as the bot does (`RenewalClient.decide`), on its workflow id."""
    await ctx.renewals.decide(decision)
    return f"renewal-decision-{decision.contract_id}-{decision.click_id}"


async def _decision_renew(ctx: Context) -> str:
    contract_id, card = await _reminded_contract(ctx)
    # No `decided_at`: the workflow fills it in from its clock.
    decision = _decision(contract_id, card, "renew", EMPLOYEE, seats=6, unit_price_cents=17_500)
    decision.decided_at = None
    return await _decide(ctx, decision)


async def _decision_cancel(ctx: Context) -> str:
    contract_id, card = await _reminded_contract(ctx)
    return await _decide(ctx, _decision(contract_id, card, "cancel", EMPLOYEE))


async def _decision_renegotiate(ctx: Context) -> str:
    contract_id, card = await _reminded_contract(ctx)
    return await _decide(ctx, _decision(contract_id, card, "renegotiate", ITAM))


async def _decision_snooze(ctx: Context) -> str:
    contract_id, card = await _reminded_contract(ctx)
    return await _decide(ctx, _decision(contract_id, card, "snooze", EMPLOYEE, snooze_days=14))


async def _decision_already_decided(ctx: Context) -> str:
    """Not accepted (the term is already cancelled): nothing to update."""
    contract_id, card = await _reminded_contract(ctx)
    answer = await ctx.renewals.decide(_decision(contract_id, card, "cancel", EMPLOYEE))
    assert answer.accepted, answer
    return await _decide(ctx, _decision(contract_id, card, "renew", ITAM))


async def _decision_refused(ctx: Context) -> str:
    """Someone who is neither the owner nor ITAM: the activity refuses, the workflow fails."""
    contract_id, card = await _reminded_contract(ctx)
    return await _decide(ctx, _decision(contract_id, card, "cancel", ENGINEER))


async def _seat_release(ctx: Context, holder: str, slack_id: str, answer: bool | None) -> str:
    """The console's Ask to release on the holder's Figma seat; they answer, or nobody does."""
    with transaction(ctx.engine) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email=holder)
        assert seat is not None and seat.id is not None
        seat_id = seat.id
    releases = SeatReleaseClient(ctx.env.client, task_queue=ctx.queue)
    asked = await releases.ask(SeatReleaseInput(seat_id, "itam@example.com", 3))
    for _ in range(1000):
        if ctx.notifier.sent_to(slack_id, MessageKind.RECLAIM_ASK):
            break
        await asyncio.sleep(0.01)
    if answer is None:
        await ctx.env.sleep(timedelta(days=10))  # past the 3 business days
    else:
        assert (await releases.answer(f"SEAT-{seat_id}", SeatReleaseAnswer(slack_id, answer))).accepted
    return asked.workflow_id


async def _seat_released(ctx: Context) -> str:
    return await _seat_release(ctx, "finance@example.com", "U0FINANCE", True)


async def _seat_kept(ctx: Context) -> str:
    return await _seat_release(ctx, "engineer@example.com", ENGINEER, False)


async def _seat_unanswered(ctx: Context) -> str:
    return await _seat_release(ctx, "manager@example.com", MANAGER, None)


async def _seat_gone(ctx: Context) -> str:
    """A seat no one holds: the first activity refuses, the workflow fails."""
    releases = SeatReleaseClient(ctx.env.client, task_queue=ctx.queue)
    return (await releases.ask(SeatReleaseInput(999_999, "itam@example.com", 3))).workflow_id


#: Scenarios per workflow type name. A new workflow type needs an entry here. Each runs the
#: workflow to its end and returns its workflow id.
SCENARIOS: dict[str, dict[str, Callable[[Context], Awaitable[str]]]] = {
    "ProcurementRequestWorkflow": {
        "approved": _approved,
        "denied": _denied,
        "expired": _expired,
        "rejected": _rejected,
        "changes": _changes,
        "withdrawn": _withdrawn,
        "renewal_approved": _renewal_approved,
        "route_grew": _route_grew,
    },
    "RenewalScanWorkflow": {
        "due": _scan_due,
        "batches": _scan_batches,
        "nothing_due": _scan_nothing_due,
        "by_the_clock": _scan_by_the_clock,
    },
    "RenewalDigestWorkflow": {
        "posted": _digest_posted,
        "already_posted": _digest_already_posted,
        "by_the_clock": _digest_by_the_clock,
    },
    "RenewalDecisionWorkflow": {
        "renew": _decision_renew,
        "cancel": _decision_cancel,
        "renegotiate": _decision_renegotiate,
        "snooze": _decision_snooze,
        "already_decided": _decision_already_decided,
        "refused": _decision_refused,
    },
    "SeatReleaseWorkflow": {
        "released": _seat_released,
        "kept": _seat_kept,
        "unanswered": _seat_unanswered,
        "gone": _seat_gone,
    },
    "DiscoveryWorkflow": {
        "on_a_day": _discovery_on_a_day,
        "by_the_clock": _discovery_by_the_clock,
    },
    "DiscoveryDigestRefreshWorkflow": {"redrawn": _digest_redrawn},
}

#: Workflow types whose scenarios need the server to skip time by itself (a request expiring).
#: The others run with automatic time skipping off: it would only time activities out.
TIME_SKIPPING = {"ProcurementRequestWorkflow", "SeatReleaseWorkflow"}


def selected(only: list[str] | None = None) -> list[tuple[str, str]]:
    """(workflow type, scenario) pairs whose `<type>-<scenario>` name contains one of `only`."""
    return [
        (workflow_type, scenario)
        for workflow_type, scenarios in SCENARIOS.items()
        for scenario in scenarios
        if not only or any(part in f"{workflow_type}-{scenario}" for part in only)
    ]


async def record(out_dir: Path = HISTORIES, only: list[str] | None = None) -> list[Path]:
    chosen = selected(only)
    if not chosen:
        raise SystemExit(f"no scenario matches {only}; scenarios: {[f'{t}-{s}' for t, s in selected()]}")
    binary = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(binary))
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'procure.db'}")
            upgrade(engine)
            with transaction(engine) as session:
                seed_if_empty(session)
            notifier = RecordingNotifier()
            queue = f"record-{uuid.uuid4().hex}"
            client: Client = env.client
            ctx = Context(
                env,
                ProcurementClient(client, task_queue=queue),
                notifier,
                engine,
                RenewalClient(client, task_queue=queue),
                queue,
            )
            worker = build_worker(
                client,
                task_queue=queue,
                activities=ProcurementActivities(engine, notifier),
                renewal_activities=RenewalActivities(engine, notifier, itam_channel=ITAM_CHANNEL, calendar=US),
                discovery_activities=DiscoveryActivities(engine, notifier, itam_channel=ITAM_CHANNEL, inactive_days=30),
            )
            async with worker:
                for workflow_type, scenario in chosen:
                    skipping = (
                        contextlib.nullcontext()
                        if workflow_type in TIME_SKIPPING
                        else env.auto_time_skipping_disabled()
                    )
                    with skipping:
                        workflow_id = await SCENARIOS[workflow_type][scenario](ctx)
                        handle = client.get_workflow_handle(workflow_id)
                        with contextlib.suppress(WorkflowFailureError):  # a scenario may end in failure
                            await handle.result()
                    history = await handle.fetch_history()
                    path = out_dir / f"{workflow_type}-{scenario}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(history.to_json() + "\n", encoding="utf-8")
                    written.append(path)
            engine.dispose()
    finally:
        await env.shutdown()
    return written


def main(argv: list[str] | None = None) -> None:
    only = sys.argv[1:] if argv is None else argv
    for path in asyncio.run(record(only=only)):
        print(f"recorded {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()

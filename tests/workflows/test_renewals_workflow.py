"""Renewal reminders on Temporal's time-skipping test server, with the real activities on a
real (SQLite) database and a recording notifier: a day-by-day year of a contract, decisions,
in-place updates, and idempotency across retries and worker restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from catalog.db import transaction
from catalog.models import AuditEvent, Contract, RenewalStatus
from catalog.ports import RenewalCard, Undeliverable
from catalog.repository import reminders as reminders_repo
from catalog.rules.renewals import ContractTerms, HolidayCalendar, add_months, plan_renewal
from tests.helpers import eventually
from tests.workflows.contracts import add_contract
from tests.workflows.fakes import RecordingNotifier
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.client import RenewalClient
from workflows.renewals.types import RenewalDecisionInput, ScanInput, ScanResult
from workflows.renewals.workflows import RenewalScanWorkflow
from workflows.request.activities.procurement import ProcurementActivities
from workflows.worker import build_worker

OWNER, ITAM, STRANGER = "U0EMPLOYEE", "U0ITAM", "U0ENGINEER"
ITAM_CHANNEL = "#itam"
US = HolidayCalendar(country="US")
#: Long enough for any scan here; a scan that retries a refused post for ever ends the test.
SCAN_LIMIT_S = 60


def refusal(error: str, target: str = ITAM_CHANNEL) -> Undeliverable:
    """What the Slack notifier raises when Slack answers `error` for good."""
    from bot.notifier import fix_hint

    return Undeliverable(target=target, error=error, hint=fix_hint(error, target))


def audit_rows(engine: Engine, action: str, contract_id: int) -> list[AuditEvent]:
    with transaction(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity_id == str(contract_id))
        return list(session.exec(query).all())


@dataclass
class Renewals:
    env: WorkflowEnvironment
    engine: Engine
    notifier: RecordingNotifier
    queue: str
    client: RenewalClient

    def worker(self) -> Worker:
        return build_worker(
            self.env.client,
            task_queue=self.queue,
            activities=ProcurementActivities(self.engine, self.notifier),
            renewal_activities=RenewalActivities(self.engine, self.notifier, itam_channel=ITAM_CHANNEL, calendar=US),
        )

    async def scan(self, day: date) -> ScanResult:
        return await self.env.client.execute_workflow(
            RenewalScanWorkflow.run,
            ScanInput(as_of=day.isoformat()),
            id=f"scan-{day}-{uuid.uuid4().hex[:6]}",
            task_queue=self.queue,
        )

    def posts(self, contract_id: int) -> list[tuple[str, RenewalCard]]:
        return [(ch, card) for ch, card, _ in self.notifier.renewal_posts if card.contract_id == contract_id]

    def channel_days(self, contract_id: int) -> list[date]:
        """The as-of days of the channel reminders (days left counts down to the deadline)."""
        return [
            card.deadline - timedelta(days=card.days_left) for ch, card in self.posts(contract_id) if ch == ITAM_CHANNEL
        ]

    async def decide(self, contract_id: int, day: date, action: str, actor: str, **extra: object) -> tuple[bool, str]:
        card = self.posts(contract_id)[-1][1]
        answer = await self.client.decide(
            RenewalDecisionInput(
                contract_id=contract_id,
                renewal_date=card.renewal_date.isoformat(),
                deadline=card.deadline.isoformat(),
                action=action,
                actor_slack_id=actor,
                click_id=uuid.uuid4().hex,
                decided_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat(),
                **extra,  # type: ignore[arg-type]
            )
        )
        return answer.accepted, answer.message


@pytest.fixture
async def renewals(time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Renewals]:
    queue = f"renewals-{uuid.uuid4().hex}"
    harness = Renewals(
        time_skipping_env,
        sqlite_seeded,
        RecordingNotifier(),
        queue,
        RenewalClient(time_skipping_env.client, task_queue=queue),
    )
    # Each scan takes its day as input, so the server must not skip time on its own while an
    # activity runs (that would only time activities out and push the shared clock years
    # ahead); the one test about the clock moves it explicitly with `env.sleep`.
    with time_skipping_env.auto_time_skipping_disabled():
        async with harness.worker():
            yield harness


def expected_reminders(start: date, *, notice_days: int = 30, renewal_date: date | None = None) -> tuple[date, ...]:
    terms = ContractTerms(
        start_date=start, term_months=12, auto_renew=True, notice_days=notice_days, renewal_date=renewal_date
    )
    return plan_renewal(terms, as_of=start, calendar=US).reminders


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def test_a_year_of_a_contract_auto_renew_snooze_date_edit_and_cancel(renewals: Renewals) -> None:
    start = date(2026, 1, 5)
    contract_id = add_contract(renewals.engine, start=start)

    # Term 1 (renews 2027-01-05): cancel-by 2026-12-04, nobody decides, so it auto-renews.
    # Reminders 90/60/30/7 days before it, each moved earlier to a US business day
    # (2026-09-05 is a Saturday; 2026-11-27 follows Thanksgiving and is a business day).
    term1 = (date(2026, 9, 4), date(2026, 10, 5), date(2026, 11, 4), date(2026, 11, 27))
    assert expected_reminders(start) == term1
    for day in days(date(2026, 8, 25), date(2027, 1, 10)):
        await renewals.scan(day)
    assert renewals.channel_days(contract_id) == list(term1)
    dms = [card for ch, card in renewals.posts(contract_id) if ch == OWNER]
    assert len(dms) == 4, "the owner gets each reminder by DM too"
    first = dms[0]
    assert (first.product_name, first.seats_bought, first.deadline, first.days_left) == (
        "Figma",
        5,
        date(2026, 12, 4),
        91,
    )

    # Term 2 (renews 2028-01-05, cancel-by 2027-12-06): the 90-day reminder comes (2027-09-07,
    # the day after Labor Day) and the owner snoozes it 45 days, past the 60-day one.
    term2 = plan_renewal(
        ContractTerms(start_date=start, term_months=12, auto_renew=True, notice_days=30),
        as_of=date(2027, 1, 6),
        calendar=US,
    )
    assert (term2.renewal_date, term2.deadline) == (date(2028, 1, 5), date(2027, 12, 6))
    term2_first = term2.reminders[0]
    assert term2_first == date(2027, 9, 7)
    for day in days(date(2027, 1, 11), term2_first):  # every day: nothing until term 2 is near
        await renewals.scan(day)
    assert renewals.channel_days(contract_id) == [*term1, term2_first]
    accepted, message = await renewals.decide(contract_id, term2_first, "snooze", OWNER, snooze_days=45)
    assert accepted, message
    snoozed_until = term2_first + timedelta(days=45)  # 2027-10-22
    assert term2.reminders[1] < snoozed_until
    for day in days(term2_first + timedelta(days=1), date(2027, 10, 24)):
        await renewals.scan(day)
    assert renewals.channel_days(contract_id)[-2:] == [term2_first, snoozed_until]

    # ITAM co-terms the contract on 2027-10-25: it now renews on 2028-02-01 (a date edit).
    with transaction(renewals.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        contract.renewal_date = date(2028, 2, 1)
        session.add(contract)
        session.flush()
        plan = reminders_repo.rearm_contract_reminders(
            session, contract_id=contract_id, at=datetime(2027, 10, 25, 9, tzinfo=UTC), calendar=US
        )
    assert plan is not None
    # Deadline 2028-01-01 is a Saturday; Friday 2027-12-31 is New Year's Day observed.
    assert plan.deadline == date(2027, 12, 30)
    assert plan.reminders == (date(2027, 10, 29), date(2027, 11, 30), date(2027, 12, 23))

    for day in days(date(2027, 10, 25), date(2027, 11, 30)):
        await renewals.scan(day)
    assert renewals.channel_days(contract_id)[-2:] == [date(2027, 10, 29), date(2027, 11, 30)]
    # ITAM takes over the negotiation: reminders continue.
    accepted, message = await renewals.decide(contract_id, date(2027, 11, 30), "renegotiate", ITAM)
    assert accepted and message == "Renegotiation owned by <@U0ITAM>; reminders continue."
    for day in days(date(2027, 12, 1), date(2027, 12, 23)):
        await renewals.scan(day)
    assert renewals.channel_days(contract_id)[-1] == date(2027, 12, 23)

    # Someone who is neither the owner nor ITAM is refused; the owner cancels.
    accepted, message = await renewals.decide(contract_id, date(2027, 12, 23), "cancel", STRANGER)
    assert not accepted and "owner or the ITAM team" in message
    renewals.notifier.renewal_updates.clear()
    accepted, message = await renewals.decide(contract_id, date(2027, 12, 23), "cancel", OWNER)
    assert accepted, message
    # Every message of the term (3 reminders × channel + DM) now shows the cancellation.
    updated = renewals.notifier.renewal_updates
    assert len(updated) == 6
    assert all(
        card.status == RenewalStatus.CANCELLED and card.decided_by == "employee@example.com" for _, card in updated
    )
    # A second click after the decision changes nothing and says so.
    accepted, message = await renewals.decide(contract_id, date(2027, 12, 24), "renew", ITAM)
    assert not accepted and "already cancelled" in message

    sent_before = len(renewals.posts(contract_id))
    for day in days(date(2027, 12, 24), date(2028, 2, 10)):
        await renewals.scan(day)
    assert len(renewals.posts(contract_id)) == sent_before, "a cancelled contract gets no more reminders"

    with transaction(renewals.engine) as session:
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.entity == "contract", AuditEvent.entity_id == str(contract_id))
            ).all()
        ]
    assert actions.count("renewal_reminder_sent") == 4 + 2 + 3
    for action in ("renewal_snooze", "renewal_reminders_rearmed", "renewal_renegotiate", "renewal_cancel"):
        assert actions.count(action) == 1, action


async def test_decisions_recompute_the_term_instead_of_trusting_the_button(renewals: Renewals) -> None:
    """Issue 19 #6 through the decision workflow: the renewal date and deadline a button or
    modal carries are never trusted; the activity recomputes the term from the contract."""

    async def decide(contract_id: int, renewal: str, deadline: str, action: str, day: date, **extra: object) -> str:
        answer = await renewals.client.decide(
            RenewalDecisionInput(
                contract_id=contract_id,
                renewal_date=renewal,
                deadline=deadline,
                action=action,
                actor_slack_id=OWNER,
                click_id=uuid.uuid4().hex,
                decided_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat(),
                **extra,  # type: ignore[arg-type]
            )
        )
        return ("accepted: " if answer.accepted else "refused: ") + answer.message

    # A forged Renew for an old term of a contract that does not auto-renew (it ends 2027-01-05).
    fixed = add_contract(renewals.engine, start=date(2026, 1, 5), auto_renew=False)
    answer = await decide(fixed, "2025-01-05", "2025-01-03", "renew", date(2026, 9, 4))
    assert answer.startswith("refused: This reminder is out of date") and "2027-01-05" in answer
    with transaction(renewals.engine) as session:
        contract = session.get(Contract, fixed)
        assert contract is not None
        assert (contract.start_date, contract.renewal_date) == (date(2026, 1, 5), date(2027, 1, 5))

    # A stale reminder after the notice grew to 60 days: it still says deadline 2026-12-04,
    # the contract says 2026-11-06, and a snooze past that is refused.
    rolling = add_contract(renewals.engine, start=date(2026, 1, 5))
    with transaction(renewals.engine) as session:
        contract = session.get(Contract, rolling)
        assert contract is not None
        contract.notice_days = 60
        session.add(contract)
    answer = await decide(rolling, "2027-01-05", "2026-12-04", "snooze", date(2026, 10, 20), snooze_days=30)
    assert answer == "refused: Snoozing to 2026-11-19 would pass the deadline (2026-11-06); choose fewer days."
    answer = await decide(rolling, "2027-01-05", "2026-12-04", "snooze", date(2026, 10, 20), snooze_days=14)
    assert answer == "accepted: Snoozed until 2026-11-03."


async def test_scanning_a_day_twice_across_a_worker_restart_sends_nothing_twice(
    time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine
) -> None:
    queue = f"renewals-{uuid.uuid4().hex}"
    harness = Renewals(
        time_skipping_env,
        sqlite_seeded,
        RecordingNotifier(),
        queue,
        RenewalClient(time_skipping_env.client, task_queue=queue),
    )
    contract_id = add_contract(sqlite_seeded, start=date(2026, 1, 5))
    day = date(2026, 9, 4)
    with time_skipping_env.auto_time_skipping_disabled():
        async with harness.worker():
            await harness.scan(day)
        assert len(harness.posts(contract_id)) == 2  # channel + DM
        # A new worker process (fresh activity objects, same database) runs the same day again.
        harness.notifier = RecordingNotifier()
        async with harness.worker():
            await harness.scan(day)
            await harness.client.scan(day.isoformat())
    assert harness.posts(contract_id) == []
    with transaction(sqlite_seeded) as session:
        rows = reminders_repo.list_reminders(session, contract_id=contract_id)
    assert [(r.due_on, r.sent_at is not None) for r in rows] == [(day, True)]


async def test_a_slack_failure_mid_send_is_retried_without_reposting(renewals: Renewals) -> None:
    contract_id = add_contract(renewals.engine, start=date(2026, 1, 5))
    failures = {"dm": 1}

    def flaky(channel: str, card: RenewalCard) -> None:
        if channel == OWNER and failures["dm"]:
            failures["dm"] -= 1
            raise RuntimeError("Slack is down")

    renewals.notifier.on_renewal_post = flaky
    await renewals.scan(date(2026, 9, 4))
    channels = [ch for ch, _ in renewals.posts(contract_id)]
    assert channels == [ITAM_CHANNEL, OWNER], "the channel post is not repeated when the DM is retried"


async def test_a_scan_finishes_when_slack_refuses_the_itam_channel_and_a_later_scan_catches_up(
    renewals: Renewals,
) -> None:
    """ITAM_CHANNEL names a channel that does not exist: every post there is refused with
    channel_not_found. The scan used to retry that for ever, holding back the owners' DMs."""
    first = add_contract(renewals.engine, start=date(2026, 1, 5))
    second = add_contract(renewals.engine, start=date(2026, 1, 5), product="Miro")
    renewals.notifier.refusals[ITAM_CHANNEL] = refusal("channel_not_found")
    day = date(2026, 9, 4)
    result = await asyncio.wait_for(renewals.scan(day), SCAN_LIMIT_S)

    failed = [f for f in result.failed if f.contract in (first, second)]
    assert [(f.contract, f.target, f.error, f.product) for f in failed] == [
        (first, ITAM_CHANNEL, "channel_not_found", "Figma"),
        (second, ITAM_CHANNEL, "channel_not_found", "Miro"),
    ]
    assert "invite the bot to #itam" in failed[0].hint and "ITAM_CHANNEL" in failed[0].hint
    assert renewals.notifier.refused == [ITAM_CHANNEL], "a refused channel is not asked again for every reminder"
    assert [ch for ch, _ in renewals.posts(first)] == [OWNER], "the owner's DM still went out"
    assert [ch for ch, _ in renewals.posts(second)] == [OWNER]
    recorded = audit_rows(renewals.engine, "renewal_reminder_failed", first)
    assert [(r.detail["part"], r.detail["target"], r.detail["error"]) for r in recorded] == [
        ("channel", ITAM_CHANNEL, "channel_not_found")
    ]
    assert not audit_rows(renewals.engine, "renewal_reminder_sent", first)

    # Once the bot is in the channel, the next day's scan posts what is missing, once.
    del renewals.notifier.refusals[ITAM_CHANNEL]
    later = await renewals.scan(day + timedelta(days=1))
    assert not [f for f in later.failed if f.contract in (first, second)]
    posts = renewals.posts(first)
    assert [ch for ch, _ in posts] == [OWNER, ITAM_CHANNEL], "the DM is not sent twice"
    assert posts[-1][1].days_left == (posts[-1][1].deadline - (day + timedelta(days=1))).days
    assert len(audit_rows(renewals.engine, "renewal_reminder_sent", first)) == 1
    await renewals.scan(day + timedelta(days=2))
    assert len(renewals.posts(first)) == 2 and len(renewals.posts(second)) == 2


async def test_a_reminder_for_an_owner_not_on_slack_goes_to_the_itam_channel_naming_the_owner(
    renewals: Renewals,
) -> None:
    """A group mailbox owns the asset (design-ops@ in the demo data): nobody gets a DM, so
    the ITAM channel's reminder names the owner and says so."""
    import json

    from bot.blocks.renewals import renewal_message

    contract_id = add_contract(renewals.engine, start=date(2026, 1, 5), owner_email="design-ops@example.com")
    result = await renewals.scan(date(2026, 9, 4))
    assert not [f for f in result.failed if f.contract == contract_id]
    posts = renewals.posts(contract_id)
    assert [ch for ch, _ in posts] == [ITAM_CHANNEL]
    card = posts[0][1]
    assert card.owner_not_on_slack and card.owner_email == "design-ops@example.com"
    _, blocks = renewal_message(card)
    shown = json.dumps(blocks)
    assert "owner: design-ops@example.com (not on Slack, so no DM went out: please pass this on)" in shown
    sent = audit_rows(renewals.engine, "renewal_reminder_sent", contract_id)
    assert [r.detail.get("owner_not_on_slack") for r in sent] == ["design-ops@example.com"]


async def test_a_weekly_digest_slack_refuses_is_reported_and_posted_by_a_later_run(renewals: Renewals) -> None:
    renewals.notifier.refusals[ITAM_CHANNEL] = refusal("not_in_channel")
    as_of = date(2026, 10, 12)
    refused = await asyncio.wait_for(renewals.client.digest(as_of.isoformat()), SCAN_LIMIT_S)
    assert not refused.posted
    assert [(f.contract, f.target, f.error) for f in refused.failed] == [(None, ITAM_CHANNEL, "not_in_channel")]
    del renewals.notifier.refusals[ITAM_CHANNEL]
    # The manual run of a day is one workflow at a time; a new one starts once the first ended.
    posted = await renewals.client.digest(as_of.isoformat())
    assert posted.posted and not posted.failed and len(renewals.notifier.digests) == 1


async def test_a_decision_updates_the_messages_slack_still_takes(renewals: Renewals) -> None:
    """The owner deleted their DM (message_not_found): the decision is recorded and the ITAM
    channel's message is updated; the refused update is not retried for ever."""
    contract_id = add_contract(renewals.engine, start=date(2026, 1, 5))
    await renewals.scan(date(2026, 9, 4))
    dm_ref = next(
        ref for ch, card, ref in renewals.notifier.renewal_posts if ch == OWNER and card.contract_id == contract_id
    )
    renewals.notifier.refusals[dm_ref.channel] = refusal("message_not_found", dm_ref.channel)
    accepted, _ = await asyncio.wait_for(renewals.decide(contract_id, date(2026, 9, 5), "cancel", OWNER), SCAN_LIMIT_S)
    assert accepted
    updated = [ref.channel for ref, card in renewals.notifier.renewal_updates if card.contract_id == contract_id]
    assert updated == [ITAM_CHANNEL]


async def test_the_scheduled_scan_uses_the_workflow_clock(renewals: Renewals) -> None:
    """The schedule starts the scan without a date: it scans "today" by the workflow clock,
    which the time-skipping server moves a month ahead here."""
    await renewals.env.sleep(timedelta(days=30))
    today = (await renewals.env.get_current_time()).astimezone(UTC).date()
    # Cancel-by about ten days after "today": its reminders are missed, so one catch-up is due.
    contract_id = add_contract(renewals.engine, start=add_months(today, -12) + timedelta(days=40))

    async def scheduled_scan() -> str:
        result = await renewals.env.client.execute_workflow(
            RenewalScanWorkflow.run, ScanInput(), id=f"scan-now-{uuid.uuid4().hex[:6]}", task_queue=renewals.queue
        )
        return result.as_of

    assert await scheduled_scan() == today.isoformat()
    assert renewals.channel_days(contract_id) == [today]
    await renewals.env.sleep(timedelta(days=1))
    assert await scheduled_scan() == (today + timedelta(days=1)).isoformat()
    assert renewals.channel_days(contract_id).count(today) == 1, "the catch-up is not repeated the next day"


async def test_the_weekly_digest_lists_upcoming_renewals_and_idle_seats_once(renewals: Renewals) -> None:
    as_of = date(2026, 10, 5)
    soon = add_contract(renewals.engine, start=date(2026, 1, 5), last_active=(as_of, as_of - timedelta(days=45), None))
    later = add_contract(renewals.engine, start=date(2026, 6, 1))
    result = await renewals.client.digest(as_of.isoformat())
    again = await renewals.client.digest(as_of.isoformat())
    assert result.posted and not again.posted
    assert len(renewals.notifier.digests) == 1
    channel, digest = renewals.notifier.digests[0]
    assert channel == ITAM_CHANNEL
    listed = [u.contract_id for u in digest.upcoming]
    assert soon in listed and later not in listed  # later's deadline is in 2027
    holders = {(c.person_email, c.last_active) for c in digest.reclaim}
    assert ("holder1@example.com", as_of - timedelta(days=45)) in holders
    assert ("holder2@example.com", None) in holders
    assert all(c.person_email != "holder0@example.com" for c in digest.reclaim)
    assert dict(digest.totals)["USD"] >= 5 * 18_000


async def test_an_approved_request_is_covered_by_the_scan_without_anything_to_start(renewals: Renewals) -> None:
    from catalog import repository
    from workflows.request.client import ProcurementClient
    from workflows.request.types import DecisionInput, RequestInput
    from workflows.request.workflow import ProcurementRequestWorkflow

    procurement = ProcurementClient(renewals.env.client, task_queue=renewals.queue)
    request = RequestInput(
        request_id=f"REQ-{uuid.uuid4().hex[:8].upper()}",
        requester_slack_id=OWNER,
        requester_email="employee@example.com",
        product_id="notion",
        product_name="Notion",
        seats=2,
        justification="Docs for the new team",
    )
    await procurement.submit(request)

    async def approved() -> bool:
        outcome = await procurement.decide(request.request_id, DecisionInput("U0MANAGER", approve=True))
        return outcome.accepted or "already approved" in outcome.message

    await eventually(approved, what="the approval")
    handle = renewals.env.client.get_workflow_handle_for(
        ProcurementRequestWorkflow.run, f"request-{request.request_id}"
    )
    assert (await handle.result()).status == "approved"
    with transaction(renewals.engine) as session:
        asset = repository.get_asset_for_request(session, request_id=request.request_id)
        assert asset is not None and asset.id is not None
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None and contract.id is not None
        contract_id, start = contract.id, contract.start_date
    first = plan_renewal(
        reminders_repo.contract_terms(
            start_date=start,
            term_months=contract.term_months,
            auto_renew=contract.auto_renew,
            notice_days=contract.notice_days,
            notice_basis=contract.notice_basis,
            renewal_date=contract.renewal_date,
        ),
        as_of=start,
        calendar=US,
    ).reminders[0]
    await renewals.scan(first)
    assert [ch for ch, _ in renewals.posts(contract_id)] == [ITAM_CHANNEL, OWNER]


async def test_the_cli_test_clock_runs_the_scan_on_the_worker(
    dev_server_env: WorkflowEnvironment, sqlite_seeded: Engine
) -> None:
    import asyncio
    import json
    import os
    import sys
    from pathlib import Path

    queue = f"renewals-cli-{uuid.uuid4().hex}"
    notifier = RecordingNotifier()
    contract_id = add_contract(sqlite_seeded, start=date(2026, 1, 5))
    harness = Renewals(
        dev_server_env, sqlite_seeded, notifier, queue, RenewalClient(dev_server_env.client, task_queue=queue)
    )
    procure = str(Path(sys.executable).parent / "procure")
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": queue,
    }

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            procure, "renewals", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    async with harness.worker():
        code, out, err = await run("scan", "--as-of", "2026-09-04")
        assert code == 0, err
        result = json.loads(out)
        assert result["as_of"] == "2026-09-04" and result["sent"] >= 1
        assert [ch for ch, _ in harness.posts(contract_id)] == [ITAM_CHANNEL, OWNER]
        code, out, _ = await run("scan", "--as-of", "2026-09-04")
        assert code == 0 and json.loads(out)["sent"] == 0, "the same day again sends nothing"
    code, _, err = await run("scan", "--as-of", "04/09/2026")
    assert code == 2 and "YYYY-MM-DD" in err


async def test_the_cli_scan_against_a_missing_itam_channel_reports_it_and_exits_non_zero(
    dev_server_env: WorkflowEnvironment, sqlite_seeded: Engine
) -> None:
    """`procure renewals scan` used to block for ever, printing nothing, when ITAM_CHANNEL
    named a channel Slack does not know."""
    import json
    import os
    import sys
    from pathlib import Path

    queue = f"renewals-cli-{uuid.uuid4().hex}"
    notifier = RecordingNotifier(refusals={"#nope": refusal("channel_not_found", "#nope")})
    contract_id = add_contract(sqlite_seeded, start=date(2026, 1, 5))
    harness = Renewals(
        dev_server_env, sqlite_seeded, notifier, queue, RenewalClient(dev_server_env.client, task_queue=queue)
    )
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": queue,
    }
    activities = RenewalActivities(sqlite_seeded, notifier, itam_channel="#nope", calendar=US)
    worker = build_worker(
        dev_server_env.client,
        task_queue=queue,
        activities=ProcurementActivities(sqlite_seeded, notifier),
        renewal_activities=activities,
    )
    async with worker:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "procure"),
            *("renewals", "scan", "--as-of", "2026-09-04"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), SCAN_LIMIT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    assert proc.returncode == 1, err.decode()
    result = json.loads(out)
    failed = [f for f in result["failed"] if f["contract"] == contract_id]
    assert [(f["target"], f["error"]) for f in failed] == [("#nope", "channel_not_found")]
    assert [ch for ch, _ in harness.posts(contract_id)] == [OWNER], "the owner's DM went out"
    lines = [line for line in err.decode().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, "one line per cause, however many reminders it stopped"
    assert "#nope (channel_not_found)" in lines[0]
    assert "invite the bot to #nope" in lines[0] and "set ITAM_CHANNEL" in lines[0]


async def test_the_schedules_are_created_once_and_updated_on_every_worker_start(
    dev_server_env: WorkflowEnvironment,
) -> None:
    from temporalio.client import ScheduleActionStartWorkflow

    from workflows.renewals.client import DIGEST_SCHEDULE_ID, SCAN_SCHEDULE_ID, ensure_renewal_schedules

    client = dev_server_env.client
    first = await ensure_renewal_schedules(client, task_queue="q-old", timezone="UTC")
    again = await ensure_renewal_schedules(client, task_queue="q-new", timezone="Europe/Paris")
    assert first == again == [SCAN_SCHEDULE_ID, DIGEST_SCHEDULE_ID]
    scan = await client.get_schedule_handle(SCAN_SCHEDULE_ID).describe()
    action = scan.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("RenewalScanWorkflow", "q-new")
    assert scan.schedule.spec.time_zone_name == "Europe/Paris"
    for schedule_id in (SCAN_SCHEDULE_ID, DIGEST_SCHEDULE_ID):
        await client.get_schedule_handle(schedule_id).delete()

"""Discovery on Temporal: a daily Schedule runs `DiscoveryWorkflow`, which discovers, posts
the ITAM digest and sends the payers' reuse-first DMs. `procure discover run` (without `--no-notify`) does
the same three steps in the CLI process (`post_digest`, `notify_payers` are plain functions).

Each step is idempotent: a run on the same data writes the same rows; the digest of a day is
posted once (an audit row claims it); a payer's DM once per product, payer and term (its key
is audited, and carried by the message so a retry that lost the audit row finds it)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select
from temporalio import activity, workflow
from temporalio.client import Client, ScheduleOverlapPolicy, SchedulePolicy
from temporalio.common import RetryPolicy

from workflows.schedules import ScheduledRun, cron_schedule, upsert_schedules

with workflow.unsafe.imports_passed_through():
    from catalog import repository
    from catalog.db import transaction
    from catalog.discovery import run_discovery
    from catalog.models import AuditEvent
    from catalog.ports import DiscoveryNotifier, MessageRef, Undeliverable
    from catalog.repository import discovery_actions
    from catalog.rules.discovery_actions import DigestView, PayerNotice
    from workflows.renewals.activities import ItamJobActivities, local_today

DISCOVERY_SCHEDULE_ID = "discovery-daily"
DISCOVERY_CRON = "0 7 * * *"  # every day at 07:00 company time, before the renewal scan
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)


#: The day discovery runs for.
DiscoveryInput = ScheduledRun


@dataclass
class DiscoveryResult:
    as_of: str
    products: int = 0
    digest_posted: bool = False
    dms_sent: int = 0
    failed: list[str] = field(default_factory=list)  # targets Slack refused for good, with why


@dataclass
class DigestRefreshInput:
    """A digest to redraw from the database: (channel, ts) as posted, and the day it is read on."""

    channel: str
    ts: str
    as_of: str  # ISO date


def _audited(engine: Engine, key: str) -> bool:
    with transaction(engine, read_only=True) as session:
        return session.exec(select(AuditEvent.id).where(AuditEvent.idem_key == key)).first() is not None


def _audit(engine: Engine, key: str, action: str, target: str, detail: dict[str, object]) -> None:
    with transaction(engine) as session:
        repository.audit(
            session,
            idem_key=key,
            at=datetime.now(UTC),
            entity="discovery",
            entity_id=target[:64],
            action=action,
            actor="discovery",
            detail=detail,
        )


async def post_digest(engine: Engine, notifier: DiscoveryNotifier, *, channel: str, as_of: date) -> bool:
    """Post the day's digest to `channel` once, when something needs a decision."""
    claim = f"discovery-digest:{as_of.isoformat()}"
    if await asyncio.to_thread(_audited, engine, claim):
        return False

    def read() -> DigestView:
        with transaction(engine, read_only=True) as session:
            return discovery_actions.digest_view(session, as_of=as_of)

    view = await asyncio.to_thread(read)
    if not view.cards and not view.unreconciled_lines:
        return False
    ref = await notifier.post_discovery_digest(channel=channel, view=view)

    def record() -> None:
        with transaction(engine) as session:
            discovery_actions.mark_digest(session, keys=[c.key for c in view.cards], channel=ref.channel, ts=ref.ts)
        _audit(engine, claim, "discovery_digest_posted", ref.channel, {"ts": ref.ts, "products": len(view.cards)})

    await asyncio.to_thread(record)
    return True


async def notify_payers(
    engine: Engine, notifier: DiscoveryNotifier, *, as_of: date, inactive_days: int
) -> tuple[int, list[str]]:
    """DM each payer owed a notice; returns how many were sent and the refusals."""

    def read() -> list[PayerNotice]:
        with transaction(engine, read_only=True) as session:
            return discovery_actions.payer_notices(session, as_of=as_of, inactive_days=inactive_days)

    sent, failed = 0, []
    for notice in await asyncio.to_thread(read):
        if await asyncio.to_thread(_audited, engine, notice.key):
            continue
        try:
            ref = await notifier.find_sent(user_id=notice.slack_id, key=notice.key)
            if ref is None:
                ref = await notifier.send_payer_notice(notice=notice)
                sent += 1
        except Undeliverable as refused:
            failed.append(f"{refused.target}: {refused.error} ({refused.hint})")
            continue
        detail: dict[str, object] = {"product": notice.product, "payer": notice.payer_email, "ts": ref.ts}
        await asyncio.to_thread(_audit, engine, notice.key, "discovery_payer_notified", notice.payer_email, detail)
    return sent, failed


class DiscoveryActivities(ItamJobActivities[DiscoveryNotifier]):
    def __init__(self, engine: Engine, notifier: DiscoveryNotifier, *, itam_channel: str, inactive_days: int) -> None:
        super().__init__(engine, notifier, itam_channel=itam_channel)
        self._inactive_days = inactive_days

    @activity.defn
    async def discover(self, as_of: str) -> int:
        """Run discovery up to `as_of`; the number of products seen."""

        def run() -> int:
            with transaction(self._engine) as session:
                summary = run_discovery(
                    session, as_of=date.fromisoformat(as_of), at=datetime.now(UTC), actor="schedule"
                )
            return sum(summary.by_status.values())

        return await asyncio.to_thread(run)

    @activity.defn
    async def post_discovery_digest(self, as_of: str) -> bool:
        return await post_digest(
            self._engine, self._notifier, channel=self._itam_channel, as_of=date.fromisoformat(as_of)
        )

    @activity.defn
    async def notify_discovery_payers(self, as_of: str) -> DiscoveryResult:
        sent, failed = await notify_payers(
            self._engine, self._notifier, as_of=date.fromisoformat(as_of), inactive_days=self._inactive_days
        )
        return DiscoveryResult(as_of, dms_sent=sent, failed=failed)

    @activity.defn
    async def refresh_discovery_digest(self, given: DigestRefreshInput) -> None:
        """Redraw the digest at (channel, ts) as the database has it now."""

        def read() -> DigestView:
            with transaction(self._engine, read_only=True) as session:
                return discovery_actions.digest_view(session, as_of=date.fromisoformat(given.as_of), digest_ts=given.ts)

        view = await asyncio.to_thread(read)
        await self._notifier.update_discovery_digest(ref=MessageRef(given.channel, given.ts), view=view)


@workflow.defn
class DiscoveryWorkflow:
    """One day's discovery: discover, tell ITAM, tell the payers."""

    @workflow.run
    async def run(self, given: DiscoveryInput) -> DiscoveryResult:
        as_of = given.as_of or local_today(workflow.now(), given.timezone).isoformat()
        products: int = await workflow.execute_activity_method(
            DiscoveryActivities.discover,
            as_of,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=ACTIVITY_RETRY,
        )
        posted: bool = await workflow.execute_activity_method(
            DiscoveryActivities.post_discovery_digest,
            as_of,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=ACTIVITY_RETRY,
        )
        result: DiscoveryResult = await workflow.execute_activity_method(
            DiscoveryActivities.notify_discovery_payers,
            as_of,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=ACTIVITY_RETRY,
        )
        result.products, result.digest_posted = products, posted
        return result


@workflow.defn
class DiscoveryDigestRefreshWorkflow:
    """Redraw a digest after a decision taken in the console: the worker holds the Slack
    client, and a retried activity outlasts a Slack that is briefly away (a Slack click
    redraws it in the bot's handler instead; docs/decisions.md, 51)."""

    @workflow.run
    async def run(self, given: DigestRefreshInput) -> None:
        await workflow.execute_activity_method(
            DiscoveryActivities.refresh_discovery_digest,
            given,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=ACTIVITY_RETRY,
            schedule_to_close_timeout=timedelta(hours=1),
        )


DISCOVERY_WORKFLOWS = [DiscoveryWorkflow, DiscoveryDigestRefreshWorkflow]


async def start_digest_refresh(client: Client, *, task_queue: str, channel: str, ts: str, as_of: date) -> str:
    """Start redrawing the digest at (channel, ts); returns the workflow id. Each decision
    starts its own: the digest is rebuilt from the database, so two redraws end the same."""
    workflow_id = f"discovery-digest-refresh-{ts}-{uuid.uuid4().hex[:12]}"
    await client.start_workflow(
        DiscoveryDigestRefreshWorkflow.run,
        DigestRefreshInput(channel, ts, as_of.isoformat()),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id


async def ensure_discovery_schedule(client: Client, *, task_queue: str, timezone: str) -> str:
    """Create the daily discovery schedule, or bring it up to date; safe at every worker start."""
    schedule = cron_schedule(
        DiscoveryWorkflow.run,
        DiscoveryInput(timezone=timezone),
        workflow_id="discovery-daily-run",
        task_queue=task_queue,
        cron=DISCOVERY_CRON,
        timezone=timezone,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )
    [ensured] = await upsert_schedules(client, {DISCOVERY_SCHEDULE_ID: schedule})
    return ensured

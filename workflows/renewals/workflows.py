"""Renewal reminders on Temporal: a daily Schedule runs `RenewalScanWorkflow`, a weekly one
`RenewalDigestWorkflow`; a click on a reminder runs `RenewalDecisionWorkflow`.

Why a scan and not one long-lived workflow per contract: see "Why renewals use a daily
scan" in the README (measured with `bench/bench_renewal_scan.py`). In short, the calendar
is cheap to recompute for every contract each day, so the database stays the only place
that says when a reminder is due: new contracts, imported ones and edited dates are picked
up by the next scan with nothing to start, signal or migrate.

Workflow code orchestrates only; the activities do the I/O and are idempotent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowFailureError,
)
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.schedules import upsert_schedules

with workflow.unsafe.imports_passed_through():
    from workflows.renewals.activities import (
        RENEWAL_NOT_ALLOWED,
        ClaimResult,
        DigestInput,
        DigestResult,
        RefreshInput,
        RenewalActivities,
        RenewalDecisionInput,
        RenewalDecisionResult,
        ScanInput,
        ScanResult,
        SendInput,
        SendResult,
        local_today,
    )

log = logging.getLogger(__name__)

SCAN_SCHEDULE_ID = "renewal-scan-daily"
DIGEST_SCHEDULE_ID = "renewal-digest-weekly"
SCAN_CRON = "0 9 * * *"  # every day at 09:00 company time (weekends too: a snooze may end on one)
DIGEST_CRON = "0 9 * * 1"  # Mondays at 09:00 company time
#: Reminders sent per activity: small enough that a retry repeats little, large enough that
#: a busy day (≈1,600 reminders at 100,000 contracts) stays a few hundred history events.
SEND_BATCH = 25

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
DECISION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))


def _as_of(given: str | None, timezone: str) -> str:
    return given or local_today(workflow.now(), timezone).isoformat()


@workflow.defn
class RenewalScanWorkflow:
    """One day's reminders: claim what is due, then send it in batches."""

    @workflow.run
    async def run(self, scan: ScanInput) -> ScanResult:
        as_of = _as_of(scan.as_of, scan.timezone)
        claimed: ClaimResult = await workflow.execute_activity_method(
            RenewalActivities.claim_due_reminders,
            as_of,
            # 100,000 contracts plan in ~3 s; the timeout leaves room for a slow database.
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=ACTIVITY_RETRY,
        )
        result = ScanResult(as_of, claimed=len(claimed.reminder_ids))
        ids = claimed.reminder_ids
        for start in range(0, len(ids), SEND_BATCH):
            sent: SendResult = await workflow.execute_activity_method(
                RenewalActivities.send_reminders,
                SendInput(ids[start : start + SEND_BATCH], as_of),
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=ACTIVITY_RETRY,
            )
            result.sent += sent.sent
            result.skipped += sent.skipped
            result.failed.extend(sent.failed)
        return result


@workflow.defn
class RenewalDigestWorkflow:
    @workflow.run
    async def run(self, digest: DigestInput) -> DigestResult:
        return await workflow.execute_activity_method(
            RenewalActivities.post_weekly_digest,
            _as_of(digest.as_of, digest.timezone),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=ACTIVITY_RETRY,
        )


@workflow.defn
class RenewalDecisionWorkflow:
    """Record a click on a reminder, then update every message of that term in place. A
    workflow (not a direct database write from the bot) so the in-place update is retried
    until Slack takes it, even if the bot restarts right after the click."""

    @workflow.run
    async def run(self, decision: RenewalDecisionInput) -> RenewalDecisionResult:
        if decision.decided_at is None:
            decision.decided_at = workflow.now().isoformat()
        result: RenewalDecisionResult = await workflow.execute_activity_method(
            RenewalActivities.record_renewal_decision,
            decision,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DECISION_RETRY,
        )
        if result.accepted:
            await workflow.execute_activity_method(
                RenewalActivities.refresh_renewal_messages,
                RefreshInput(decision.contract_id, decision.renewal_date, decision.deadline, decision.decided_at[:10]),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=ACTIVITY_RETRY,
            )
        return result


RENEWAL_WORKFLOWS = [RenewalScanWorkflow, RenewalDigestWorkflow, RenewalDecisionWorkflow]


# --- schedules --------------------------------------------------------------------------


def _schedules(task_queue: str, timezone: str) -> dict[str, Schedule]:
    # A missed day (Temporal or the worker down) is caught up within a week; overlapping runs
    # queue up instead of racing, although the claim in the database would make a race safe.
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE, catchup_window=timedelta(days=7))
    return {
        SCAN_SCHEDULE_ID: Schedule(
            action=ScheduleActionStartWorkflow(
                RenewalScanWorkflow.run, ScanInput(timezone=timezone), id="renewal-scan", task_queue=task_queue
            ),
            spec=ScheduleSpec(cron_expressions=[SCAN_CRON], time_zone_name=timezone),
            policy=policy,
        ),
        DIGEST_SCHEDULE_ID: Schedule(
            action=ScheduleActionStartWorkflow(
                RenewalDigestWorkflow.run, DigestInput(timezone=timezone), id="renewal-digest", task_queue=task_queue
            ),
            spec=ScheduleSpec(cron_expressions=[DIGEST_CRON], time_zone_name=timezone),
            policy=policy,
        ),
    }


async def ensure_renewal_schedules(client: Client, *, task_queue: str, timezone: str) -> list[str]:
    """Create the daily scan and weekly digest schedules, or bring existing ones up to date
    (task queue, time zone). Safe to call at every worker start, from any number of workers."""
    return await upsert_schedules(client, _schedules(task_queue, timezone))


# --- façade for the bot and the CLI --------------------------------------------------------


@dataclass(frozen=True)
class DecisionAnswer:
    accepted: bool
    message: str


class RenewalClient:
    """What the bot and the CLI call: they never see Temporal errors."""

    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def decide(self, decision: RenewalDecisionInput) -> DecisionAnswer:
        try:
            result = await self._client.execute_workflow(
                RenewalDecisionWorkflow.run,
                decision,
                # One workflow per click: Slack redelivering the same click joins it.
                id=f"renewal-decision-{decision.contract_id}-{decision.click_id}",
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except WorkflowFailureError as err:
            cause = err.cause.cause if isinstance(err.cause, ActivityError) else err.cause
            if isinstance(cause, ApplicationError) and cause.type == RENEWAL_NOT_ALLOWED:
                return DecisionAnswer(False, cause.message)
            log.warning("renewal decision %s failed: %s", decision, err)
            return DecisionAnswer(False, "That didn't work; please try again.")
        return DecisionAnswer(result.accepted, result.message)

    async def scan(self, as_of: str, *, timezone: str = "UTC") -> ScanResult:
        """Run one day's scan now (the test clock): the same workflow the schedule starts."""
        return await self._client.execute_workflow(
            RenewalScanWorkflow.run,
            ScanInput(as_of=as_of, timezone=timezone),
            id=f"renewal-scan-{as_of}-manual",
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def digest(self, as_of: str, *, timezone: str = "UTC") -> DigestResult:
        return await self._client.execute_workflow(
            RenewalDigestWorkflow.run,
            DigestInput(as_of=as_of, timezone=timezone),
            id=f"renewal-digest-{as_of}-manual",
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

"""Renewal reminders on Temporal: a daily Schedule runs `RenewalScanWorkflow`, a weekly one
`RenewalDigestWorkflow`; a click on a reminder runs `RenewalDecisionWorkflow`.

Why a scan and not one long-lived workflow per contract: see "Why renewals use a daily
scan" in the README (measured with `bench/bench_renewal_scan.py`). In short, the calendar
is cheap to recompute for every contract each day, so the database stays the only place
that says when a reminder is due: new contracts, imported ones and edited dates are picked
up by the next scan with nothing to start, signal or migrate.

Workflow code orchestrates only; the activities do the I/O and are idempotent. What the bot
and the CLI call (`RenewalClient`) and the schedules live in `workflows.renewals.client`."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.renewals.activities import RenewalActivities, local_today
    from workflows.renewals.types import (
        ClaimResult,
        DigestInput,
        DigestResult,
        RefreshInput,
        RenewalDecisionInput,
        RenewalDecisionResult,
        ScanInput,
        ScanResult,
        SendInput,
        SendResult,
    )

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

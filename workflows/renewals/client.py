"""What the bot and the CLI call to reach the renewal workflows (`RenewalClient`), and the
Temporal Schedules that start the daily scan and the weekly digest."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from temporalio.client import Client, Schedule, ScheduleOverlapPolicy, SchedulePolicy, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.renewals.types import (
    RENEWAL_NOT_ALLOWED,
    DigestInput,
    DigestResult,
    RenewalDecisionInput,
    RenewalDecisionResult,
    ScanInput,
    ScanResult,
)
from workflows.renewals.workflows import RenewalDecisionWorkflow, RenewalDigestWorkflow, RenewalScanWorkflow
from workflows.schedules import cron_schedule, upsert_schedules

log = logging.getLogger(__name__)

SCAN_SCHEDULE_ID = "renewal-scan-daily"
DIGEST_SCHEDULE_ID = "renewal-digest-weekly"
SCAN_CRON = "0 9 * * *"  # every day at 09:00 company time (weekends too: a snooze may end on one)
DIGEST_CRON = "0 9 * * 1"  # Mondays at 09:00 company time


# --- schedules --------------------------------------------------------------------------


def _schedules(task_queue: str, timezone: str) -> dict[str, Schedule]:
    # A missed day (Temporal or the worker down) is caught up within a week; overlapping runs
    # queue up instead of racing, although the claim in the database would make a race safe.
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE, catchup_window=timedelta(days=7))
    return {
        schedule_id: cron_schedule(
            run, given, workflow_id=workflow_id, task_queue=task_queue, cron=cron, timezone=timezone, policy=policy
        )
        for schedule_id, run, given, workflow_id, cron in (
            (SCAN_SCHEDULE_ID, RenewalScanWorkflow.run, ScanInput(timezone=timezone), "renewal-scan", SCAN_CRON),
            (
                DIGEST_SCHEDULE_ID,
                RenewalDigestWorkflow.run,
                DigestInput(timezone=timezone),
                "renewal-digest",
                DIGEST_CRON,
            ),
        )
    }


async def ensure_renewal_schedules(client: Client, *, task_queue: str, timezone: str) -> list[str]:
    """Create the daily scan and weekly digest schedules, or bring existing ones up to date
    (task queue, time zone). Safe to call at every worker start, from any number of workers."""
    return await upsert_schedules(client, _schedules(task_queue, timezone))


# --- façade for the bot and the CLI --------------------------------------------------------


class RenewalClient:
    """What the bot and the CLI call: they never see Temporal errors."""

    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def decide(self, decision: RenewalDecisionInput) -> RenewalDecisionResult:
        """The workflow's own answer, or a refusal in words (`accepted` False)."""
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
                return RenewalDecisionResult(False, cause.message)
            log.warning("renewal decision %s failed: %s", decision, err)
            return RenewalDecisionResult(False, "That didn't work; please try again.")
        return result

    async def scan(self, as_of: str, *, timezone: str = "UTC") -> ScanResult:
        """Run one day's scan now (the test clock): the same workflow the schedule starts."""
        result: ScanResult = await self._run_now(
            RenewalScanWorkflow.run, ScanInput(as_of=as_of, timezone=timezone), f"renewal-scan-{as_of}-manual"
        )
        return result

    async def digest(self, as_of: str, *, timezone: str = "UTC") -> DigestResult:
        result: DigestResult = await self._run_now(
            RenewalDigestWorkflow.run, DigestInput(as_of=as_of, timezone=timezone), f"renewal-digest-{as_of}-manual"
        )
        return result

    async def _run_now(self, run: Any, arg: Any, workflow_id: str) -> Any:
        """Run a scheduled workflow by hand; running it again for the same day joins the first run."""
        return await self._client.execute_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

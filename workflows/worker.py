"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from typing import Literal

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.activities import ProcurementActivities
from workflows.renewal_activities import RenewalActivities
from workflows.renewals import RENEWAL_WORKFLOWS, renewal_activity_methods
from workflows.request_workflow import ProcurementRequestWorkflow

WORKFLOWS = [ProcurementRequestWorkflow]
ALL_WORKFLOWS = [*WORKFLOWS, *RENEWAL_WORKFLOWS]

SandboxMode = Literal["shared", "isolated"]


def workflow_runner(mode: SandboxMode) -> SandboxedWorkflowRunner:
    """The sandbox the workflows run in.

    `isolated` is Temporal's default: every workflow run imports the workflow modules afresh,
    and every module it imports is checked against the restrictions (no `datetime.now`,
    `random`, I/O …). `shared` passes every module through: a run reuses the worker's
    already-imported modules, which cut the worker's CPU per request by about a tenth (the
    re-import of `request_workflow` alone was ~4 ms a run). What it gives up is checking the
    calls a workflow makes through modules it imported, and a fresh module state per run (our
    workflow modules keep none). Every workflow test, and the replay of every recorded
    history, runs `isolated`, so a forbidden call still fails CI (docs/decisions.md §19)."""
    restrictions = SandboxRestrictions.default
    if mode == "shared":
        restrictions = restrictions.with_passthrough_all_modules()
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: ProcurementActivities,
    renewal_activities: RenewalActivities | None = None,
    sandbox: SandboxMode = "isolated",
) -> Worker:
    """The worker; with `renewal_activities` it also runs the renewal reminders. Tests keep
    the `isolated` sandbox; the deployed worker takes `WORKFLOW_SANDBOX` (default `shared`)."""
    renewals = renewal_activity_methods(renewal_activities) if renewal_activities is not None else []
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[*WORKFLOWS, *RENEWAL_WORKFLOWS] if renewal_activities is not None else WORKFLOWS,
        workflow_runner=workflow_runner(sandbox),
        activities=[
            activities.check_request,
            activities.announce_step,
            activities.record_outcome,
            activities.announce_outcome,
            activities.announce_rejection,
            *activities.chain_activity_methods(),
            *activities.reuse_activity_methods(),
            *renewals,
        ],
    )

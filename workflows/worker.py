"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import ProcurementActivities
from workflows.renewal_activities import RenewalActivities
from workflows.renewals import RENEWAL_WORKFLOWS, renewal_activity_methods
from workflows.request_workflow import ProcurementRequestWorkflow

WORKFLOWS = [ProcurementRequestWorkflow]
ALL_WORKFLOWS = [*WORKFLOWS, *RENEWAL_WORKFLOWS]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: ProcurementActivities,
    renewal_activities: RenewalActivities | None = None,
) -> Worker:
    """The worker; with `renewal_activities` it also runs the renewal reminders."""
    renewals = renewal_activity_methods(renewal_activities) if renewal_activities is not None else []
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[*WORKFLOWS, *RENEWAL_WORKFLOWS] if renewal_activities is not None else WORKFLOWS,
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

"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import ProcurementActivities
from workflows.request_workflow import ProcurementRequestWorkflow

WORKFLOWS = [ProcurementRequestWorkflow]


def build_worker(client: Client, *, task_queue: str, activities: ProcurementActivities) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            activities.check_request,
            activities.announce_step,
            activities.record_outcome,
            activities.announce_outcome,
            activities.announce_rejection,
        ],
    )

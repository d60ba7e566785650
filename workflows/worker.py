"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import ProcurementActivities
from workflows.converter import install_payload_passes, with_data_converter
from workflows.renewal_activities import RenewalActivities
from workflows.renewals import RENEWAL_WORKFLOWS, renewal_activity_methods
from workflows.request_workflow import ProcurementRequestWorkflow
from workflows.sandbox import SandboxMode, workflow_runner

WORKFLOWS = [ProcurementRequestWorkflow]
ALL_WORKFLOWS = [*WORKFLOWS, *RENEWAL_WORKFLOWS]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: ProcurementActivities,
    renewal_activities: RenewalActivities | None = None,
    sandbox: SandboxMode = "isolated",
) -> Worker:
    """The worker; with `renewal_activities` it also runs the renewal reminders. Tests keep
    the `isolated` sandbox; the deployed worker takes `WORKFLOW_SANDBOX` (default `shared`).
    Payloads go through `workflows.converter` whatever converter `client` has."""
    renewals = renewal_activity_methods(renewal_activities) if renewal_activities is not None else []
    install_payload_passes()
    return Worker(
        with_data_converter(client),
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

"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from catalog.summary import Undeliverable
from workflows.activities import ProcurementActivities
from workflows.converter import install_payload_passes, with_data_converter
from workflows.renewal_activities import RenewalActivities
from workflows.renewals import RENEWAL_WORKFLOWS, renewal_activity_methods
from workflows.request_workflow import ProcurementRequestWorkflow
from workflows.sandbox import SandboxMode, workflow_runner
from workflows.shared import UNDELIVERABLE

WORKFLOWS = [ProcurementRequestWorkflow]
ALL_WORKFLOWS = [*WORKFLOWS, *RENEWAL_WORKFLOWS]


class UndeliverableIsFinal(Interceptor):
    """An activity that lets `Undeliverable` out fails for good, whatever its retry policy:
    Slack gives the same answer to every attempt (docs/decisions.md, 33). The activities that
    post handle it themselves where the work can go on without the message; this is the net
    under the rest (a look-up the token may not make, say)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _UndeliverableIsFinal(next)


class _UndeliverableIsFinal(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Undeliverable as refused:
            raise ApplicationError(
                str(refused),
                {"target": refused.target, "error": refused.error, "hint": refused.hint},
                type=UNDELIVERABLE,
                non_retryable=True,
            ) from refused


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
        interceptors=[UndeliverableIsFinal()],
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

"""The Temporal worker: the procurement workflow and its activities on one task queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from catalog.ports import Undeliverable
from workflows.converter import install_payload_passes, with_data_converter
from workflows.discovery import DISCOVERY_WORKFLOWS, DiscoveryActivities
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.workflows import RENEWAL_WORKFLOWS
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.types import UNDELIVERABLE
from workflows.request.workflow import ProcurementRequestWorkflow
from workflows.sandbox import SandboxMode, workflow_runner
from workflows.seat_release.workflow import SeatReleaseWorkflow

WORKFLOWS = [ProcurementRequestWorkflow, SeatReleaseWorkflow]
ALL_WORKFLOWS = [*WORKFLOWS, *RENEWAL_WORKFLOWS, *DISCOVERY_WORKFLOWS]


def activity_methods(
    activities: ProcurementActivities | None,
    renewals: RenewalActivities | None = None,
    discovery: DiscoveryActivities | None = None,
) -> list[Callable[..., Any]]:
    """Every activity the worker runs, listed here and nowhere else (issue 20). A method
    marked `@activity.defn` anywhere in `workflows/` but missing from this list fails
    tests/workflows/test_worker_registration.py, not a workflow at run time. The list is
    written out rather than gathered by introspection so that a reader sees every activity
    in one place, and so that a decorated method no worker should run stays off until it is
    added here on purpose."""
    request: list[Callable[..., Any]] = []
    if activities is not None:
        request = [
            # the single approver, replay-only (workflows/request/activities/procurement.py)
            activities.single_approver.check_request,
            activities.single_approver.announce_step,
            activities.single_approver.record_outcome,
            activities.single_approver.announce_outcome,
            activities.single_approver.announce_rejection,
            # the approval chain (activities/route.py, steps.py, reassign.py, closing.py)
            activities.route.plan_route,
            activities.route.recheck_route,
            activities.steps.open_chain_stage,
            activities.steps.open_chain_step,
            activities.reassign.nudge_step,
            activities.reassign.delegate_step,
            activities.steps.record_step,
            activities.steps.ask_for_changes,
            activities.closing.record_chain_outcome,
            activities.closing.announce_chain_outcome,
            activities.closing.close_chain,
            # reuse first (workflows/request/activities/reuse.py)
            activities.reuse.assess_reuse,
            activities.reuse.offer_reuse,
            activities.reuse.record_choice,
            activities.reuse.find_holders,
            activities.reuse.ask_holders,
            activities.reuse.settle_reclaim,
            activities.reuse.grant_pool_seat,
            # the console's Ask to release (workflows/seat_release/activities.py)
            activities.seat_release.find_seat_holder,
            activities.seat_release.ask_seat_holder,
            activities.seat_release.settle_seat_release,
        ]
    renewal: list[Callable[..., Any]] = []
    if renewals is not None:
        renewal = [
            # renewal reminders (workflows/renewals/activities.py)
            renewals.claim_due_reminders,
            renewals.send_reminders,
            renewals.record_renewal_decision,
            renewals.refresh_renewal_messages,
            renewals.post_weekly_digest,
        ]
    found: list[Callable[..., Any]] = []
    if discovery is not None:
        # discovery (workflows/discovery.py)
        found = [
            discovery.discover,
            discovery.post_discovery_digest,
            discovery.notify_discovery_payers,
            discovery.refresh_discovery_digest,
        ]
    return [*request, *renewal, *found]


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
    discovery_activities: DiscoveryActivities | None = None,
) -> Worker:
    """The worker; with `renewal_activities` it also runs the renewal reminders. Tests keep
    the `isolated` sandbox; the deployed worker takes `WORKFLOW_SANDBOX` (default `shared`).
    Payloads go through `workflows.converter` whatever converter `client` has."""
    install_payload_passes()
    return Worker(
        with_data_converter(client),
        task_queue=task_queue,
        workflows=[
            *WORKFLOWS,
            *(RENEWAL_WORKFLOWS if renewal_activities is not None else []),
            *(DISCOVERY_WORKFLOWS if discovery_activities is not None else []),
        ],
        workflow_runner=workflow_runner(sandbox),
        interceptors=[UndeliverableIsFinal()],
        activities=activity_methods(activities, renewal_activities, discovery_activities),
    )

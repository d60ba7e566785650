"""ProcurementRequestWorkflow: one purchase request from submission to decision.

Orchestration only: every side effect (database, Slack) happens in activities, so the
workflow is deterministic and survives worker restarts mid-approval.

The class is assembled from its parts, each in its own module with the updates it answers:
reuse first (reuse_first.py: `choose`, `answer_reclaim`), the approval chain
(approval_chain.py: `decide`), changes to a waiting request (chain_changes.py: `delegate`,
`withdraw`, `edit`) and the paths only old histories take (replay_only.py). Their shared state
and helpers, with the `state` query, are in workflow_base.py; the patch ids in patches.py.
The workflow type's name is the class name, `ProcurementRequestWorkflow`, as before."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.request.activities.route import RouteActivities
    from workflows.request.approval_chain import ApprovalChain
    from workflows.request.chain_changes import ChainChanges
    from workflows.request.patches import (
        ALL_PATCHES_PATCH,
        ALL_PATCHES_V6,
        ALL_PATCHES_V7,
        APPROVAL_CHAIN_PATCH,
        LOCAL_ACTIVITIES_PATCH,
        REUSE_FIRST_PATCH,
    )
    from workflows.request.reuse_first import ReuseFirst
    from workflows.request.types import REQUEST_REJECTED, PlanInput, RequestInput, RequestResult
    from workflows.request.workflow_base import ReuseState

__all__ = ["ALL_PATCHES_PATCH", "ProcurementRequestWorkflow"]


@workflow.defn
class ProcurementRequestWorkflow(ReuseFirst, ApprovalChain, ChainChanges):
    @workflow.init
    def __init__(self, request: RequestInput) -> None:
        # The starting values that are None, False or a status are declared with the state,
        # in RequestWorkflowBase; here only the input and what is mutable, one per instance.
        self._request = request
        self._reuse = ReuseState()
        self._steps = {}
        self._events = []

    @workflow.run
    async def run(self, request: RequestInput) -> RequestResult:
        self._current = workflow.patched(ALL_PATCHES_PATCH)
        self._since_v7 = self._current or workflow.patched(ALL_PATCHES_V7)
        self._since_v6 = self._since_v7 or workflow.patched(ALL_PATCHES_V6)
        chain = self._patched(APPROVAL_CHAIN_PATCH)
        self._local = chain and self._patched(LOCAL_ACTIVITIES_PATCH)
        try:
            if chain:
                self._route = await self._database_activity(
                    RouteActivities.plan_route, PlanInput(request, workflow.now().isoformat())
                )
            else:
                self._plan = await self._check_single_approver(request)
        except (ActivityError, ApplicationError) as err:
            # A local activity's business error arrives unwrapped: the ApplicationError itself.
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.type == REQUEST_REJECTED:
                return await self._reject(cause.message)
            raise

        # A renewal request renews a contract we hold: there is nothing to reuse instead. Old
        # histories never carry `renewal_contract_id`, so they replay the same commands.
        if not request.is_renewal and self._patched(REUSE_FIRST_PATCH):
            settled = await self._reuse_first(request)
            if settled is not None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return settled

        if chain:
            result = await self._run_chain()
            await workflow.wait_condition(workflow.all_handlers_finished)
            return result

        return await self._run_single_approver(request)

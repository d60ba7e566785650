"""The façade the bot uses: start a request, decide on it, read its state.

It hides Temporal from the bot and turns "already completed" / "not allowed" errors into
friendly results, so a Slack handler never shows a stack trace to a person."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from catalog.rules.requests import workflow_id_for
from catalog.text import escape_mrkdwn
from workflows.converter import DATA_CONVERTER
from workflows.request.types import (
    ChoiceInput,
    ChoiceResult,
    DecisionInput,
    DelegateInput,
    EditInput,
    ReclaimAnswerInput,
    RequestInput,
    RequestResult,
    RequestState,
    WithdrawInput,
)
from workflows.request.workflow import ProcurementRequestWorkflow

log = logging.getLogger(__name__)


#: How long a click waits in all for room among a workflow's Updates in flight (see `_update`).
UPDATE_BUSY_WAIT_S = 15.0
#: How often a click aborted on a workflow that is still running is sent again (see `_update`).
UPDATE_ABORTED_RETRIES = 3


def update_refusal(err: WorkflowUpdateFailedError, workflow: str) -> ChoiceResult:
    """A refused reuse-style Update in words: its validator's reason, or "try again"."""
    if isinstance(err.cause, ApplicationError):
        return ChoiceResult(False, err.cause.message)
    log.warning("update on %s failed: %s", workflow, err)
    return ChoiceResult(False, "That didn't work; please try again.")


async def execute_update_when_admitted(
    handle: WorkflowHandle[Any, Any], update: Any, arg: Any, *, wait_s: float = UPDATE_BUSY_WAIT_S
) -> Any:
    """Run an Update, waiting out the server's limit on Updates in flight per workflow.

    Temporal admits a few Updates to one workflow at a time (10 by default) and answers the
    rest RESOURCE_EXHAUSTED. The SDK's client retries that for about 15 s; a workflow whose
    task is slow (a worker under load, a crowd of clicks on one request) can stay full longer,
    and the click would then be told "try again". Here each waits a jittered, growing moment
    and asks again, for up to about `wait_s` more."""
    delay, waited = 0.05, 0.0
    while True:
        try:
            return await handle.execute_update(update, arg)
        except RPCError as err:
            if err.status != RPCStatusCode.RESOURCE_EXHAUSTED or waited >= wait_s:
                raise
        pause = delay * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
        await asyncio.sleep(pause)
        waited += pause
        delay = min(delay * 2, 1.0)


@dataclass(frozen=True)
class SubmitResult:
    request_id: str
    workflow_id: str
    run_id: str | None


@dataclass(frozen=True)
class DecisionOutcome:
    accepted: bool
    message: str
    status: str | None = None


class ProcurementClient:
    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @classmethod
    async def connect(cls, address: str, *, namespace: str, task_queue: str) -> ProcurementClient:
        return cls(
            await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER), task_queue=task_queue
        )

    @property
    def temporal(self) -> Client:
        return self._client

    async def submit(self, request: RequestInput) -> SubmitResult:
        """Start the request's workflow. Submitting the same request id again (a double
        click, a retried payload) attaches to the running workflow instead of starting a
        second one."""
        workflow_id = workflow_id_for(request.request_id)
        handle = await self._client.start_workflow(
            ProcurementRequestWorkflow.run,
            request,
            id=workflow_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return SubmitResult(request.request_id, workflow_id, handle.first_execution_run_id)

    def _handle(self, request_id: str) -> WorkflowHandle[ProcurementRequestWorkflow, object]:
        return self._client.get_workflow_handle_for(ProcurementRequestWorkflow.run, workflow_id_for(request_id))

    async def decide(self, request_id: str, decision: DecisionInput) -> DecisionOutcome:
        try:
            result = await self._update(request_id, ProcurementRequestWorkflow.decide, decision)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                return DecisionOutcome(False, cause.message)
            log.warning("decision on %s failed: %s", request_id, err)
            return DecisionOutcome(False, "That didn't work; please try again.")
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return await self._closed(request_id)
            raise
        return DecisionOutcome(result.accepted, result.message, result.status)

    async def _closed(self, request_id: str) -> DecisionOutcome:
        """Answer a click on a request whose workflow has finished. The result is read from the
        workflow's history (no worker involved, so a hundred late clicks stay cheap); the query
        is the fallback for histories whose result does not name the decider."""
        try:
            result = await self._handle(request_id).result(rpc_timeout=timedelta(seconds=10))
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return DecisionOutcome(False, f"There is no request {escape_mrkdwn(request_id)}.")
            result = None
        except WorkflowFailureError:
            result = None
        if isinstance(result, RequestResult) and result.decided_by_slack_id:
            return DecisionOutcome(
                False, f"This request was already {result.status} by <@{result.decided_by_slack_id}>.", result.status
            )
        try:
            state = await self.state(request_id)
        except RPCError:
            status = result.status.replace("_", " ") if isinstance(result, RequestResult) else "closed"
            return DecisionOutcome(False, f"This request is already {status}.")
        if state is None:
            # The id comes from a button value a client can tamper with: never echo it as markup.
            return DecisionOutcome(False, f"There is no request {escape_mrkdwn(request_id)}.")
        if state.decided_by_slack_id:
            return DecisionOutcome(
                False, f"This request was already {state.status} by <@{state.decided_by_slack_id}>.", state.status
            )
        return DecisionOutcome(False, f"This request is already closed ({state.status}).", state.status)

    async def choose(self, request_id: str, choice: ChoiceInput) -> ChoiceResult:
        """The requester's answer to a reuse-first offer (see ProcurementRequestWorkflow.choose)."""
        return await self._reuse_update(request_id, ProcurementRequestWorkflow.choose, choice)

    async def answer_reclaim(self, request_id: str, answer: ReclaimAnswerInput) -> ChoiceResult:
        """An idle seat holder's Keep / Release (see ProcurementRequestWorkflow.answer_reclaim)."""
        return await self._reuse_update(request_id, ProcurementRequestWorkflow.answer_reclaim, answer)

    async def delegate(self, request_id: str, delegation: DelegateInput) -> ChoiceResult:
        """An approver hands their step to someone else (see ProcurementRequestWorkflow.delegate)."""
        return await self._reuse_update(request_id, ProcurementRequestWorkflow.delegate, delegation)

    async def withdraw(self, request_id: str, withdrawal: WithdrawInput) -> ChoiceResult:
        """The requester withdraws a pending request (see ProcurementRequestWorkflow.withdraw)."""
        return await self._reuse_update(request_id, ProcurementRequestWorkflow.withdraw, withdrawal)

    async def edit(self, request_id: str, edit: EditInput) -> ChoiceResult:
        """The requester's edit after an approver asked for changes (ProcurementRequestWorkflow.edit)."""
        return await self._reuse_update(request_id, ProcurementRequestWorkflow.edit, edit)

    async def _reuse_update(self, request_id: str, update: Any, arg: Any) -> ChoiceResult:
        try:
            result: ChoiceResult = await self._update(request_id, update, arg)
        except WorkflowUpdateFailedError as err:
            return update_refusal(err, request_id)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                state = await self.state(request_id)
                closed = f" ({state.status.replace('_', ' ')})" if state else ""
                return ChoiceResult(False, f"This request is already closed{closed}.")
            raise
        return result

    async def _update(self, request_id: str, update: Any, arg: Any) -> Any:
        """Run an Update; a click on a workflow that closed meanwhile raises NOT_FOUND, as one
        on a workflow closed before does.

        The server aborts the Updates in flight when the workflow closes (the decisive click
        and the outcome in one workflow task, with a crowd of clicks behind it) or when its
        task fails; it answers UNAVAILABLE "workflow update was aborted", which the SDK
        retries a few times and then raises. Closed: NOT_FOUND. Still running: ask again."""
        handle = self._handle(request_id)
        aborted = 0
        while True:
            try:
                return await execute_update_when_admitted(handle, update, arg)
            except RPCError as err:
                if err.status != RPCStatusCode.UNAVAILABLE or "aborted" not in err.message:
                    raise
                if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                    raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"") from err
                aborted += 1
                if aborted > UPDATE_ABORTED_RETRIES:
                    raise

    async def state(self, request_id: str) -> RequestState | None:
        try:
            return await self._handle(request_id).query(ProcurementRequestWorkflow.state)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

"""A click whose Update the server aborts ("workflow update was aborted", UNAVAILABLE: the
workflow closed while it was in flight, or its task failed) still gets an answer: like a late
click when the workflow has closed, the Update sent again while it runs.

The server only aborts under load or at a crash, in races a test cannot pin down, so the
handle here answers as the server did in the 100-click fault test (decisions.md, 18)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from workflows.request.client import UPDATE_ABORTED_RETRIES, ProcurementClient
from workflows.request.types import DecisionInput, DecisionResult, RequestResult

MANAGER = "U0MANAGER"


def aborted() -> RPCError:
    return RPCError("workflow update was aborted", RPCStatusCode.UNAVAILABLE, b"")


class Handle:
    """Answers each Update with the next of `answers` (an exception is raised)."""

    def __init__(self, answers: list[Any], status: WorkflowExecutionStatus) -> None:
        self.answers = answers
        self.status = status
        self.updates = 0

    async def execute_update(self, _update: Any, _arg: Any) -> Any:
        self.updates += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def describe(self) -> SimpleNamespace:
        return SimpleNamespace(status=self.status)

    async def result(self, **_: Any) -> RequestResult:
        return RequestResult("REQ-1", "approved", 7, None, MANAGER)


def client_for(handle: Handle) -> ProcurementClient:
    temporal = SimpleNamespace(get_workflow_handle_for=lambda *_a, **_k: handle)
    return ProcurementClient(cast(Client, temporal), task_queue="q")


async def test_aborted_because_the_workflow_closed_is_answered_like_a_late_click() -> None:
    handle = Handle([aborted()], WorkflowExecutionStatus.COMPLETED)
    outcome = await client_for(handle).decide("REQ-1", DecisionInput(MANAGER, approve=True))
    assert not outcome.accepted
    assert outcome.message == f"This request was already approved by <@{MANAGER}>."
    assert handle.updates == 1


async def test_aborted_while_the_workflow_runs_is_sent_again() -> None:
    decided = DecisionResult(True, "approved", MANAGER, "Approved.")
    handle = Handle([aborted(), aborted(), decided], WorkflowExecutionStatus.RUNNING)
    outcome = await client_for(handle).decide("REQ-1", DecisionInput(MANAGER, approve=True))
    assert outcome.accepted and outcome.status == "approved"
    assert handle.updates == 3


async def test_aborted_again_and_again_while_it_runs_gives_up() -> None:
    handle = Handle([aborted()] * (UPDATE_ABORTED_RETRIES + 1), WorkflowExecutionStatus.RUNNING)
    with pytest.raises(RPCError, match="aborted"):
        await client_for(handle).decide("REQ-1", DecisionInput(MANAGER, approve=True))
    assert handle.updates == UPDATE_ABORTED_RETRIES + 1

"""The seat release's façade for the console (ask) and the bot (the holder's answer)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.request.client import execute_update_when_admitted, update_refusal
from workflows.request.types import ChoiceResult
from workflows.seat_release.types import SeatReleaseAnswer, SeatReleaseInput, seat_id_of, workflow_id_for
from workflows.seat_release.workflow import SeatReleaseWorkflow


@dataclass(frozen=True)
class AskOutcome:
    started: bool  # False: an ask for this seat was already running (the same ask)
    workflow_id: str


class SeatReleaseClient:
    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def ask(self, ask: SeatReleaseInput) -> AskOutcome:
        """Start the release of one seat; while one runs for the seat, asking again is that ask."""
        workflow_id = workflow_id_for(ask.seat_id)
        try:
            await self._client.start_workflow(SeatReleaseWorkflow.run, ask, id=workflow_id, task_queue=self._task_queue)
        except WorkflowAlreadyStartedError:
            return AskOutcome(False, workflow_id)
        return AskOutcome(True, workflow_id)

    async def answer(self, release_id: str, answer: SeatReleaseAnswer) -> ChoiceResult:
        """The holder's Keep / Release; a refusal (not theirs, answered, closed) in words."""
        seat_id = seat_id_of(release_id)
        if seat_id is None:
            return ChoiceResult(False, "That question is not about a seat.")
        handle = self._client.get_workflow_handle_for(SeatReleaseWorkflow.run, workflow_id_for(seat_id))
        try:
            result: ChoiceResult = await execute_update_when_admitted(handle, SeatReleaseWorkflow.answer, answer)
        except WorkflowUpdateFailedError as err:
            return update_refusal(err, release_id)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return ChoiceResult(False, "This question is closed.")
            raise
        return result

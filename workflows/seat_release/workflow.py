"""SeatReleaseWorkflow: the console's "Ask to release" on one seat. The holder is asked Keep /
Release in Slack; Release frees the seat back to the pool, Keep marks it active, no answer
within the business days given leaves it as it is. One run per seat at a time (the workflow id
is the seat's), so asking twice is one ask."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.request.types import ChoiceResult
    from workflows.seat_release.activities import SeatReleaseActivities
    from workflows.seat_release.types import (
        ANSWER_KEEP,
        ANSWER_RELEASE,
        ANSWER_TIMEOUT,
        SEAT_RELEASE_NOT_ALLOWED,
        SEAT_RELEASE_REJECTED,
        SeatReleaseAnswer,
        SeatReleaseAsk,
        SeatReleaseInput,
        SeatReleaseResult,
        SeatReleaseSettlement,
    )

_TIMEOUT = timedelta(seconds=30)
_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), non_retryable_error_types=[SEAT_RELEASE_REJECTED])


@workflow.defn
class SeatReleaseWorkflow:
    def __init__(self) -> None:
        self._holder_slack_id: str | None = None
        self._answer: str | None = None

    @workflow.run
    async def run(self, ask: SeatReleaseInput) -> SeatReleaseResult:
        asked: SeatReleaseAsk = await workflow.execute_activity_method(
            SeatReleaseActivities.find_seat_holder, ask, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        # Open for the answer before the DM goes out: the holder may click as soon as it arrives.
        self._holder_slack_id = asked.holder_slack_id
        await workflow.execute_activity_method(
            SeatReleaseActivities.ask_seat_holder, asked, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        wait = max(datetime.fromisoformat(asked.answer_by) - workflow.now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(lambda: self._answer is not None, timeout=wait)
        except TimeoutError:
            self._answer = ANSWER_TIMEOUT
        answer = self._answer
        assert answer is not None
        freed: bool = await workflow.execute_activity_method(
            SeatReleaseActivities.settle_seat_release,
            SeatReleaseSettlement(asked, answer, workflow.now().isoformat()),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        return SeatReleaseResult(ask.seat_id, answer, freed)

    # An Update, like reuse first's `answer_reclaim`: the holder hears at once whether the click counted.
    @workflow.update
    def answer(self, answer: SeatReleaseAnswer) -> ChoiceResult:
        self._answer = ANSWER_RELEASE if answer.release else ANSWER_KEEP
        return ChoiceResult(
            True, "Seat released, thank you." if answer.release else "Kept: it stays yours.", self._answer
        )

    @answer.validator
    def _validate_answer(self, answer: SeatReleaseAnswer) -> None:
        if self._holder_slack_id is None or self._answer is not None:
            raise ApplicationError("This question is closed.", type=SEAT_RELEASE_NOT_ALLOWED)
        if answer.actor_slack_id != self._holder_slack_id:
            raise ApplicationError("Only the person holding the seat can answer.", type=SEAT_RELEASE_NOT_ALLOWED)

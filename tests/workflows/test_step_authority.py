"""The one rule of who may decide a step (`workflows.request.step_authority`): the error type
the workflow's validator raises with it, and the cases only the workflow's view reaches."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.request.step_authority import decision_refusal
from workflows.request.types import DECISION_INVALID, DECISION_NOT_ALLOWED, RequestState, StepState

CHAIN = [
    StepState(1, 1, "manager", "U0MGR", "approved", decided_by_slack_id="U0MGR"),
    StepState(2, 2, "finance", "U0FIN", "pending"),
]


def _state(status: str = "pending_approval", steps: list[StepState] | None = CHAIN, **more: Any) -> RequestState:
    return RequestState(request_id="REQ-1", status=status, requester_slack_id="U0EMP", steps=steps, **more)


@pytest.mark.parametrize(
    ("state", "user", "seq", "message", "error_type"),
    [
        (_state(), "U0EMP", 2, "You can't decide your own request.", DECISION_NOT_ALLOWED),
        (_state(), "U0MGR", 2, "Only <@U0FIN> can decide this step.", DECISION_NOT_ALLOWED),
        # an old button (no step) from someone who decided before hears what they decided
        (_state(), "U0MGR", None, "This step was already approved by <@U0MGR>.", DECISION_INVALID),
        (_state(), "U0MGR", 1, "This step was already approved by <@U0MGR>.", DECISION_INVALID),
        (_state(), "U0FIN", 7, "That approval step is no longer part of this request", DECISION_NOT_ALLOWED),
        (_state("awaiting_choice", None), "U0MGR", None, "not waiting for an approval yet", DECISION_INVALID),
        (_state("submitted", None), "U0MGR", None, "still being checked", DECISION_INVALID),
        (_state(steps=[]), "U0MGR", None, "still being checked", DECISION_INVALID),
        (_state("denied", decided_by_slack_id="U0FIN"), "U0FIN", 2, "already denied by <@U0FIN>.", DECISION_INVALID),
        (_state(steps=None, approver_slack_id="U0MGR"), "U0FIN", None, "Only <@U0MGR> can", DECISION_NOT_ALLOWED),
        (_state(steps=[StepState(2, 2, "finance", "U0<FIN>", "pending")]), "U0X", 2, "Only someone else", None),
    ],
)
def test_who_may_decide(state: RequestState, user: str, seq: int | None, message: str, error_type: str | None) -> None:
    refusal = decision_refusal(state, user, seq)
    assert refusal is not None and message in refusal.message
    assert error_type is None or refusal.error_type == error_type


def test_the_approver_and_the_delegate_may_decide_the_open_step() -> None:
    steps = [StepState(2, 2, "finance", "U0FIN", "pending", delegate_slack_id="U0DEP")]
    for user in ("U0FIN", "U0DEP"):
        assert decision_refusal(_state(steps=steps), user, 2) is None
        assert decision_refusal(_state(steps=steps), user, None) is None

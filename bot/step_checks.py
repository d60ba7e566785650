"""The early answer to a click that would open a modal (Deny, Request changes, Delegate): from
the workflow's state, refuse before the person types a reason for nothing. The workflow's
update validators have the last word; this only spares people a useless form."""

from __future__ import annotations

from workflows.request.types import RequestState, StepState

PENDING = "pending"


def _mention(slack_id: str | None) -> str:
    return f"<@{slack_id}>" if slack_id and slack_id.isalnum() else "someone else"


def _who_may_decide(step: StepState) -> str:
    if step.delegate_slack_id:
        return f"{_mention(step.approver_slack_id)} (or their delegate {_mention(step.delegate_slack_id)})"
    return _mention(step.approver_slack_id)


def _open_steps(steps: list[StepState]) -> list[StepState]:
    """Pending steps of the earliest stage that still waits: the ones that can be decided now."""
    pending = [s for s in steps if s.status == PENDING]
    first = min((s.stage for s in pending), default=None)
    return [s for s in pending if s.stage == first]


def step_refusal(state: RequestState, user_id: str, seq: int | None) -> str | None:
    """Why `user_id` may not act on step `seq` (None: any open step of theirs), or None."""
    if state.requester_slack_id == user_id:
        return "You can't decide your own request."
    if state.status == "changes_requested":
        return "This request is back with the requester for changes; you'll be asked again once it is edited."
    if state.status != "pending_approval":
        who = f" by {_mention(state.decided_by_slack_id)}" if state.decided_by_slack_id else ""
        return f"This request was already {state.status.replace('_', ' ')}{who}."
    if not state.steps:  # a request from before the approval chain: one approver
        if state.approver_slack_id and state.approver_slack_id != user_id:
            return f"Only {_mention(state.approver_slack_id)} can decide this request."
        return None
    open_steps = _open_steps(state.steps)
    if seq is None:
        mine = [s for s in open_steps if user_id in (s.approver_slack_id, s.delegate_slack_id)]
        if mine:
            return None
        if not open_steps:
            return "No approval step of this request is open right now."
        return f"Only {' or '.join(_who_may_decide(s) for s in open_steps)} can decide this request now."
    step = next((s for s in state.steps if s.seq == seq), None)
    if step is None:
        return "That approval step is no longer part of this request; use the latest message."
    if step.status != PENDING:
        return f"This step was already {step.status.replace('_', ' ')}."
    if user_id not in (step.approver_slack_id, step.delegate_slack_id):
        return f"Only {_who_may_decide(step)} can decide this step."
    if step not in open_steps:
        return "This step opens when the earlier approvals are done."
    return None

"""Who may decide an approval step, written once (issue 20).

The workflow's `decide` validator refuses a click with it (the last word, before the click
enters history), and the bot asks it first (`bot/step_checks.py`) so that nobody types a
reason into a Deny or Request-changes form for nothing. Both read the same view of the
request, the workflow's `state` query (`RequestState`), so both answer the same words.

Pure: no I/O, no clock; safe inside the workflow sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.request.types import DECISION_INVALID, DECISION_NOT_ALLOWED, RequestState, StepState

PENDING = "pending"
PENDING_APPROVAL = "pending_approval"
#: Statuses in which the request is still on its way to an approver.
_NOT_YET_OPEN = ("submitted", PENDING_APPROVAL)
#: Statuses of reuse first: no approval is asked for (yet).
_REUSE_FIRST = ("awaiting_choice", "reclaiming")


@dataclass(frozen=True)
class Refusal:
    """Why a click may not decide: the words shown to the person, and the ApplicationError
    type the workflow raises (`DECISION_NOT_ALLOWED`: not theirs; `DECISION_INVALID`: not now)."""

    message: str
    error_type: str


def may_decide(actor_slack_id: str, approver_slack_id: str | None, delegate_slack_id: str | None) -> bool:
    """A step is decided by its approver or by the approver's delegate."""
    return actor_slack_id in (approver_slack_id, delegate_slack_id)


def mention(slack_id: str | None) -> str:
    # Slack ids are letters and digits; anything else (a tampered state) is never echoed as markup.
    return f"<@{slack_id}>" if slack_id and slack_id.isalnum() else "someone else"


def _who_may_decide(step: StepState) -> str:
    if step.delegate_slack_id:
        return f"{mention(step.approver_slack_id)} (or their delegate {mention(step.delegate_slack_id)})"
    return mention(step.approver_slack_id)


def _by(slack_id: str | None) -> str:
    return f" by {mention(slack_id)}" if slack_id else ""


def open_steps(steps: list[StepState]) -> list[StepState]:
    """Pending steps of the earliest stage that still waits: the ones that can be decided now."""
    pending = [s for s in steps if s.status == PENDING]
    first = min((s.stage for s in pending), default=None)
    return [s for s in pending if s.stage == first]


def decision_refusal(state: RequestState, actor_slack_id: str, seq: int | None) -> Refusal | None:
    """Why `actor_slack_id` may not decide step `seq` of the request (None: any open step of
    theirs) now, or None when they may."""
    if actor_slack_id == state.requester_slack_id:
        return Refusal("You can't decide your own request.", DECISION_NOT_ALLOWED)
    if state.status in _REUSE_FIRST:
        return Refusal("This request is not waiting for an approval yet.", DECISION_INVALID)
    if state.status == "changes_requested":
        return Refusal(
            "This request is back with the requester for changes; you'll be asked again once it is edited.",
            DECISION_INVALID,
        )
    if state.steps is None:
        return _single_approver_refusal(state, actor_slack_id)
    if state.status != PENDING_APPROVAL or not state.steps:
        return _not_waiting(state)
    asked = next((s for s in state.steps if s.seq == seq), None) if seq is not None else None
    if seq is not None and asked is None:
        return Refusal(
            "That approval step is no longer part of this request; use the latest message.", DECISION_NOT_ALLOWED
        )
    if asked is not None and asked.status != PENDING:
        return Refusal(
            f"This step was already {asked.status.replace('_', ' ')}{_by(asked.decided_by_slack_id)}.",
            DECISION_INVALID,
        )
    now = open_steps(state.steps)
    if asked is None:
        if any(may_decide(actor_slack_id, s.approver_slack_id, s.delegate_slack_id) for s in now):
            return None
        # A click without a step (an old button) is answered with what this person decided.
        theirs = [
            s
            for s in state.steps
            if s.status != PENDING
            and s.decided_by_slack_id
            and may_decide(actor_slack_id, s.approver_slack_id, s.delegate_slack_id)
        ]
        if theirs:
            done = theirs[-1]
            return Refusal(
                f"This step was already {done.status.replace('_', ' ')}{_by(done.decided_by_slack_id)}.",
                DECISION_INVALID,
            )
        if not now:
            return Refusal("No approval step of this request is open right now.", DECISION_NOT_ALLOWED)
        who = " or ".join(_who_may_decide(s) for s in now)
        return Refusal(f"Only {who} can decide this request now.", DECISION_NOT_ALLOWED)
    # A click on a step names it: an open step of someone else's is theirs to decide, whatever
    # the clicker decided before.
    if not may_decide(actor_slack_id, asked.approver_slack_id, asked.delegate_slack_id):
        return Refusal(f"Only {_who_may_decide(asked)} can decide this step.", DECISION_NOT_ALLOWED)
    if asked not in now:
        return Refusal("This step opens when the earlier approvals are done.", DECISION_INVALID)
    return None


def _not_waiting(state: RequestState) -> Refusal:
    if state.status in _NOT_YET_OPEN:
        return Refusal("This request is still being checked; try again in a moment.", DECISION_INVALID)
    return Refusal(
        f"This request was already {state.status.replace('_', ' ')}{_by(state.decided_by_slack_id)}.",
        DECISION_INVALID,
    )


def _single_approver_refusal(state: RequestState, actor_slack_id: str) -> Refusal | None:
    """A request without a planned route: one started before the approval chain (its manager
    is the one approver), or one whose route is still being planned."""
    if state.status == "submitted" or state.approver_slack_id is None:
        return Refusal("This request is still being checked; try again in a moment.", DECISION_INVALID)
    if state.status != PENDING_APPROVAL:
        return _not_waiting(state)
    if actor_slack_id != state.approver_slack_id:
        return Refusal(f"Only {mention(state.approver_slack_id)} can decide this request.", DECISION_NOT_ALLOWED)
    return None

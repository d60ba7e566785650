"""The early answer to a click that would open a modal (Deny, Request changes, Delegate): from
the workflow's state, refuse before the person types a reason for nothing. The rule is the one
the workflow's `decide` validator applies (`workflows.request.step_authority`), which has the
last word; this only spares people a useless form."""

from __future__ import annotations

from workflows.request.step_authority import decision_refusal
from workflows.request.types import RequestState


def step_refusal(state: RequestState, user_id: str, seq: int | None) -> str | None:
    """Why `user_id` may not act on step `seq` (None: any open step of theirs), or None."""
    refusal = decision_refusal(state, user_id, seq)
    return refusal.message if refusal is not None else None

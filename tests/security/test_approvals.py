"""Authorisation of decisions is checked on the server against the assigned step: a click by
anyone but the assigned approver, by the requester, on a closed step or with a tampered
button value is refused privately, audited, and changes nothing."""

from __future__ import annotations

from typing import Any

from bot import ids
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, ENGINEER, FINANCE, MANAGER, VP, Stack


async def _refused(stack: Stack, user: str, before: int, expect: str) -> str:
    """Wait for a new ephemeral answer to `user` and its audit row; return the answer."""

    async def answered() -> bool:
        return len(await stack.ephemerals_to(user)) > before

    await eventually(answered, 20, f"the refusal to {user}")
    answer = (await stack.ephemerals_to(user))[-1]
    assert expect in answer, answer
    return answer


async def _status(stack: Stack, request_id: str) -> str | None:
    handle = stack.temporal.get_workflow_handle(f"request-{request_id}")
    state: Any = await handle.query("state")
    return str(state["status"] if isinstance(state, dict) else state.status)


async def test_wrong_people_and_closed_steps_are_refused_audited_and_change_nothing(stack: Stack) -> None:
    request_id, message = await stack.pending_approval("zoom")
    other_id, _ = await stack.pending_approval("docusign", requester=FINANCE, approver=VP)

    cases = [
        (ENGINEER, ids.APPROVE, request_id, "Only <@U0MANAGER>"),
        (EMPLOYEE, ids.APPROVE, request_id, "own request"),
        (ENGINEER, ids.DENY, request_id, "Only <@U0MANAGER>"),
        (EMPLOYEE, ids.DENY, request_id, "own request"),
        # The manager edits his button's value to decide someone else's request.
        (MANAGER, ids.APPROVE, other_id, "Only <@U0VP>"),
        (MANAGER, ids.DENY, other_id, "Only <@U0VP>"),
        # Values no button of ours ever carries.
        (MANAGER, ids.APPROVE, "REQ-NOTHING", "no request"),
        (MANAGER, ids.APPROVE, "x" * 10_000, "no request"),
        (MANAGER, ids.APPROVE, "💥 ‮<!channel> & *bold*", ""),
    ]
    for user, action_id, value, expect in cases:
        before = len(await stack.ephemerals_to(user))
        audited = len(stack.refusals(user))
        response = await stack.click(user, message, action_id, value)
        assert response.status_code == 200 and response.text == ""  # acked at once, answered privately
        await _refused(stack, user, before, expect)
        await eventually(lambda u=user, n=audited: len(stack.refusals(u)) > n, 20, f"the audit of {user}'s refusal")
        assert not await stack.calls("views.open") or all(
            c["args"].get("view", {}).get("callback_id") != ids.DENY_MODAL for c in await stack.calls("views.open")
        ), "no deny-reason modal for someone who may not decide"

    refusal = stack.refusals(MANAGER)[-1]
    assert refusal.entity == "decision" and len(refusal.request_id or "") <= 32
    assert {r.detail["attempted"] for r in stack.refusals(ENGINEER)} == {"approve", "deny"}
    assert await _status(stack, request_id) == "pending_approval"
    assert await _status(stack, other_id) == "pending_approval"
    assert stack.audit_actions(request_id).count("decision_refused") == 4
    assert stack.assets(request_id) == 0 and stack.assets(other_id) == 0

    # The approver decides; a click after that is on a closed step.
    assert (await stack.click(MANAGER, message, ids.APPROVE, request_id)).status_code == 200
    await eventually(lambda: "asset_created" in stack.audit_actions(request_id), 30, "the approval")
    before, audited = len(await stack.ephemerals_to(MANAGER)), len(stack.refusals(MANAGER))
    await stack.click(MANAGER, message, ids.APPROVE, request_id)
    await _refused(stack, MANAGER, before, "already approved by <@U0MANAGER>")
    await eventually(lambda: len(stack.refusals(MANAGER)) > audited, 20, "the audit of the late click")
    before = len(await stack.ephemerals_to(MANAGER))
    await stack.click(MANAGER, message, ids.DENY, request_id)
    await _refused(stack, MANAGER, before, "already approved")
    actions = stack.audit_actions(request_id)
    assert actions.count("approved") == 1 and actions.count("asset_created") == 1
    assert stack.assets(request_id) == 1
    texts = [c["args"].get("text") or "" for c in await stack.calls()]
    assert not [t for t in texts if "<!channel>" in t], "a tampered button value was echoed as a mass mention"

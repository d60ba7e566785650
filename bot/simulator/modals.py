"""Submitting and closing modals, and doing what Slack does with the app's answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.simulator import payloads
from bot.simulator.config import SimUser
from bot.simulator.delivery import Delivery
from bot.simulator.runtime import BadControlRequest, Simulator
from bot.simulator.state import SlackApiFailure, StoredView
from bot.simulator.webapi import checked_view

Deliver = Callable[[str, payloads.WireBody], Awaitable[Delivery]]

TROUBLE = "We had some trouble connecting. Try again?"  # what Slack shows in the modal
REQUIRED = "Please complete this required field."


def _has_value(state: dict[str, Any]) -> bool:
    return any(state.get(k) not in (None, "", []) for k in state if k != "type")


def _number_error(element: dict[str, Any], raw: Any) -> str | None:
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        return "Please enter a number."
    if not element.get("is_decimal_allowed") and number != number.to_integral_value():
        return "Please enter a whole number."
    low, high = element.get("min_value"), element.get("max_value")
    if low is not None and number < Decimal(str(low)):
        return f"Please enter a number that is {low} or more."
    if high is not None and number > Decimal(str(high)):
        return f"Please enter a number that is {high} or less."
    return None


def client_side_errors(view: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """What Slack's client refuses before the app ever sees a submission."""
    errors: dict[str, str] = {}
    for block in view.get("blocks", []):
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id = str(block.get("block_id"))
        state = (values.get(block_id) or {}).get(element.get("action_id"))
        if not isinstance(state, dict) or not _has_value(state):
            if not block.get("optional"):
                errors[block_id] = REQUIRED
            continue
        value = state.get("value")
        if element.get("type") == "number_input":
            if (problem := _number_error(element, value)) is not None:
                errors[block_id] = problem
        elif element.get("type") == "plain_text_input" and isinstance(value, str):
            if element.get("min_length") and len(value) < int(element["min_length"]):
                errors[block_id] = f"Please enter at least {element['min_length']} characters."
            elif element.get("max_length") and len(value) > int(element["max_length"]):
                errors[block_id] = f"Please enter no more than {element['max_length']} characters."
    return errors


def _answer(delivery: Delivery | None, outcome: str, stored: StoredView) -> dict[str, Any]:
    return {
        "status": delivery.status if delivery else None,
        "body": delivery.body if delivery else "",
        "error": delivery.error if delivery else None,
        "outcome": outcome,
        "errors": dict(stored.errors),
        "notice": stored.notice,
    }


async def submit_view(
    sim: Simulator, user: SimUser, stored: StoredView, values: dict[str, Any], *, deliver: Deliver
) -> dict[str, Any]:
    workspace = sim.workspace
    stack = workspace.modal_stacks.get(user.id, [])
    if stored.kind != "modal" or not stack or stack[-1] != stored.id:
        raise BadControlRequest("only the modal on top of the stack can be submitted", 409)
    stored.errors = client_side_errors(stored.app_view, values)
    stored.state_values, stored.notice = dict(values), None
    workspace.touch()
    if stored.errors:
        return _answer(None, "client_errors", stored)
    payload = payloads.view_submission(
        sim.config, user=user, view=workspace.slack_view(stored), trigger_id=workspace.issue_trigger(user.id)
    )
    delivery = await deliver(
        f"view_submission {stored.app_view.get('callback_id', '')}", payloads.encode_interactivity(payload)
    )
    return _answer(delivery, _apply_submission_answer(sim, user, stored, delivery), stored)


def _trouble(sim: Simulator, stored: StoredView, error: str, details: list[str]) -> str:
    sim.workspace.record_problem(f"view_submission {stored.app_view.get('callback_id', '')}", error, details)
    stored.notice = TROUBLE
    return "error"


def _apply_submission_answer(sim: Simulator, user: SimUser, stored: StoredView, delivery: Delivery) -> str:
    workspace = sim.workspace
    if not delivery.acked:
        return _trouble(
            sim,
            stored,
            delivery.error or f"http_{delivery.status}",
            [
                f"the app answered {delivery.status}: {delivery.body[:300]}"
                if delivery.status
                else f"no answer within {sim.config.ack_timeout:g} s ({delivery.error})"
            ],
        )
    body = delivery.body.strip()
    if not body:
        workspace.pop_modal(user.id)  # a pushed view returns to the one below it
        return "closed"
    try:
        reply = json.loads(body)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        return _trouble(sim, stored, "invalid_response", [f"ack body is not a JSON object: {body[:200]}"])
    action = reply.get("response_action")
    if action is None:
        workspace.pop_modal(user.id)
        return "closed"
    if action == "clear":
        workspace.close_modals(user.id)
        return "cleared"
    if action == "errors":
        errors = reply.get("errors")
        inputs = {
            b.get("block_id")
            for b in stored.app_view.get("blocks", [])
            if isinstance(b, dict) and b.get("type") == "input"
        }
        if not isinstance(errors, dict) or not errors:
            return _trouble(sim, stored, "invalid_response", ["response_action=errors needs a non-empty `errors`"])
        unknown = sorted(str(k) for k in errors if k not in inputs)
        if unknown:
            return _trouble(
                sim,
                stored,
                "invalid_response",
                [f"errors name block_ids that are not input blocks of this view: {', '.join(unknown)}"],
            )
        stored.errors = {str(k): str(v) for k, v in errors.items()}
        workspace.touch()
        return "errors"
    if action in ("update", "push"):
        try:
            view = checked_view(sim, f"view_submission ack ({action})", reply.get("view"), kind="modal")
            if action == "update":
                workspace.update_view(stored, view)
            else:
                workspace.open_modal(user.id, view, push=True)
        except SlackApiFailure as failure:
            return _trouble(sim, stored, failure.code, list(failure.extra.get("errors", [])))
        return "updated" if action == "update" else "pushed"
    return _trouble(sim, stored, "invalid_response", [f"unknown response_action {action!r}"])


async def close_view(sim: Simulator, user: SimUser, stored: StoredView, *, deliver: Deliver) -> dict[str, Any]:
    """The user closes the modal (X or Cancel). `view_closed` goes out only if the app asked for it."""
    workspace = sim.workspace
    stack = workspace.modal_stacks.get(user.id, [])
    if stored.kind != "modal" or not stack or stack[-1] != stored.id:
        raise BadControlRequest("only the modal on top of the stack can be closed", 409)
    if stored.app_view.get("clear_on_close"):
        workspace.close_modals(user.id)
    else:
        workspace.pop_modal(user.id)
    if not stored.app_view.get("notify_on_close"):
        return _answer(None, "closed", stored)
    payload = payloads.view_closed(sim.config, user=user, view=workspace.slack_view(stored))
    delivery = await deliver(
        f"view_closed {stored.app_view.get('callback_id', '')}", payloads.encode_interactivity(payload)
    )
    return _answer(delivery, "closed", stored)

"""What a person does in the simulated workspace, turned into signed requests to the app.

Each endpoint builds the payload Slack would send, posts it to the app's Request URL and
then does what Slack does with the app's answer (show an ack body, keep a modal open with
errors, ...). Every endpoint answers `{"status": <app HTTP status>, "body": <app body>}`
plus details, so tests and the page can see what happened.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.simulator import payloads
from bot.simulator.config import SimUser
from bot.simulator.delivery import Delivery
from bot.simulator.modals import close_view, submit_view
from bot.simulator.runtime import BadControlRequest, Simulator, simulator
from bot.simulator.state import Conversation, Message, ResponseTarget, SlackApiFailure, StoredView
from bot.simulator.webapi import add_app_message, checked_message_content

SLACKBOT = "USLACKBOT"
FIELDS_OF_SELECTION = {key for keys in payloads.SELECTION_KEYS.values() for key in keys}


async def control_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise BadControlRequest("body must be a JSON object") from exc
    if not isinstance(data, dict):
        raise BadControlRequest("body must be a JSON object")
    return data


def acting_user(sim: Simulator, data: dict[str, Any]) -> SimUser:
    user = sim.workspace.user(data.get("user"))
    if user is None:
        raise BadControlRequest(f"unknown user {data.get('user')!r}", 404)
    return user


def delivery_answer(delivery: Delivery, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": delivery.status, "body": delivery.body, "error": delivery.error, **extra})


async def deliver(sim: Simulator, kind: str, wire: payloads.WireBody, data: dict[str, Any]) -> Delivery:
    retry_num = data.get("retry_num")
    delivery = await sim.delivery.send(
        wire,
        retry_num=int(retry_num) if retry_num else None,
        retry_reason=str(data.get("retry_reason") or "http_timeout"),
    )
    sim.workspace.record_delivery(
        {
            "kind": kind,
            "status": delivery.status,
            "error": delivery.error,
            "elapsed_ms": round(delivery.elapsed * 1000),
            "at": time.time(),
        }
    )
    return delivery


def conversation_for(sim: Simulator, user: SimUser, ref: str | None) -> Conversation:
    """The conversation a person types in: their DM with the app unless a channel is named."""
    if not ref:
        return sim.workspace.dm_with(user.id)
    try:
        conversation = sim.workspace.resolve_conversation(ref, users_mean_dm=False, create=True)
    except SlackApiFailure as exc:
        raise BadControlRequest(f"unknown channel {ref!r}", 404) from exc
    if conversation.kind == "im" and conversation.user_id != user.id:
        raise BadControlRequest("that DM belongs to someone else", 403)
    return conversation


def show_app_text(
    sim: Simulator, conversation: Conversation, user: SimUser, body: dict[str, Any], *, source: str
) -> None:
    """A message the app sent back through an ack body or a response_url."""
    visible_to = None if body.get("response_type") == "in_channel" else user.id
    try:
        add_app_message(sim, conversation, source, body, visible_to=visible_to)
    except SlackApiFailure as failure:
        post_from_slackbot(sim, conversation, user, f"The app's reply could not be shown: {failure.code}")


def post_from_slackbot(sim: Simulator, conversation: Conversation, user: SimUser, text: str) -> None:
    sim.workspace.add_message(
        conversation,
        Message(sim.workspace.next_ts(), conversation.id, SLACKBOT, text, is_bot=True, visible_to=user.id),
    )


def parse_ack_body(delivery: Delivery) -> dict[str, Any] | None:
    """The message in a slash command's ack body: JSON, or plain text, or nothing."""
    body = delivery.body.strip()
    if not body:
        return None
    if "json" in delivery.content_type or body.startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"text": body}
        return parsed if isinstance(parsed, dict) else {"text": body}
    return {"text": body}


# ---------------------------------------------------------------- endpoints


async def command(request: Request) -> Response:
    sim = simulator(request)
    data = await control_body(request)
    user = acting_user(sim, data)
    typed = str(data.get("text") or "").strip()
    if not typed.startswith("/"):
        raise BadControlRequest("a slash command starts with '/'")
    name, _, text = typed.partition(" ")
    conversation = conversation_for(sim, user, data.get("channel"))
    target = ResponseTarget(conversation.id, user.id)
    fields = payloads.slash_command(
        sim.config,
        user=user,
        command=name,
        text=text.strip(),
        channel_id=conversation.id,
        channel_name=conversation.name,
        trigger_id=sim.workspace.issue_trigger(user.id),
        response_url=sim.workspace.issue_response_url(str(request.base_url), target),
    )
    delivery = await deliver(sim, f"slash command {name}", payloads.encode_form(fields), data)
    if not delivery.acked:
        reason = delivery.error.split(":")[0] if delivery.error else f"http_{delivery.status}"
        post_from_slackbot(sim, conversation, user, f'{name} failed with the error "{reason}"')
    elif (reply := parse_ack_body(delivery)) is not None:
        if reply.get("response_type") == "in_channel":  # Slack shows the command with a public reply
            sim.workspace.add_message(conversation, Message(sim.workspace.next_ts(), conversation.id, user.id, typed))
        show_app_text(sim, conversation, user, reply, source=f"{name} ack")
    return delivery_answer(delivery)


_MENTION = re.compile(r"@(\w[\w.-]*)")


async def message(request: Request) -> Response:
    sim = simulator(request)
    data = await control_body(request)
    user = acting_user(sim, data)
    text = str(data.get("text") or "")
    if not text.strip():
        raise BadControlRequest("empty message")
    conversation = conversation_for(sim, user, data.get("channel"))
    workspace = sim.workspace
    event_id = str(data.get("event_id") or workspace.new_event_id())
    resent = workspace.sent_events.get(event_id) if data.get("retry_num") else None
    if resent is not None:  # a retry carries the very same body and event_id
        return delivery_answer(await deliver(sim, "event retry", resent, data), event_id=event_id)
    bot_handle = sim.config.bot_name.lower()

    def to_mention(match: re.Match[str]) -> str:
        return f"<@{sim.config.bot_user_id}>" if match.group(1).lower() == bot_handle else match.group(0)

    text = _MENTION.sub(to_mention, text)
    ts = workspace.next_ts()
    workspace.add_message(conversation, Message(ts, conversation.id, user.id, text))
    if conversation.kind == "im":
        event = payloads.message_im_event(user_id=user.id, channel_id=conversation.id, text=text, ts=ts)
    elif f"<@{sim.config.bot_user_id}>" in text:
        event = payloads.app_mention_event(
            sim.config,
            user_id=user.id,
            channel_id=conversation.id,
            text=text,
            ts=ts,
            client_msg_id=str(uuid.uuid4()),
        )
    else:  # the app is not subscribed to channel messages
        return JSONResponse({"status": None, "body": "", "error": None, "event_id": None})
    envelope = payloads.event_callback(sim.config, event=event, event_id=event_id, event_time=int(time.time()))
    wire = payloads.encode_event(envelope)
    workspace.sent_events[event_id] = wire
    return delivery_answer(await deliver(sim, f"event {event['type']}", wire, data), event_id=event_id)


async def home(request: Request) -> Response:
    sim = simulator(request)
    data = await control_body(request)
    user = acting_user(sim, data)
    workspace = sim.workspace
    event_id = str(data.get("event_id") or workspace.new_event_id())
    wire = workspace.sent_events.get(event_id) if data.get("retry_num") else None
    if wire is None:
        home_id = workspace.home_views.get(user.id)
        event = payloads.app_home_opened_event(
            user_id=user.id,
            channel_id=workspace.dm_with(user.id).id,
            event_ts=workspace.next_ts(),
            view=workspace.slack_view(workspace.views[home_id]) if home_id else None,
        )
        envelope = payloads.event_callback(sim.config, event=event, event_id=event_id, event_time=int(time.time()))
        wire = payloads.encode_event(envelope)
        workspace.sent_events[event_id] = wire
    return delivery_answer(await deliver(sim, "event app_home_opened", wire, data), event_id=event_id)


def find_element(blocks: list[Any], action_id: str, block_id: str | None) -> tuple[str, dict[str, Any]]:
    for block in blocks:
        if not isinstance(block, dict) or (block_id and block.get("block_id") != block_id):
            continue
        candidates = [block.get("accessory"), block.get("element")]
        if block.get("type") == "actions":
            candidates += block.get("elements") or []
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    raise BadControlRequest(
        f"no element with action_id {action_id!r}" + (f" in block {block_id!r}" if block_id else ""), 404
    )


def clicked_element(message: Message, action_id: str, block_id: str | None) -> tuple[str, dict[str, Any]]:
    """The element a click names, in the message as it is or, failing that, as the person last
    saw it: the page may still show a version the app has since replaced (a second click on
    Approve, a button a refresh removed). Slack delivers such a click to the app, which answers
    it ("already approved", "no longer waiting for your choice"); so does the simulator."""
    versions = [message.blocks, *(v.get("blocks") or [] for v in reversed(message.history))]
    for blocks in versions:
        try:
            return find_element(blocks, action_id, block_id)
        except BadControlRequest:
            continue
    return find_element(message.blocks, action_id, block_id)  # raises: in no version at all


def _selection(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in FIELDS_OF_SELECTION}


async def _deliver_block_actions(
    sim: Simulator, element: dict[str, Any], payload: dict[str, Any], data: dict[str, Any]
) -> Response:
    """Send a `block_actions` payload for a click on `element` and answer the page with the outcome."""
    delivery = await deliver(
        sim, f"block_actions {element.get('action_id')}", payloads.encode_interactivity(payload), data
    )
    return delivery_answer(delivery)


async def action(request: Request) -> Response:
    """A click or selection on an element of a message."""
    sim = simulator(request)
    data = await control_body(request)
    user = acting_user(sim, data)
    conversation = conversation_for(sim, user, data.get("channel"))
    workspace = sim.workspace
    clicked = workspace.find_message(conversation, str(data.get("message_ts") or ""))
    if clicked is None or clicked.visible_to not in (None, user.id):
        raise BadControlRequest("no such message for this user", 404)
    block_id, element = clicked_element(clicked, str(data.get("action_id") or ""), data.get("block_id"))
    target = ResponseTarget(conversation.id, user.id, clicked.ts)
    payload = payloads.message_block_actions(
        sim.config,
        user=user,
        channel_id=conversation.id,
        channel_name=conversation.name,
        message_ts=clicked.ts,
        message=None if clicked.visible_to else workspace.slack_message(clicked),
        action=payloads.block_action(
            element, block_id=block_id, action_ts=workspace.next_ts(), selection=_selection(data)
        ),
        state_values=data.get("values") or {},
        trigger_id=workspace.issue_trigger(user.id),
        response_url=workspace.issue_response_url(str(request.base_url), target),
    )
    return await _deliver_block_actions(sim, element, payload, data)


def users_view(sim: Simulator, user: SimUser, view_id: Any) -> StoredView:
    stored = sim.workspace.views.get(str(view_id or ""))
    if stored is None or stored.user_id != user.id or not stored.is_open:
        raise BadControlRequest(f"no open view {view_id!r} for this user", 404)
    return stored


async def _view_request(request: Request) -> tuple[Simulator, dict[str, Any], SimUser, StoredView]:
    """The simulator, control body, acting user and their open view named by `view_id`."""
    sim = simulator(request)
    data = await control_body(request)
    user = acting_user(sim, data)
    return sim, data, user, users_view(sim, user, data.get("view_id"))


async def view_action(request: Request) -> Response:
    """A click or selection inside a modal or the Home tab."""
    sim, data, user, stored = await _view_request(request)
    block_id, element = find_element(
        stored.app_view.get("blocks", []), str(data.get("action_id") or ""), data.get("block_id")
    )
    if isinstance(data.get("values"), dict):
        stored.state_values = dict(data["values"])
    selection = _selection(data)
    if element.get("type") != "button" and selection:  # the choice becomes part of the view's state
        stored.state_values.setdefault(block_id, {})[str(element.get("action_id"))] = {
            "type": element.get("type"),
            **selection,
        }
    payload = payloads.view_block_actions(
        sim.config,
        user=user,
        view=sim.workspace.slack_view(stored),
        action=payloads.block_action(
            element, block_id=block_id, action_ts=sim.workspace.next_ts(), selection=selection
        ),
        trigger_id=sim.workspace.issue_trigger(user.id),
    )
    return await _deliver_block_actions(sim, element, payload, data)


async def submit(request: Request) -> Response:
    sim, data, user, stored = await _view_request(request)
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise BadControlRequest("values must be an object {block_id: {action_id: state}}")
    outcome = await submit_view(sim, user, stored, values, deliver=lambda kind, wire: deliver(sim, kind, wire, data))
    return JSONResponse(outcome)


async def close(request: Request) -> Response:
    sim, data, user, stored = await _view_request(request)
    outcome = await close_view(sim, user, stored, deliver=lambda kind, wire: deliver(sim, kind, wire, data))
    return JSONResponse(outcome)


async def response_url(request: Request) -> Response:
    """POSTs to a `response_url` (Bolt's `respond()`): reply, replace or delete."""
    sim = simulator(request)
    workspace = sim.workspace
    target = workspace.response_targets.get(request.path_params["token"])
    if target is None:
        return PlainTextResponse("no_service", status_code=404)
    try:
        body = await control_body(request)
    except BadControlRequest:
        return PlainTextResponse("invalid_payload", status_code=400)
    conversation = workspace.conversations[target.channel_id]
    user = workspace.user(target.user_id)
    original = workspace.find_message(conversation, target.message_ts) if target.message_ts else None
    entry = {
        "method": "response_url",
        "args": body,
        "ok": True,
        "error": None,
        "status": 200,
        "t": sim.clock(),
    }
    workspace.record_call(entry)
    try:
        if body.get("delete_original") and original is not None:
            workspace.delete_message(conversation, original)
        elif body.get("replace_original") and original is not None:
            text, blocks, attachments = checked_message_content(sim, "response_url", body)
            workspace.replace_message(original, text=text, blocks=blocks, attachments=attachments)
        elif user is not None:
            visible_to = None if body.get("response_type") == "in_channel" else user.id
            add_app_message(
                sim, conversation, "response_url", body, visible_to=visible_to, thread_ts=body.get("thread_ts")
            )
    except SlackApiFailure as failure:
        entry.update(ok=False, error=failure.code, status=400)
        return PlainTextResponse(failure.code, status_code=400)
    return PlainTextResponse("ok")


#: What the simulated person does, each served as `POST /sim/<its name>` (bot/simulator/app.py).
ACTS = (command, message, action, view_action, submit, close, home)

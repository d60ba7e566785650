"""Inspection and fault injection: what each person sees, the Web API call log, rate limits."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.simulator.interactions import control_body
from bot.simulator.runtime import BadControlRequest, Simulator, simulator
from bot.simulator.state import Conversation, Message, RateLimit, StoredView

RECENT = 30


def _message(sim: Simulator, message: Message) -> dict[str, Any]:
    return {
        "ts": message.ts,
        "user": message.user_id,
        "user_name": sim.workspace.display_name(message.user_id) if message.user_id != "USLACKBOT" else "Slackbot",
        "is_bot": message.is_bot,
        "text": message.text,
        "blocks": message.blocks,
        "attachments": message.attachments,
        "thread_ts": message.thread_ts,
        "ephemeral": message.visible_to is not None,
        "edited": message.edited_ts is not None,
        "history": message.history,
    }


def _conversation(sim: Simulator, conversation: Conversation, user_id: str | None) -> dict[str, Any]:
    visible = [m for m in conversation.messages if m.visible_to is None or m.visible_to == user_id]
    return {
        "id": conversation.id,
        "kind": conversation.kind,
        "name": conversation.name,
        "messages": [_message(sim, m) for m in visible],
    }


def _view(sim: Simulator, stored: StoredView) -> dict[str, Any]:
    return {**sim.workspace.slack_view(stored), "errors": stored.errors, "notice": stored.notice}


def _user(sim: Simulator, user_id: str) -> dict[str, Any]:
    user = sim.workspace.user(user_id)
    assert user is not None
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "handle": user.handle,
        "is_bot": user.is_bot,
    }


def snapshot(sim: Simulator, user_id: str | None) -> dict[str, Any]:
    """Everything one person sees, plus the workspace-wide logs the page shows."""
    workspace, config = sim.workspace, sim.config
    user = workspace.user(user_id)
    channels = [c for c in workspace.conversations.values() if c.kind == "channel"]
    home_id = workspace.home_views.get(user.id) if user else None
    return {
        "version": workspace.version,
        "workspace": {
            "team_id": config.team_id,
            "team_domain": config.team_domain,
            "bot": {"user_id": config.bot_user_id, "name": config.bot_name},
        },
        "schema": {"loaded": sim.validator.schema_loaded, "status": sim.validator.status},
        "users": [_user(sim, u.id) for u in config.users],
        "user": _user(sim, user.id) if user else None,
        "dm": _conversation(sim, workspace.dm_with(user.id), user.id) if user else None,
        "channels": [_conversation(sim, c, user.id if user else None) for c in channels],
        "modals": [_view(sim, v) for v in workspace.modal_stack(user.id)] if user else [],
        "home": _view(sim, workspace.views[home_id]) if home_id else None,
        "problems": list(workspace.problems)[-RECENT:],
        "deliveries": list(workspace.deliveries)[-RECENT:],
    }


async def state(request: Request) -> Response:
    sim = simulator(request)
    user_id = request.query_params.get("user")
    if user_id and sim.workspace.user(user_id) is None:
        raise BadControlRequest(f"unknown user {user_id!r}", 404)
    return JSONResponse(snapshot(sim, user_id))


async def users(request: Request) -> Response:
    sim = simulator(request)
    config = sim.config
    default = config.default_user_id if config.user(config.default_user_id or "") is not None else None
    return JSONResponse({"users": [_user(sim, u.id) for u in config.users], "default_user": default})


async def calls(request: Request) -> Response:
    sim = simulator(request)
    method = request.query_params.get("method")
    recorded = [c for c in sim.workspace.calls if method is None or c["method"] == method]
    return JSONResponse({"calls": recorded})


async def clear_calls(request: Request) -> Response:
    simulator(request).workspace.calls.clear()
    return JSONResponse({"ok": True})


async def rate_limit(request: Request) -> Response:
    """`{"method": "chat.postMessage", "count": 2, "retry_after": 1}`: the next `count` calls get 429."""
    sim = simulator(request)
    data = await control_body(request)
    method = data.get("method")
    if not isinstance(method, str) or not method:
        raise BadControlRequest("method is required")
    try:
        count, retry_after = int(data.get("count", 1)), int(data.get("retry_after", 1))
    except (TypeError, ValueError) as exc:
        raise BadControlRequest("count and retry_after are whole numbers") from exc
    sim.workspace.rate_limits[method] = RateLimit(count, retry_after)
    return JSONResponse({"ok": True})


async def channel(request: Request) -> Response:
    """`{"name": "itam", "bot_member": false, "archived": true}`: create a channel or change it
    (invite or remove the bot, archive or unarchive it); omitted fields stay as they are."""
    sim = simulator(request)
    data = await control_body(request)
    name = data.get("name")
    if not isinstance(name, str) or not name.lstrip("#"):
        raise BadControlRequest("name is required")
    flags = {key: data.get(key) for key in ("bot_member", "archived", "private")}
    if any(value is not None and not isinstance(value, bool) for value in flags.values()):
        raise BadControlRequest("bot_member, archived and private are true or false")
    conversation = sim.workspace.set_channel(
        name, bot_member=flags["bot_member"], archived=flags["archived"], private=flags["private"]
    )
    return JSONResponse({"ok": True, "id": conversation.id, "name": conversation.name})


async def reset(request: Request) -> Response:
    simulator(request).reset()
    return JSONResponse({"ok": True})


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})

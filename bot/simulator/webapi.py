"""The Web API (`/api/<method>`) as slack_sdk's clients call it.

Arguments arrive as query parameters, form fields or a JSON body; the token as
`Authorization: Bearer` (or a `token` argument). Answers are `{"ok": true, ...}` or
`{"ok": false, "error": ...}` with HTTP 200, except rate limiting (429 + `Retry-After`).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.simulator.config import SimUser
from bot.simulator.runtime import Simulator, simulator
from bot.simulator.state import Conversation, Message, SlackApiFailure, StoredView
from bot.simulator.validation import MAX_TEXT_CHARS

Args = dict[str, Any]
Handler = Callable[[Simulator, Args], dict[str, Any]]

# Arguments that carry JSON; in form bodies they arrive as strings.
JSON_ARGS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "view": "invalid_arguments",
}


async def read_args(request: Request) -> Args:
    args: Args = dict(request.query_params)
    raw = await request.body()
    if not raw.strip():
        return args
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise SlackApiFailure("invalid_json") from exc
        if not isinstance(body, dict):
            raise SlackApiFailure("json_not_object")
        args.update(body)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        try:
            args.update(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise SlackApiFailure("invalid_charset") from exc
    else:
        raise SlackApiFailure("invalid_form_data")
    for name, error in JSON_ARGS.items():
        if isinstance(args.get(name), str) and args[name].strip():
            try:
                args[name] = json.loads(args[name])
            except ValueError as exc:
                raise SlackApiFailure(error) from exc
    return args


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def web_api(request: Request) -> JSONResponse:
    sim = simulator(request)
    method = request.path_params["method"]
    status, headers = 200, {}
    args: Args = {}
    try:
        args = await read_args(request)
        token = _bearer(request) or args.pop("token", None)
        args.pop("token", None)
        handler = METHODS.get(method)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        if not token:
            raise SlackApiFailure("not_authed")
        if token != sim.config.bot_token:
            raise SlackApiFailure("invalid_auth")
        retry_after = sim.workspace.take_rate_limit(method)
        if retry_after is not None:
            status, headers = 429, {"Retry-After": str(retry_after)}
            raise SlackApiFailure("ratelimited")
        result = {"ok": True, **handler(sim, args)}
    except SlackApiFailure as failure:
        result = {"ok": False, "error": failure.code, **failure.extra}
    sim.workspace.record_call(
        {
            "method": method,
            "args": args,
            "ok": result["ok"],
            "error": result.get("error"),
            "status": status,
            "t": sim.clock(),
        }
    )
    return JSONResponse(result, status_code=status, headers=headers)


# ---------------------------------------------------------------- shared checks


def _flag(args: Args, name: str) -> bool:
    value = args.get(name)
    return value is True or str(value).lower() in ("true", "1")


def _require(args: Args, name: str, error: str = "invalid_arguments") -> Any:
    value = args.get(name)
    if value in (None, ""):
        raise SlackApiFailure(error, response_metadata={"messages": [f"[ERROR] missing required field: {name}"]})
    return value


def _refuse(sim: Simulator, source: str, error: str, problems: list[str]) -> SlackApiFailure:
    """Record invalid Block Kit for the page and build Slack's answer for it."""
    sim.workspace.record_problem(source, error, problems)
    return SlackApiFailure(error, errors=problems, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})


def checked_message_content(sim: Simulator, source: str, args: Args) -> tuple[str, list[Any], list[Any]]:
    """`text`, `blocks`, `attachments` of a message, refused the way chat.postMessage refuses them."""
    text = args.get("text") or ""
    blocks = args.get("blocks") or []
    attachments = args.get("attachments") or []
    if not isinstance(text, str):
        text = str(text)
    if not isinstance(blocks, list):
        raise _refuse(sim, source, "invalid_blocks_format", ["blocks: must be a JSON array"])
    if not isinstance(attachments, list):
        raise SlackApiFailure("invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackApiFailure("no_text")
    if len(text) > MAX_TEXT_CHARS:
        raise _refuse(sim, source, "msg_too_long", [f"text: longer than {MAX_TEXT_CHARS} chars (got {len(text)})"])
    if blocks:
        problems = sim.validator.message_problems(blocks)
        if problems:
            raise _refuse(sim, source, "invalid_blocks", problems)
    return text, sim.workspace.assign_ids(blocks), attachments


class AppMessageFields(TypedDict, total=False):
    """What a caller of add_app_message may set beyond the content: who alone sees the
    message (ephemeral), the thread it answers, its metadata."""

    visible_to: str | None
    thread_ts: str | None
    metadata: dict[str, Any] | None


def add_app_message(
    sim: Simulator, conversation: Conversation, source: str, args: Args, **fields: Unpack[AppMessageFields]
) -> Message:
    """Check a message's content the way `source` would and add it to `conversation` as the
    app's: chat.postMessage, chat.postEphemeral and a response_url reply all go through here."""
    text, blocks, attachments = checked_message_content(sim, source, args)
    message = Message(
        sim.workspace.next_ts(),
        conversation.id,
        sim.config.bot_user_id,
        text,
        blocks,
        attachments,
        is_bot=True,
        **fields,
    )
    sim.workspace.add_message(conversation, message)
    return message


def checked_view(sim: Simulator, source: str, view: Any, *, kind: str | None = None) -> dict[str, Any]:
    if not isinstance(view, dict):
        raise SlackApiFailure(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view must be a JSON object"]}
        )
    if kind is not None and view.get("type") != kind:
        raise _refuse(sim, source, "invalid_arguments", [f"type: expected {kind!r}, got {view.get('type')!r}"])
    problems = sim.validator.view_problems(view)
    if problems:
        raise _refuse(sim, source, "invalid_arguments", problems)
    return {**view, "blocks": sim.workspace.assign_ids(view.get("blocks", []))}


# ---------------------------------------------------------------- methods


def auth_test(sim: Simulator, args: Args) -> dict[str, Any]:
    config = sim.config
    return {
        "url": f"https://{config.team_domain}.slack.com/",
        "team": config.team_domain,
        "user": config.bot_name.lower(),
        "team_id": config.team_id,
        "user_id": config.bot_user_id,
        "bot_id": config.bot_id,
        "is_enterprise_install": False,
    }


def _check_can_post(conversation: Conversation) -> None:
    """Slack's answers for a channel the bot may not write in (the app has no
    `chat:write.public`, so even a public channel needs the bot invited)."""
    if conversation.kind != "channel":
        return
    if conversation.archived:
        raise SlackApiFailure("is_archived")
    if not conversation.bot_member:
        raise SlackApiFailure("not_in_channel")


def chat_post_message(sim: Simulator, args: Args) -> dict[str, Any]:
    conversation = sim.workspace.resolve_conversation(args.get("channel"), users_mean_dm=True)
    _check_can_post(conversation)
    message = add_app_message(
        sim,
        conversation,
        "chat.postMessage",
        args,
        thread_ts=args.get("thread_ts") or None,
        metadata=_metadata(args.get("metadata")),
    )
    return {"channel": conversation.id, "ts": message.ts, "message": sim.workspace.slack_message(message)}


def _metadata(raw: Any) -> dict[str, Any] | None:
    """Message metadata as Slack takes it: a JSON object (or its text) with a string
    `event_type` and an object `event_payload`."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackApiFailure("invalid_metadata_format") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("event_type"), str)
        or not isinstance(raw.get("event_payload"), dict)
    ):
        raise SlackApiFailure("invalid_metadata_schema")
    return {"event_type": raw["event_type"], "event_payload": raw["event_payload"]}


def conversations_history(sim: Simulator, args: Args) -> dict[str, Any]:
    """Newest first, at most `limit` (1-999, default 100); metadata only with include_all_metadata."""
    conversation = sim.workspace.resolve_conversation(
        _require(args, "channel", "channel_not_found"), users_mean_dm=False
    )
    try:
        limit = int(args.get("limit") or 100)
    except (TypeError, ValueError):
        raise SlackApiFailure("invalid_limit") from None
    limit = max(1, min(limit, 999))
    with_metadata = _flag(args, "include_all_metadata")
    visible = [m for m in conversation.messages if m.visible_to is None and m.thread_ts in (None, m.ts)]
    newest = list(reversed(visible))[:limit]
    messages = []
    for message in newest:
        shown = sim.workspace.slack_message(message)
        if with_metadata and message.metadata is not None:
            shown["metadata"] = message.metadata
        messages.append(shown)
    return {"messages": messages, "has_more": len(visible) > limit, "pin_count": 0}


def chat_update(sim: Simulator, args: Args) -> dict[str, Any]:
    workspace = sim.workspace
    conversation = workspace.resolve_conversation(args.get("channel"), users_mean_dm=False)
    message = workspace.find_message(conversation, str(_require(args, "ts", "message_not_found")))
    if message is None or message.visible_to is not None:
        raise SlackApiFailure("message_not_found")  # ephemeral messages are changed via response_url
    if not message.is_bot:
        raise SlackApiFailure("cant_update_message")
    # Slack keeps blocks / attachments / text that the update leaves out.
    merged = {"text": message.text, "blocks": message.blocks, "attachments": message.attachments}
    merged.update({k: args[k] for k in ("text", "blocks", "attachments") if k in args})
    text, blocks, attachments = checked_message_content(sim, "chat.update", merged)
    workspace.replace_message(message, text=text, blocks=blocks, attachments=attachments)
    return {
        "channel": conversation.id,
        "ts": message.ts,
        "text": message.text,
        "message": workspace.slack_message(message),
    }


def chat_post_ephemeral(sim: Simulator, args: Args) -> dict[str, Any]:
    workspace = sim.workspace
    conversation = workspace.resolve_conversation(args.get("channel"), users_mean_dm=True)
    user = workspace.user(args.get("user"))
    if user is None:
        raise SlackApiFailure("user_not_in_channel")
    if conversation.kind == "im" and conversation.user_id != user.id:
        raise SlackApiFailure("user_not_in_channel")
    message = add_app_message(
        sim, conversation, "chat.postEphemeral", args, visible_to=user.id, thread_ts=args.get("thread_ts") or None
    )
    return {"message_ts": message.ts}


def _open(sim: Simulator, args: Args, *, method: str, push: bool) -> dict[str, Any]:
    view = checked_view(sim, method, _require(args, "view"), kind="modal")
    trigger = sim.workspace.exchange_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
    stored = sim.workspace.open_modal(trigger.user_id, view, push=push)
    return {"view": sim.workspace.slack_view(stored)}


def views_open(sim: Simulator, args: Args) -> dict[str, Any]:
    return _open(sim, args, method="views.open", push=False)


def views_push(sim: Simulator, args: Args) -> dict[str, Any]:
    return _open(sim, args, method="views.push", push=True)


def _check_hash(stored: StoredView, args: Args) -> None:
    expected = args.get("hash")
    if expected and expected != stored.hash:
        raise SlackApiFailure("hash_conflict")


def views_update(sim: Simulator, args: Args) -> dict[str, Any]:
    if not args.get("view_id") and not args.get("external_id"):
        _require(args, "view_id")
    stored = sim.workspace.find_view(view_id=args.get("view_id"), external_id=args.get("external_id"))
    _check_hash(stored, args)
    view = checked_view(sim, "views.update", _require(args, "view"), kind=stored.kind)
    sim.workspace.update_view(stored, view)
    return {"view": sim.workspace.slack_view(stored)}


def views_publish(sim: Simulator, args: Args) -> dict[str, Any]:
    user = sim.workspace.user(_require(args, "user_id"))
    if user is None:
        raise SlackApiFailure("user_not_found")
    view = checked_view(sim, "views.publish", _require(args, "view"), kind="home")
    current = sim.workspace.home_views.get(user.id)
    if current is not None:
        _check_hash(sim.workspace.views[current], args)
    stored = sim.workspace.publish_home(user.id, view)
    return {"view": sim.workspace.slack_view(stored)}


def conversations_open(sim: Simulator, args: Args) -> dict[str, Any]:
    if args.get("channel"):
        conversation = sim.workspace.resolve_conversation(args["channel"], users_mean_dm=False)
        return {"channel": {"id": conversation.id}, "no_op": True, "already_open": True}
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackApiFailure("users_list_not_supplied")
    if len(users) > 1:
        raise SlackApiFailure("method_not_supported_for_channel_type")  # group DMs are not simulated
    if sim.workspace.user(users[0]) is None:
        raise SlackApiFailure("user_not_found")
    conversation = sim.workspace.dm_with(users[0])
    if _flag(args, "return_im"):
        return {"channel": {"id": conversation.id, "is_im": True, "is_open": True, "user": users[0]}}
    return {"channel": {"id": conversation.id}}


def slack_channel(sim: Simulator, conversation: Conversation) -> dict[str, Any]:
    """A channel as conversations.info and conversations.list return it (Slack's `objs_conversation`)."""
    creator = sim.config.users[0].id if sim.config.users else sim.config.bot_user_id
    blank = {"value": "", "creator": "", "last_set": 0}
    return {
        "id": conversation.id,
        "name": conversation.name,
        "name_normalized": conversation.name,
        "created": conversation.created,
        "creator": creator,
        "is_channel": not conversation.private,
        "is_group": conversation.private,
        "is_im": False,
        "is_mpim": False,
        "is_private": conversation.private,
        "is_archived": conversation.archived,
        "is_general": conversation.name == "general",
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "is_member": conversation.bot_member,
        "num_members": len(sim.config.users) + (1 if conversation.bot_member else 0),
        "previous_names": [],
        "pending_shared": [],
        "unlinked": 0,
        "parent_conversation": None,
        "topic": dict(blank),
        "purpose": dict(blank),
    }


def _visible_to_bot(conversation: Conversation) -> bool:
    """A bot sees every public channel, and a private one only once it is in it."""
    return conversation.kind == "channel" and (conversation.bot_member or not conversation.private)


def conversations_info(sim: Simulator, args: Args) -> dict[str, Any]:
    """By id only, as in Slack: a `#name` is `channel_not_found`. DMs are not described."""
    ref = str(_require(args, "channel", "channel_not_found"))
    conversation = sim.workspace.conversations.get(ref)
    if conversation is None or not _visible_to_bot(conversation):
        raise SlackApiFailure("channel_not_found")
    return {"channel": slack_channel(sim, conversation)}


def conversations_list(sim: Simulator, args: Args) -> dict[str, Any]:
    """`types` (default public_channel), `exclude_archived`, `limit` (1-1000, default 100) and
    an opaque `cursor`, as Slack pages it."""
    types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
    unknown = types - {"public_channel", "private_channel", "mpim", "im"}
    if unknown:
        raise SlackApiFailure("invalid_types")
    try:
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        offset = int(str(args.get("cursor") or "0").removeprefix("offset:"))
    except (TypeError, ValueError):
        raise SlackApiFailure("invalid_cursor") from None
    wanted = [
        c
        for c in sim.workspace.channels()
        if _visible_to_bot(c)
        and ("private_channel" if c.private else "public_channel") in types
        and not (c.archived and _flag(args, "exclude_archived"))
    ]
    page = wanted[offset : offset + limit]
    more = offset + limit < len(wanted)
    return {
        "channels": [slack_channel(sim, c) for c in page],
        "response_metadata": {"next_cursor": f"offset:{offset + limit}" if more else ""},
    }


def slack_user(sim: Simulator, user: SimUser) -> dict[str, Any]:
    """A user object as users.info returns it (the fields of Slack's `objs_user`)."""
    first, _, last = user.name.partition(" ")
    profile: dict[str, Any] = {
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": user.name,
        "real_name_normalized": user.name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "fields": {},
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "",
        "email": user.email,
        "first_name": first,
        "last_name": last,
        "team": sim.config.team_id,
    }
    return {
        "id": user.id,
        "team_id": sim.config.team_id,
        "name": user.handle,
        "deleted": False,
        "color": "9f69e7",
        "real_name": user.name,
        "tz": "UTC",
        "tz_label": "Coordinated Universal Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": int(time.time()),
        "has_2fa": False,
    }


def _bot_user(sim: Simulator) -> SimUser:
    return SimUser(sim.config.bot_user_id, sim.config.bot_name, "", is_bot=True)


def users_info(sim: Simulator, args: Args) -> dict[str, Any]:
    user_id = args.get("user")
    if user_id == sim.config.bot_user_id:
        bot = slack_user(sim, _bot_user(sim))
        bot["profile"].update(email=None, bot_id=sim.config.bot_id, api_app_id=sim.config.api_app_id)
        return {"user": bot}
    user = sim.workspace.user(user_id)
    if user is None:
        raise SlackApiFailure("user_not_found")
    return {"user": slack_user(sim, user)}


def users_lookup_by_email(sim: Simulator, args: Args) -> dict[str, Any]:
    user = sim.workspace.user_by_email(str(args.get("email") or ""))
    if user is None:
        raise SlackApiFailure("users_not_found")
    return {"user": slack_user(sim, user)}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "conversations.open": conversations_open,
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
}

"""The simulated workspace in memory: conversations, messages, views, triggers and logs.

Everything here is synchronous and runs on the server's event loop, so no locks are needed;
the HTTP layers (`webapi`, `control`) translate requests into these operations.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import string
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.simulator.config import SimulatorConfig, SimUser
from bot.simulator.payloads import WireBody, slack_view

__all__ = ["SimUser", "SimulatorConfig", "SlackApiFailure", "Workspace"]

MAX_VIEW_STACK = 3  # a modal plus two pushed views
MAX_LOG = 200
MAX_REMEMBERED = 1000  # triggers, response_urls and sent events kept for look-up
MAX_CALLS = 10_000

Clock = Callable[[], float]


def _short_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _with_action_id(element: dict[str, Any]) -> dict[str, Any]:
    if "type" in element and element.get("type") not in ("image", "plain_text", "mrkdwn"):
        return {**element, "action_id": element.get("action_id") or _short_id()}
    return element


class SlackApiFailure(Exception):
    """An `{"ok": false, "error": code, ...}` answer."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class Message:
    ts: str
    channel_id: str
    user_id: str
    text: str
    blocks: list[Any] = field(default_factory=list)
    attachments: list[Any] = field(default_factory=list)
    is_bot: bool = False
    visible_to: str | None = None  # ephemeral: only this user sees it
    thread_ts: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None  # Slack message metadata: event_type, event_payload


@dataclass
class Conversation:
    id: str
    kind: Literal["im", "channel"]
    name: str
    user_id: str | None = None  # the human in a DM with the app
    messages: list[Message] = field(default_factory=list)
    # Channels only: whether the bot was invited, archived, private; when it was created.
    bot_member: bool = True
    archived: bool = False
    private: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class StoredView:
    id: str
    user_id: str
    app_view: dict[str, Any]  # the view as the app sent it
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # response_action=errors, by block_id
    notice: str | None = None  # what Slack shows when the app's answer was unusable
    is_open: bool = True

    @property
    def kind(self) -> str:
        return str(self.app_view.get("type", "modal"))


@dataclass
class Trigger:
    id: str
    user_id: str
    issued_at: float
    exchanged: bool = False


@dataclass
class ResponseTarget:
    """Where a `response_url` posts: the conversation and, for clicks, the message clicked."""

    channel_id: str
    user_id: str
    message_ts: str | None = None


@dataclass
class RateLimit:
    remaining: int
    retry_after: int


def _forget_oldest(entries: dict[str, Any], limit: int) -> None:
    while len(entries) > limit:
        del entries[next(iter(entries))]


class _BoundedDict(dict[str, WireBody]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def __setitem__(self, key: str, value: WireBody) -> None:
        super().__setitem__(key, value)
        _forget_oldest(self, self._limit)


class Workspace:
    def __init__(self, config: SimulatorConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.version = 0  # bumped on every visible change, so the page can skip re-rendering
        self.conversations: dict[str, Conversation] = {}
        self._channels_by_name: dict[str, str] = {}
        self.views: dict[str, StoredView] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.calls: list[dict[str, Any]] = []
        self.rate_limits: dict[str, RateLimit] = {}
        self.problems: deque[dict[str, Any]] = deque(maxlen=MAX_LOG)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_LOG)
        self.sent_events = _BoundedDict(MAX_REMEMBERED)  # event_id -> body, to replay retries
        self._seq = itertools.count(1)
        self._last_ts = 0
        for channel in config.channels:
            self.set_channel(
                channel.name, bot_member=channel.bot_member, archived=channel.archived, private=channel.private
            )

    # ------------------------------------------------------------ ids

    def touch(self) -> None:
        self.version += 1

    def next_ts(self) -> str:
        """Unique, increasing message timestamps shaped like Slack's `1700000000.000100`."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        alphabet = string.ascii_uppercase + string.digits
        return prefix + "0" + "".join(secrets.choice(alphabet) for _ in range(9))

    def new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(6)[:8]}"

    def new_event_id(self) -> str:
        return "Ev" + self.new_id("")[1:]

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{next(self._seq)}.{int(time.time())}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, self.clock())
        _forget_oldest(self.triggers, MAX_REMEMBERED)
        return trigger_id

    def exchange_trigger(self, trigger_id: str | None) -> Trigger:
        """Triggers are single-use and live `trigger_ttl` seconds, as in Slack."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger.exchanged:
            raise SlackApiFailure("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > self.config.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        trigger.exchanged = True
        return trigger

    def issue_response_url(self, base_url: str, target: ResponseTarget) -> str:
        token = secrets.token_urlsafe(18)
        self.response_targets[token] = target
        _forget_oldest(self.response_targets, MAX_REMEMBERED)
        return f"{base_url.rstrip('/')}/sim/response/{self.config.team_id}/{token}"

    # ------------------------------------------------------------ people and conversations

    def user(self, user_id: str | None) -> SimUser | None:
        return self.config.user(user_id or "")

    def user_by_email(self, email: str) -> SimUser | None:
        return next((u for u in self.config.users if u.email.lower() == email.lower()), None)

    def display_name(self, user_id: str) -> str:
        if user_id == self.config.bot_user_id:
            return self.config.bot_name
        user = self.user(user_id)
        return user.name if user else user_id

    def dm_with(self, user_id: str) -> Conversation:
        """The app's DM with one person ("Messages" tab); stable id per user."""
        tail = user_id[1:]
        if len(tail) < 8:
            tail = hashlib.sha1(user_id.encode()).hexdigest()[:10].upper()  # noqa: S324 - an id, not security
        channel_id = "D" + tail
        if channel_id not in self.conversations:
            self.conversations[channel_id] = Conversation(channel_id, "im", "directmessage", user_id=user_id)
        return self.conversations[channel_id]

    def channel_named(self, name: str, *, create: bool = False) -> Conversation | None:
        """The channel called `name` (with or without "#"). With `create`, a person makes it
        if it does not exist yet, as someone in Slack would: the bot is not invited to it."""
        name = name.lstrip("#").lower()
        if name not in self._channels_by_name:
            if not create:
                return None
            self.set_channel(name, bot_member=False)
        return self.conversations[self._channels_by_name[name]]

    def set_channel(
        self, name: str, *, bot_member: bool | None = None, archived: bool | None = None, private: bool | None = None
    ) -> Conversation:
        """Create the channel `name`, or change who is in it and whether it is archived."""
        name = name.lstrip("#").lower()
        if name not in self._channels_by_name:
            channel_id = ("G" if private else "C") + hashlib.sha1(name.encode()).hexdigest()[:10].upper()  # noqa: S324
            self._channels_by_name[name] = channel_id
            self.conversations[channel_id] = Conversation(channel_id, "channel", name, private=bool(private))
        conversation = self.conversations[self._channels_by_name[name]]
        if bot_member is not None:
            conversation.bot_member = bot_member
        if archived is not None:
            conversation.archived = archived
        self.touch()
        return conversation

    def channels(self) -> list[Conversation]:
        return [c for c in self.conversations.values() if c.kind == "channel"]

    def resolve_conversation(self, ref: str | None, *, users_mean_dm: bool, create: bool = False) -> Conversation:
        """A conversation from what a caller passes as `channel`.

        Channel ids must exist; so must a channel given by `#name` or bare name, unless a
        person is typing in it (`create`). A user id means the app's DM with that user where
        Slack allows it (chat.postMessage).
        """
        if not ref:
            raise SlackApiFailure("channel_not_found")
        if ref in self.conversations:
            return self.conversations[ref]
        if ref[0] in "UW" and users_mean_dm and self.user(ref):
            return self.dm_with(ref)
        if ref.startswith("#") or (ref[0] not in "CDGUW" and ref == ref.lower()):
            channel = self.channel_named(ref, create=create)
            if channel is not None:
                return channel
        raise SlackApiFailure("channel_not_found")

    # ------------------------------------------------------------ messages

    def assign_ids(self, blocks: list[Any]) -> list[Any]:
        """Copy of `blocks` with the `block_id`s and `action_id`s Slack generates when missing."""
        out = []
        for block in blocks:
            if not isinstance(block, dict):
                out.append(block)
                continue
            block = dict(block)
            block.setdefault("block_id", _short_id())
            for key in ("accessory", "element"):
                if isinstance(block.get(key), dict):
                    block[key] = _with_action_id(block[key])
            if block.get("type") == "actions" and isinstance(block.get("elements"), list):
                block["elements"] = [_with_action_id(e) if isinstance(e, dict) else e for e in block["elements"]]
            out.append(block)
        return out

    def add_message(self, conversation: Conversation, message: Message) -> Message:
        conversation.messages.append(message)
        self.touch()
        return message

    def find_message(self, conversation: Conversation, ts: str) -> Message | None:
        return next((m for m in conversation.messages if m.ts == ts), None)

    def replace_message(self, message: Message, *, text: str, blocks: list[Any], attachments: list[Any]) -> None:
        message.history.append(
            {
                "text": message.text,
                "blocks": message.blocks,
                "attachments": message.attachments,
                "replaced_at": self.next_ts(),
            }
        )
        message.text, message.blocks, message.attachments = text, blocks, attachments
        message.edited_ts = message.history[-1]["replaced_at"]
        self.touch()

    def delete_message(self, conversation: Conversation, message: Message) -> None:
        conversation.messages.remove(message)
        self.touch()

    def slack_message(self, message: Message) -> dict[str, Any]:
        """A message object as the Web API and interaction payloads show it."""
        out: dict[str, Any] = {}
        if message.is_bot:
            out["bot_id"] = self.config.bot_id
        out.update(
            {
                "type": "message",
                "text": message.text,
                "user": message.user_id,
                "ts": message.ts,
                "team": self.config.team_id,
            }
        )
        if message.blocks:
            out["blocks"] = message.blocks
        if message.attachments:
            out["attachments"] = message.attachments
        if message.thread_ts:
            out["thread_ts"] = message.thread_ts
        if message.edited_ts:
            out["edited"] = {"user": message.user_id, "ts": message.edited_ts}
        return out

    # ------------------------------------------------------------ views

    def slack_view(self, stored: StoredView) -> dict[str, Any]:
        return slack_view(
            self.config,
            stored.app_view,
            view_id=stored.id,
            view_hash=stored.hash,
            root_view_id=stored.root_view_id,
            previous_view_id=stored.previous_view_id,
            state_values=stored.state_values,
        )

    def modal_stack(self, user_id: str) -> list[StoredView]:
        return [self.views[v] for v in self.modal_stacks.get(user_id, [])]

    def open_modal(self, user_id: str, app_view: dict[str, Any], *, push: bool = False) -> StoredView:
        stack = self.modal_stacks.setdefault(user_id, [])
        external_id = app_view.get("external_id")
        if external_id and any(v.app_view.get("external_id") == external_id and v.is_open for v in self.views.values()):
            raise SlackApiFailure("duplicate_external_id")
        if push and stack:
            if len(stack) >= MAX_VIEW_STACK:
                raise SlackApiFailure("push_limit_reached")
            previous, root = stack[-1], stack[0]
        else:
            self.close_modals(user_id)
            previous, root = None, ""
        view_id = self.new_id("V")
        stored = StoredView(view_id, user_id, app_view, self.new_hash(), root or view_id, previous)
        self.views[view_id] = stored
        stack.append(view_id)
        self.touch()
        return stored

    def update_view(self, stored: StoredView, app_view: dict[str, Any]) -> None:
        """Replace a view in place; Slack keeps what the user typed into inputs that still exist."""
        kept = {}
        for block in app_view.get("blocks", []):
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if block_id in stored.state_values:
                kept[block_id] = stored.state_values[block_id]
        stored.app_view, stored.state_values = app_view, kept
        stored.hash, stored.errors, stored.notice = self.new_hash(), {}, None
        self.touch()

    def pop_modal(self, user_id: str) -> StoredView | None:
        stack = self.modal_stacks.get(user_id, [])
        if not stack:
            return None
        stored = self.views[stack.pop()]
        stored.is_open = False
        self.touch()
        return stored

    def close_modals(self, user_id: str) -> list[StoredView]:
        closed = []
        while (stored := self.pop_modal(user_id)) is not None:
            closed.append(stored)
        return closed

    def publish_home(self, user_id: str, app_view: dict[str, Any]) -> StoredView:
        view_id = self.home_views.get(user_id)
        if view_id is None:
            view_id = self.new_id("V")
            self.views[view_id] = StoredView(view_id, user_id, app_view, self.new_hash(), view_id)
            self.home_views[user_id] = view_id
            self.touch()
        else:
            self.update_view(self.views[view_id], app_view)
        return self.views[view_id]

    def find_view(self, *, view_id: str | None, external_id: str | None) -> StoredView:
        if view_id:
            stored = self.views.get(view_id)
        else:
            stored = next(
                (
                    v
                    for v in self.views.values()
                    if external_id and v.app_view.get("external_id") == external_id and v.is_open
                ),
                None,
            )
        if stored is None or not stored.is_open:
            raise SlackApiFailure("not_found")  # also for a modal the user has closed, like Slack
        return stored

    # ------------------------------------------------------------ logs

    def record_call(self, entry: dict[str, Any]) -> None:
        self.calls.append(entry)
        if len(self.calls) > MAX_CALLS:
            del self.calls[: len(self.calls) - MAX_CALLS]

    def record_problem(self, source: str, error: str, details: list[str]) -> None:
        self.problems.append({"source": source, "error": error, "details": details, "at": time.time()})
        self.touch()

    def record_delivery(self, entry: dict[str, Any]) -> None:
        self.deliveries.append(entry)
        self.touch()

    def take_rate_limit(self, method: str) -> int | None:
        """Seconds to put in `Retry-After` if an injected limit applies to this call."""
        limit = self.rate_limits.get(method)
        if limit is None or limit.remaining <= 0:
            return None
        limit.remaining -= 1
        return limit.retry_after

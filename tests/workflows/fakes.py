"""A recording Notifier for workflow tests (the bot's real one is tested against the simulator)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from catalog.summary import MessageKind, MessageRef, RequestSummary


@dataclass
class Sent:
    user_id: str
    kind: MessageKind
    summary: RequestSummary
    ref: MessageRef


@dataclass
class RecordingNotifier:
    emails: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    updates: list[tuple[MessageRef, MessageKind, RequestSummary]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Runs inside `send`, before it returns: lets a test act while the activity is still running.
    on_send: Callable[[Sent], Awaitable[None]] | None = None

    async def lookup_user_id(self, email: str) -> str | None:
        return self.emails.get(email)

    async def send(self, *, user_id: str, kind: MessageKind, summary: RequestSummary) -> MessageRef:
        ref = MessageRef(f"D{user_id}", f"1700000000.{next(self._ts):06d}")
        sent = Sent(user_id, kind, summary, ref)
        self.sent.append(sent)
        if self.on_send is not None:
            await self.on_send(sent)
        return ref

    async def update(self, *, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None:
        self.updates.append((ref, kind, summary))

    def sent_to(self, user_id: str, kind: MessageKind) -> list[Sent]:
        return [s for s in self.sent if s.user_id == user_id and s.kind == kind]

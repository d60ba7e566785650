"""A recording Notifier for workflow tests (the bot's real one is tested against the simulator)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from catalog.ports import MessageKind, MessageRef, RenewalCard, RenewalDigestSummary, RequestSummary, Undeliverable
from catalog.rules.discovery_actions import DigestView, PayerNotice


@dataclass
class Sent:
    user_id: str
    kind: MessageKind
    summary: RequestSummary
    ref: MessageRef
    key: str | None = None


@dataclass
class RecordingNotifier:
    emails: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    updates: list[tuple[MessageRef, MessageKind, RequestSummary]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Runs inside `send`, before it returns: lets a test act while the activity is still running.
    on_send: Callable[[Sent], Awaitable[None]] | None = None
    #: Where Slack refuses everything for good (a channel, a user or DM id, an email to look
    #: up), as the Slack notifier raises it; and every call refused, in order.
    refusals: dict[str, Undeliverable] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def _refuse(self, target: str) -> None:
        if target in self.refusals:
            self.refused.append(target)
            raise self.refusals[target]

    async def lookup_user_id(self, email: str) -> str | None:
        self._refuse(email)
        return self.emails.get(email)

    async def send(
        self, *, user_id: str, kind: MessageKind, summary: RequestSummary, key: str | None = None
    ) -> MessageRef:
        self._refuse(user_id)
        ref = MessageRef(f"D{user_id}", f"1700000000.{next(self._ts):06d}")
        sent = Sent(user_id, kind, summary, ref, key)
        self.sent.append(sent)
        if self.on_send is not None:
            await self.on_send(sent)
        return ref

    async def find_sent(self, *, user_id: str, key: str) -> MessageRef | None:
        self._refuse(user_id)
        found = next((s.ref for s in self.sent if s.user_id == user_id and s.key == key), None)
        return found or next((r for n, r in self.payer_notices if n.slack_id == user_id and n.key == key), None)

    async def update(self, *, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None:
        self._refuse(ref.channel)
        self.updates.append((ref, kind, summary))

    def sent_to(self, user_id: str, kind: MessageKind) -> list[Sent]:
        return [s for s in self.sent if s.user_id == user_id and s.kind == kind]

    # --- renewals (the RenewalNotifier port) ---------------------------------------------

    renewal_posts: list[tuple[str, RenewalCard, MessageRef]] = field(default_factory=list)
    renewal_updates: list[tuple[MessageRef, RenewalCard]] = field(default_factory=list)
    digests: list[tuple[str, RenewalDigestSummary]] = field(default_factory=list)
    #: Runs at the start of `post_renewal_reminder`: may raise to fake Slack failing.
    on_renewal_post: Callable[[str, RenewalCard], None] | None = None

    async def post_renewal_reminder(self, *, channel: str, card: RenewalCard) -> MessageRef:
        if self.on_renewal_post is not None:
            self.on_renewal_post(channel, card)
        self._refuse(channel)
        ref = MessageRef(channel if channel.startswith("#") else f"D{channel}", f"1800000000.{next(self._ts):06d}")
        self.renewal_posts.append((channel, card, ref))
        return ref

    async def update_renewal_reminder(self, *, ref: MessageRef, card: RenewalCard) -> None:
        self._refuse(ref.channel)
        self.renewal_updates.append((ref, card))

    async def post_renewal_digest(self, *, channel: str, digest: RenewalDigestSummary) -> MessageRef:
        self._refuse(channel)
        self.digests.append((channel, digest))
        return MessageRef(channel, f"1900000000.{next(self._ts):06d}")

    # --- discovery (the DiscoveryNotifier port) ------------------------------------------

    discovery_digests: list[tuple[str, DigestView]] = field(default_factory=list)
    payer_notices: list[tuple[PayerNotice, MessageRef]] = field(default_factory=list)
    discovery_updates: list[tuple[MessageRef, DigestView]] = field(default_factory=list)

    async def post_discovery_digest(self, *, channel: str, view: DigestView) -> MessageRef:
        self._refuse(channel)
        self.discovery_digests.append((channel, view))
        return MessageRef(channel, f"2000000000.{next(self._ts):06d}")

    async def update_discovery_digest(self, *, ref: MessageRef, view: DigestView) -> None:
        self._refuse(ref.channel)
        self.discovery_updates.append((ref, view))

    async def send_payer_notice(self, *, notice: PayerNotice) -> MessageRef:
        self._refuse(notice.slack_id)
        ref = MessageRef(f"D{notice.slack_id}", f"2100000000.{next(self._ts):06d}")
        self.payer_notices.append((notice, ref))
        return ref

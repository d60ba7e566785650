"""Activities of the renewal reminders: the daily scan, sending reminders, decisions on a
term and the weekly digest.

Each may run more than once (retries, a worker killed mid-send), so each is idempotent: a
reminder is claimed in the database (unique on contract, term and due date) before anything
is sent, and the Slack message of each reminder is recorded as soon as it is posted, so a
retry posts only what is still missing.

A post Slack refuses for good (`Undeliverable`: the ITAM channel does not exist, the bot is
not in it, …) is not retried: it is recorded with its reason, the rest of the batch goes out,
and the scan reports it under `failed`. The reminder stays unsent, so a later scan sends the
missing part once the cause is fixed (docs/decisions.md, 33)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog.db import transaction
from catalog.models import RenewalStatus
from catalog.ports import MessageRef, RenewalCard, RenewalDigestSummary, RenewalNotifier, Undeliverable
from catalog.repository import reminders, renewal_plans
from catalog.rules.renewals import HolidayCalendar
from workflows.renewals.types import (
    RENEWAL_NOT_ALLOWED,
    ClaimResult,
    DigestResult,
    FailedPost,
    RefreshInput,
    RenewalDecisionInput,
    RenewalDecisionResult,
    SendInput,
    SendResult,
)

log = logging.getLogger(__name__)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


N = TypeVar("N")


class ItamJobActivities(Generic[N]):
    """The base of the activities of a scheduled job (the renewal reminders, discovery): the
    database, the job's Slack port `N`, and the ITAM channel its digest is posted to."""

    def __init__(self, engine: Engine, notifier: N, *, itam_channel: str) -> None:
        self._engine = engine
        self._notifier = notifier
        self._itam_channel = itam_channel


class RenewalActivities(ItamJobActivities[RenewalNotifier]):
    def __init__(
        self,
        engine: Engine,
        notifier: RenewalNotifier,
        *,
        itam_channel: str,
        calendar: HolidayCalendar,
        timezone: str = "UTC",
    ) -> None:
        super().__init__(engine, notifier, itam_channel=itam_channel)
        self._calendar = calendar
        self._timezone = timezone

    # --- the daily scan ------------------------------------------------------------------

    @activity.defn
    async def claim_due_reminders(self, as_of: str) -> ClaimResult:
        """Claim the reminders due on `as_of` and return every one not sent yet (including
        those a previous, interrupted run claimed)."""
        return await asyncio.to_thread(self._claim, date.fromisoformat(as_of))

    def _claim(self, as_of: date) -> ClaimResult:
        with transaction(self._engine) as session:
            # Terms that began today take on the seats and price their renewal agreed.
            reminders.apply_next_terms(session, as_of=as_of, at=datetime.now(UTC))
            # The stored renewal plans answer for the new day before anyone reads them, so the
            # pages read without writing (docs/decisions.md, 54).
            renewal_plans.refresh_plans(session, as_of=as_of, calendar=self._calendar)
            due = reminders.find_due_reminders(session, as_of=as_of, calendar=self._calendar)
            reminders.claim_reminders(session, due=due, at=datetime.now(UTC))
        with transaction(self._engine) as session:
            return ClaimResult(reminders.unsent_reminders(session, as_of=as_of))

    @activity.defn
    async def send_reminders(self, batch: SendInput) -> SendResult:
        """Post each reminder to the ITAM channel and DM the asset owner — only the parts a
        previous attempt did not already post. A part Slack refuses for good is recorded and
        reported under `failed`; the other reminders of the batch still go out."""
        as_of = date.fromisoformat(batch.as_of)
        result = SendResult()
        # A target Slack refused is not asked again in this batch: a missing ITAM channel
        # would refuse every reminder the same way.
        refused: dict[str, Undeliverable] = {}
        for reminder_id in batch.reminder_ids:
            activity.heartbeat(reminder_id)
            sent, failed = await self._send_one(reminder_id, as_of, refused)
            if sent:
                result.sent += 1
            elif not failed:
                result.skipped += 1
            result.failed.extend(failed)
        # One line per cause, saying how to fix it.
        for (target, error, hint), count in Counter((f.target, f.error, f.hint) for f in result.failed).items():
            log.error("%d renewal reminder(s) not posted to %s: %s; %s", count, target, error, hint)
        return result

    def _reminder_state(self, reminder_id: int, as_of: date) -> tuple[RenewalCard | None, bool, bool, str | None]:
        """(card, channel already posted, DM already posted, skip reason)."""
        with transaction(self._engine) as session:
            reminder = reminders.get_reminder(session, reminder_id=reminder_id)
            if reminder is None:
                return None, True, True, "deleted"
            if reminder.sent_at is not None:
                return None, True, True, "already sent"
            term = reminders.get_term(session, contract_id=reminder.contract_id, renewal_date=reminder.renewal_date)
            if term is not None and term.status != RenewalStatus.OPEN:
                return None, True, True, f"term already {term.status}"
            card = reminders.renewal_card(
                session,
                contract_id=reminder.contract_id,
                renewal_date=reminder.renewal_date,
                deadline=reminder.deadline,
                as_of=as_of,
            )
            return card, reminder.channel_ts is not None, reminder.dm_ts is not None, None

    async def _send_one(
        self, reminder_id: int, as_of: date, refused: dict[str, Undeliverable]
    ) -> tuple[bool, list[FailedPost]]:
        """(sent in full, the parts Slack refused). The owner is found first, so that the
        channel's reminder can say when nobody on Slack gets it by DM (a group mailbox)."""
        card, in_channel, in_dm, skip = await asyncio.to_thread(self._reminder_state, reminder_id, as_of)
        if card is None:
            if skip != "already sent":
                await asyncio.to_thread(self._mark_sent, reminder_id, skip, None)
            return False, []
        failed: list[FailedPost] = []
        owner = card.owner_slack_id
        if not in_dm and owner is None:
            try:
                owner = await self._notifier.lookup_user_id(card.owner_email)
            except Undeliverable as refusal:
                failed.append(await self._failed(reminder_id, "dm", card, refusal, as_of))
        not_on_slack = not in_dm and owner is None and not failed
        if not in_channel:
            shown = dataclasses.replace(card, owner_not_on_slack=True) if not_on_slack else card
            posted = await self._post(reminder_id, "channel", self._itam_channel, shown, refused, as_of, failed)
            if posted is not None:
                await asyncio.to_thread(self._record_post, reminder_id, "channel", posted, None)
        if not in_dm and owner:
            posted = await self._post(reminder_id, "dm", owner, card, refused, as_of, failed)
            if posted is not None:
                await asyncio.to_thread(self._record_post, reminder_id, "dm", posted, owner)
        if failed:
            return False, failed
        if not_on_slack:
            log.warning("reminder %s: owner %s is not on Slack; ITAM channel only", reminder_id, card.owner_email)
        await asyncio.to_thread(self._mark_sent, reminder_id, None, card.owner_email if not_on_slack else None)
        return True, []

    async def _post(
        self,
        reminder_id: int,
        where: str,
        target: str,
        card: RenewalCard,
        refused: dict[str, Undeliverable],
        as_of: date,
        failed: list[FailedPost],
    ) -> MessageRef | None:
        """Post one part of a reminder; None (and the failure recorded in `failed`) if Slack
        refuses it for good, now or earlier in the batch."""
        refusal = refused.get(target)
        if refusal is None:
            try:
                return await self._notifier.post_renewal_reminder(channel=target, card=card)
            except Undeliverable as err:
                refusal = refused[target] = err
        failed.append(await self._failed(reminder_id, where, card, refusal, as_of))
        return None

    async def _failed(
        self, reminder_id: int, where: str, card: RenewalCard, refusal: Undeliverable, as_of: date
    ) -> FailedPost:
        await asyncio.to_thread(self._record_failure, reminder_id, where, refusal, as_of)
        return FailedPost(card.contract_id, refusal.target, refusal.error, refusal.hint, card.product_name)

    def _record_failure(self, reminder_id: int, where: str, refusal: Undeliverable, as_of: date) -> None:
        at = datetime.now(UTC)
        values = {"target": refusal.target, "error": refusal.error, "hint": refusal.hint, "as_of": as_of, "at": at}
        self._record(reminders.record_reminder_failure, reminder_id, where, values)

    def _record_post(self, reminder_id: int, where: str, ref: MessageRef, owner: str | None) -> None:
        values = {"channel_id": ref.channel, "ts": ref.ts, "owner_slack_id": owner}
        self._record(reminders.record_reminder_post, reminder_id, where, values)

    def _record(self, record: Callable[..., object], reminder_id: int, where: str, values: dict[str, Any]) -> None:
        """`record` what became of the reminder's channel post or DM (`where`)."""
        with transaction(self._engine) as session:
            record(session, reminder_id=reminder_id, where="channel" if where == "channel" else "dm", **values)

    def _mark_sent(self, reminder_id: int, skipped: str | None, owner_not_on_slack: str | None) -> None:
        with transaction(self._engine) as session:
            reminders.mark_reminder_sent(
                session,
                reminder_id=reminder_id,
                at=datetime.now(UTC),
                skipped=skipped,
                owner_not_on_slack=owner_not_on_slack,
            )

    # --- decisions -----------------------------------------------------------------------

    @activity.defn
    async def record_renewal_decision(self, decision: RenewalDecisionInput) -> RenewalDecisionResult:
        """Check that the clicking person may decide (the asset's owner or ITAM), then record
        the decision once per click. A refusal is a non-retryable error the façade shows.

        The term's dates are recomputed from the contract (`decide_renewal`): the renewal date
        a button or modal carried only names the term, and one that is not a term that can
        still be decided is refused; the carried deadline is never used."""
        return await asyncio.to_thread(self._decide, decision)

    def _decide(self, decision: RenewalDecisionInput) -> RenewalDecisionResult:
        if decision.action not in reminders.RENEWAL_ACTIONS:
            raise ApplicationError(f"Unknown renewal action {decision.action!r}.", non_retryable=True)
        at = datetime.fromisoformat(decision.decided_at) if decision.decided_at else datetime.now(UTC)
        at = at.astimezone(ZoneInfo(self._timezone))
        with transaction(self._engine) as session:
            actor = reminders.renewal_actor(session, contract_id=decision.contract_id, slack_id=decision.actor_slack_id)
            if actor is None:
                raise ApplicationError(
                    "Only the asset's owner or the ITAM team can decide this renewal.",
                    type=RENEWAL_NOT_ALLOWED,
                    non_retryable=True,
                )
            itam_owner = None
            if decision.action == "renegotiate":
                owner = actor if reminders.is_itam(actor) else reminders.first_itam_person(session)
                itam_owner = owner.email if owner else actor.email
            snooze_until = None
            if decision.action == "snooze":
                snooze_until = at.date() + timedelta(days=decision.snooze_days or 0)
            outcome = reminders.decide_renewal(
                session,
                contract_id=decision.contract_id,
                renewal_date=date.fromisoformat(decision.renewal_date),
                action=decision.action,  # checked against RENEWAL_ACTIONS above
                actor_email=actor.email,
                at=at,
                idem_key=f"renewal:{decision.contract_id}:{decision.action}:{decision.click_id}",
                calendar=self._calendar,
                seats=decision.seats,
                unit_price_cents=decision.unit_price_cents,
                snooze_until=snooze_until,
                itam_owner_email=itam_owner,
            )
            return RenewalDecisionResult(outcome.accepted, outcome.message)

    @activity.defn
    async def refresh_renewal_messages(self, refresh: RefreshInput) -> int:
        """Update every reminder message of the term in place (channel and DMs)."""
        card, refs = await asyncio.to_thread(self._refs, refresh)
        updated = 0
        for channel, ts in refs:
            try:
                await self._notifier.update_renewal_reminder(ref=MessageRef(channel, ts), card=card)
            except Undeliverable as refusal:
                # A message deleted, or in a channel archived since: the others still change.
                log.warning("renewal reminder %s/%s not updated: %s; %s", channel, ts, refusal.error, refusal.hint)
                continue
            updated += 1
        return updated

    def _refs(self, refresh: RefreshInput) -> tuple[RenewalCard, list[tuple[str, str]]]:
        renewal_date = date.fromisoformat(refresh.renewal_date)
        with transaction(self._engine) as session:
            # The deadline the decision was checked against, not the one the click carried.
            term = reminders.get_term(session, contract_id=refresh.contract_id, renewal_date=renewal_date)
            deadline = term.deadline if term is not None and term.deadline is not None else None
            if deadline is None:
                found = reminders.current_term(
                    session,
                    contract_id=refresh.contract_id,
                    renewal_date=renewal_date,
                    as_of=date.fromisoformat(refresh.as_of),
                    calendar=self._calendar,
                )
                given = date.fromisoformat(refresh.deadline)
                deadline = found.deadline if isinstance(found, reminders.TermDates) else given
            card = reminders.renewal_card(
                session,
                contract_id=refresh.contract_id,
                renewal_date=renewal_date,
                deadline=deadline,
                as_of=date.fromisoformat(refresh.as_of),
            )
            refs = reminders.term_message_refs(session, contract_id=refresh.contract_id, renewal_date=renewal_date)
            return card, refs

    # --- weekly digest -------------------------------------------------------------------

    @activity.defn
    async def post_weekly_digest(self, as_of: str) -> DigestResult:
        day = date.fromisoformat(as_of)
        existing, digest = await asyncio.to_thread(self._digest, day)
        if existing:
            return DigestResult(as_of, False, len(digest.upcoming), len(digest.reclaim))
        try:
            ref = await self._notifier.post_renewal_digest(channel=self._itam_channel, digest=digest)
        except Undeliverable as refusal:
            # Not saved: the next run (next week's, or this one again) posts it once fixed.
            log.error("renewal digest not posted to %s: %s; %s", refusal.target, refusal.error, refusal.hint)
            await asyncio.to_thread(self._audit_digest_failure, day, refusal)
            failed = FailedPost(None, refusal.target, refusal.error, refusal.hint)
            return DigestResult(as_of, False, len(digest.upcoming), len(digest.reclaim), [failed])
        await asyncio.to_thread(self._save_digest, day, ref)
        return DigestResult(as_of, True, len(digest.upcoming), len(digest.reclaim))

    def _audit_digest_failure(self, day: date, refusal: Undeliverable) -> None:
        with transaction(self._engine) as session:
            reminders.record_digest_failure(
                session, as_of=day, target=refusal.target, error=refusal.error, hint=refusal.hint, at=datetime.now(UTC)
            )

    def _digest(self, day: date) -> tuple[bool, RenewalDigestSummary]:
        with transaction(self._engine) as session:
            existing = reminders.get_digest(session, as_of=day) is not None
            return existing, reminders.digest_summary(session, as_of=day, calendar=self._calendar)

    def _save_digest(self, day: date, ref: MessageRef) -> None:
        with transaction(self._engine) as session:
            reminders.save_digest(session, as_of=day, channel_id=ref.channel, ts=ref.ts, at=datetime.now(UTC))

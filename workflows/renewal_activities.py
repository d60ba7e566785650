"""Activities of the renewal reminders: the daily scan, sending reminders, decisions on a
term and the weekly digest.

Each may run more than once (retries, a worker killed mid-send), so each is idempotent: a
reminder is claimed in the database (unique on contract, term and due date) before anything
is sent, and the Slack message of each reminder is recorded as soon as it is posted, so a
retry posts only what is still missing."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import reminders_repo as reminders
from catalog.db import transaction
from catalog.models import RenewalStatus
from catalog.renewals import HolidayCalendar
from catalog.summary import MessageRef, RenewalCard, RenewalDigestSummary, RenewalNotifier

log = logging.getLogger(__name__)

#: ApplicationError type of a decision the clicking person may not take.
RENEWAL_NOT_ALLOWED = "RenewalNotAllowed"


@dataclass
class ScanInput:
    as_of: str | None = None  # ISO date; None: today in `timezone` by the workflow clock
    timezone: str = "UTC"


@dataclass
class ClaimResult:
    reminder_ids: list[int] = field(default_factory=list)


@dataclass
class SendInput:
    reminder_ids: list[int]
    as_of: str


@dataclass
class SendResult:
    sent: int = 0
    skipped: int = 0


@dataclass
class ScanResult:
    as_of: str
    claimed: int = 0
    sent: int = 0
    skipped: int = 0


@dataclass
class DigestInput:
    as_of: str | None = None
    timezone: str = "UTC"


@dataclass
class DigestResult:
    as_of: str
    posted: bool
    upcoming: int = 0
    reclaim: int = 0


@dataclass
class RenewalDecisionInput:
    contract_id: int
    renewal_date: str  # ISO date: which term
    deadline: str  # ISO date, as the button showed it: informational only, the activity recomputes it
    action: str  # renew | cancel | renegotiate | snooze
    actor_slack_id: str
    click_id: str  # Slack's action_ts / view id: the same click is recorded once
    seats: int | None = None
    unit_price_cents: int | None = None
    snooze_days: int | None = None
    decided_at: str | None = None  # ISO timestamp; the workflow fills in its clock


@dataclass
class RenewalDecisionResult:
    accepted: bool
    message: str


@dataclass
class RefreshInput:
    contract_id: int
    renewal_date: str
    deadline: str
    as_of: str


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


class RenewalActivities:
    def __init__(
        self,
        engine: Engine,
        notifier: RenewalNotifier,
        *,
        itam_channel: str,
        calendar: HolidayCalendar,
        timezone: str = "UTC",
    ) -> None:
        self._engine = engine
        self._notifier = notifier
        self._itam_channel = itam_channel
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
            due = reminders.find_due_reminders(session, as_of=as_of, calendar=self._calendar)
            reminders.claim_reminders(session, due=due, at=datetime.now(UTC))
        with transaction(self._engine) as session:
            return ClaimResult(reminders.unsent_reminders(session, due_on=as_of))

    @activity.defn
    async def send_reminders(self, batch: SendInput) -> SendResult:
        """Post each reminder to the ITAM channel and DM the asset owner — only the parts a
        previous attempt did not already post."""
        as_of = date.fromisoformat(batch.as_of)
        result = SendResult()
        for reminder_id in batch.reminder_ids:
            activity.heartbeat(reminder_id)
            if await self._send_one(reminder_id, as_of):
                result.sent += 1
            else:
                result.skipped += 1
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

    async def _send_one(self, reminder_id: int, as_of: date) -> bool:
        card, in_channel, in_dm, skip = await asyncio.to_thread(self._reminder_state, reminder_id, as_of)
        if card is None:
            if skip != "already sent":
                await asyncio.to_thread(self._mark_sent, reminder_id, skip)
            return False
        if not in_channel:
            ref = await self._notifier.post_renewal_reminder(channel=self._itam_channel, card=card)
            await asyncio.to_thread(self._record_post, reminder_id, "channel", ref, None)
        if not in_dm:
            owner = card.owner_slack_id or await self._notifier.lookup_user_id(card.owner_email)
            if owner:
                ref = await self._notifier.post_renewal_reminder(channel=owner, card=card)
                await asyncio.to_thread(self._record_post, reminder_id, "dm", ref, owner)
            else:
                log.warning("reminder %s: owner %s is not on Slack; channel only", reminder_id, card.owner_email)
        await asyncio.to_thread(self._mark_sent, reminder_id, None)
        return True

    def _record_post(self, reminder_id: int, where: str, ref: MessageRef, owner: str | None) -> None:
        with transaction(self._engine) as session:
            reminders.record_reminder_post(
                session,
                reminder_id=reminder_id,
                where="channel" if where == "channel" else "dm",
                channel_id=ref.channel,
                ts=ref.ts,
                owner_slack_id=owner,
            )

    def _mark_sent(self, reminder_id: int, skipped: str | None) -> None:
        with transaction(self._engine) as session:
            reminders.mark_reminder_sent(session, reminder_id=reminder_id, at=datetime.now(UTC), skipped=skipped)

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
        for channel, ts in refs:
            await self._notifier.update_renewal_reminder(ref=MessageRef(channel, ts), card=card)
        return len(refs)

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
        ref = await self._notifier.post_renewal_digest(channel=self._itam_channel, digest=digest)
        await asyncio.to_thread(self._save_digest, day, ref)
        return DigestResult(as_of, True, len(digest.upcoming), len(digest.reclaim))

    def _digest(self, day: date) -> tuple[bool, RenewalDigestSummary]:
        with transaction(self._engine) as session:
            existing = reminders.get_digest(session, as_of=day) is not None
            return existing, reminders.digest_summary(session, as_of=day, calendar=self._calendar)

    def _save_digest(self, day: date, ref: MessageRef) -> None:
        with transaction(self._engine) as session:
            reminders.save_digest(session, as_of=day, channel_id=ref.channel, ts=ref.ts, at=datetime.now(UTC))

"""Block Kit for renewals: the reminder (with Renew / Cancel / Renegotiate / Snooze), the
Renew, Cancel and Snooze modals, the weekly digest and the App Home "Upcoming renewals" section.

Pure functions returning dicts; text comes from catalog/templates (mrkdwn-escaped). The
action, callback and block ids of renewals are named here, next to the blocks that use them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.blocks.common import Block, button, context, header, option, plain, section
from catalog.money import format_money_symbol
from catalog.ports import RenewalCard, RenewalDigestSummary, UpcomingRenewal
from catalog.text import escape_mrkdwn, plural, render, truncate

# Reminder buttons
B_RENEWAL_ACTIONS = "renewal_actions"
RENEW = "renewal_renew"
CANCEL = "renewal_cancel"
RENEGOTIATE = "renewal_renegotiate"
SNOOZE = "renewal_snooze"
RENEWAL_BUTTONS = (RENEW, CANCEL, RENEGOTIATE, SNOOZE)

# Renew modal
RENEW_MODAL = "renewal_renew_modal"
B_RENEW_SEATS, A_RENEW_SEATS = "renew_seats", "renew_seats_input"
B_RENEW_PRICE, A_RENEW_PRICE = "renew_price", "renew_price_input"

# Cancel confirmation modal
CANCEL_MODAL = "renewal_cancel_modal"

# Snooze modal
SNOOZE_MODAL = "renewal_snooze_modal"
B_SNOOZE_DAYS, A_SNOOZE_DAYS = "snooze_days", "snooze_days_select"
SNOOZE_CHOICES = (3, 7, 14, 30)

# App Home
B_HOME_RENEWALS = "home_renewals"
B_HOME_ENDING = "home_renewals_ending"
HOME_RENEWAL_ROWS = 15


@dataclass(frozen=True)
class RenewalRef:
    """Which term a button or modal is about; carried in the button value / private metadata."""

    contract_id: int
    renewal_date: str
    deadline: str

    def to_value(self) -> str:
        return json.dumps({"c": self.contract_id, "r": self.renewal_date, "d": self.deadline}, separators=(",", ":"))

    @classmethod
    def from_value(cls, value: str) -> RenewalRef | None:
        """None for anything that is not a well-formed reference (a forged or stale payload)."""
        try:
            data = json.loads(value)
            ref = cls(int(data["c"]), str(data["r"]), str(data["d"]))
            date.fromisoformat(ref.renewal_date)
            date.fromisoformat(ref.deadline)
        except (ValueError, TypeError, KeyError):
            return None
        return ref

    @classmethod
    def of(cls, card: RenewalCard) -> RenewalRef:
        return cls(card.contract_id, card.renewal_date.isoformat(), card.deadline.isoformat())


def _card_context(card: RenewalCard) -> dict[str, Any]:
    return {
        "product_name": card.product_name,
        "vendor": card.vendor,
        "owner_email": card.owner_email,
        "owner_slack_id": card.owner_slack_id,
        "annual_cost_cents": card.annual_cost_cents,
        "unit_price_cents": card.unit_price_cents,
        "currency": card.currency,
        "seats_bought": card.seats_bought,
        "seats_assigned": card.seats_assigned,
        "seats_active_30d": card.seats_active_30d,
        "deadline": card.deadline.isoformat(),
        "cancel_by": card.cancel_by.isoformat() if card.cancel_by else None,
        "days_left": card.days_left,
        "renewal_date": card.renewal_date.isoformat(),
        "auto_renew": card.auto_renew,
        "status": card.status,
        "decided_by": card.decided_by,
        "decided_by_slack_id": card.decided_by_slack_id,
        "decided_on": (card.decided_at or "")[:10],
        "snoozed_until": card.snoozed_until.isoformat() if card.snoozed_until else None,
        "itam_owner_email": card.itam_owner_email,
        "itam_owner_slack_id": card.itam_owner_slack_id,
        "renew_seats": card.renew_seats,
        "renew_unit_price_cents": card.renew_unit_price_cents,
        "owner_not_on_slack": card.owner_not_on_slack,
        "pending_request_id": card.pending_request_id,
        "pending_seats": card.pending_seats,
        "pending_unit_price_cents": card.pending_unit_price_cents,
    }


def renewal_message(card: RenewalCard) -> tuple[str, list[Block]]:
    """The fallback text and blocks of a reminder; buttons only while the term is open."""
    ctx = _card_context(card)
    blocks: list[Block] = [
        header(f"Renewal: {card.product_name}"),
        section(render("renewal_facts.j2", **ctx)),
    ]
    status = render("renewal_status.j2", **ctx)
    if status:
        blocks.append(section(status, block_id="renewal_status"))
    if card.status == "open":
        value = RenewalRef.of(card).to_value()
        blocks.append(
            {
                "type": "actions",
                "block_id": B_RENEWAL_ACTIONS,
                "elements": [
                    button("Renew", RENEW, value, "primary"),
                    button("Cancel", CANCEL, value, "danger"),
                    button("Renegotiate", RENEGOTIATE, value),
                    button("Snooze", SNOOZE, value),
                ],
            }
        )
    blocks.append(context(f"Contract #{card.contract_id} · asset #{card.asset_id}"))
    left = f"{plural(card.days_left, 'day')} left" if card.days_left >= 0 else "deadline passed"
    fallback = escape_mrkdwn(f"Renewal: {card.product_name}, deadline {card.deadline} ({left}), {card.status}")
    return truncate(fallback, 3000), blocks


def _seats_line(card: RenewalCard) -> str:
    return (
        f"*Seats:* {card.seats_bought} bought  ·  {card.seats_assigned} assigned  ·  "
        f"*{card.seats_active_30d} active in the last 30 days*"
    )


def renew_modal(card: RenewalCard | None, ref: RenewalRef, *, private_metadata: str) -> dict[str, Any]:
    seats_element: dict[str, Any] = {
        "type": "number_input",
        "action_id": A_RENEW_SEATS,
        "is_decimal_allowed": False,
        # Fewer seats than people hold is refused (the submission is checked again).
        "min_value": str(max(1, card.seats_assigned if card else 1)),
        "max_value": "100000",
    }
    price_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": A_RENEW_PRICE,
        "max_length": 20,
        "placeholder": plain("e.g. 150.00", 150),
    }
    what = "this contract"
    if card is not None:
        seats_element["initial_value"] = str(card.seats_bought)
        price_element["initial_value"] = f"{card.unit_price_cents // 100}.{card.unit_price_cents % 100:02d}"
        what = (
            f"*{escape_mrkdwn(card.product_name)}* ({plural(card.seats_bought, 'seat')} at "
            f"{escape_mrkdwn(format_money_symbol(card.unit_price_cents, card.currency))} per seat)"
        )
    intro: list[Block] = [
        section(
            f"Renew {what} from {escape_mrkdwn(ref.renewal_date)}. Change the seats or the price if the new "
            "term differs: they apply from that date, the current term keeps its own. A renewal that costs "
            "more a year than now goes to the approvers first."
        )
    ]
    if card is not None:
        intro.append(context(_seats_line(card) + "  ·  the new term needs at least the seats assigned"))
    return {
        "type": "modal",
        "callback_id": RENEW_MODAL,
        "title": plain("Renew", 24),
        "submit": plain("Renew", 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            *intro,
            {
                "type": "input",
                "block_id": B_RENEW_SEATS,
                "optional": True,
                "label": plain("Seats for the new term"),
                "element": seats_element,
            },
            {
                "type": "input",
                "block_id": B_RENEW_PRICE,
                "optional": True,
                "label": plain("Price per seat per year"),
                "element": price_element,
            },
        ],
    }


def cancel_modal(card: RenewalCard, *, private_metadata: str) -> dict[str, Any]:
    """Asks before a contract is let go: who still uses it, and what ending it means."""
    ends_on = date.fromordinal(card.renewal_date.toordinal() - 1).isoformat()
    if card.cancel_by is None:
        notice = ""
    elif card.days_left < 0:
        notice = f" The notice deadline passed on {card.cancel_by.isoformat()}: send the notice at once."
    else:
        notice = f" The non-renewal notice is due by {card.cancel_by.isoformat()}."
    return {
        "type": "modal",
        "callback_id": CANCEL_MODAL,
        "title": plain("Cancel renewal", 24),
        "submit": plain("Don't renew", 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            section(
                f"Stop *{escape_mrkdwn(truncate(card.product_name, 120))}* from renewing? The contract ends on "
                f"{ends_on}.{notice}"
            ),
            section(_seats_line(card)),
            context("Their seats end with the contract. The reminder shows the decision to ITAM and the owner."),
        ],
    }


def snooze_modal(ref: RenewalRef, *, private_metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": SNOOZE_MODAL,
        "title": plain("Snooze reminders", 24),
        "submit": plain("Snooze", 24),
        "close": plain("Back", 24),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            section(f"No reminders about this renewal until the snooze ends (deadline {escape_mrkdwn(ref.deadline)})."),
            {
                "type": "input",
                "block_id": B_SNOOZE_DAYS,
                "label": plain("Snooze for"),
                "element": {
                    "type": "static_select",
                    "action_id": A_SNOOZE_DAYS,
                    "options": [option(f"{n} days", str(n)) for n in SNOOZE_CHOICES],
                    "initial_option": option("7 days", "7"),
                },
            },
        ],
    }


# --- weekly digest --------------------------------------------------------------------------


def digest_message(digest: RenewalDigestSummary) -> tuple[str, list[Block]]:
    count = len(digest.upcoming)
    summary = render(
        "renewal_digest.j2",
        horizon_days=digest.horizon_days,
        as_of=digest.as_of.isoformat(),
        count=count,
        totals=digest.totals,
    )
    blocks: list[Block] = [header("Weekly renewals digest"), section(summary)]
    lines = [_upcoming_line(u) for u in digest.upcoming[:40]]
    if lines:
        blocks.append(section("\n".join(lines)))
    if count > 40:
        blocks.append(context(f"…and {count - 40} more."))
    blocks.append({"type": "divider"})
    reclaim = digest.reclaim
    blocks.append(
        section(f"*Reclaim candidates*: {plural(len(reclaim), 'seat')} idle for {digest.idle_days}+ days or never used")
    )
    reclaim_lines = [
        f"• {escape_mrkdwn(c.product_name)}: {escape_mrkdwn(c.person_email)} "
        f"({'never active' if c.last_active is None else 'last active ' + c.last_active.isoformat()})"
        for c in reclaim[:40]
    ]
    if reclaim_lines:
        blocks.append(section("\n".join(reclaim_lines)))
    if len(reclaim) > 40:
        blocks.append(context(f"…and {len(reclaim) - 40} more."))
    fallback = (
        f"Weekly renewals digest: {plural(count, 'renewal')} in {digest.horizon_days} days, "
        f"{plural(len(reclaim), 'idle seat')}"
    )
    return fallback, blocks


def _upcoming_line(u: UpcomingRenewal) -> str:
    cost = escape_mrkdwn(format_money_symbol(u.annual_cost_cents, u.currency))
    when = escape_mrkdwn(u.when) if u.when else f"deadline {u.deadline.isoformat()}"
    left = f" ({plural(u.days_left, 'day')})" if u.days_left >= 0 and u.status == "open" else ""
    decision = f" · _{escape_mrkdwn(u.decision)}_" if u.decision else ""
    return (
        f"• *{escape_mrkdwn(truncate(u.product_name, 80))}* · {cost}"
        f" · {when}{left} · {escape_mrkdwn(u.owner_email)}{decision}"
    )


# --- App Home -------------------------------------------------------------------------------


def upcoming_renewals_blocks(
    upcoming: Sequence[UpcomingRenewal],
    *,
    horizon_days: int,
    ending: Sequence[UpcomingRenewal] = (),
    upcoming_total: int | None = None,
    ending_total: int | None = None,
) -> list[Block]:
    """The ITAM section of the App Home: renewals still coming (with each term's decision so
    far), then the contracts ending because their renewal was cancelled. The totals count the
    rows beyond those given (the lists may hold only the first ones); default: their lengths."""
    more_upcoming = (len(upcoming) if upcoming_total is None else upcoming_total) - HOME_RENEWAL_ROWS
    more_ending = (len(ending) if ending_total is None else ending_total) - HOME_RENEWAL_ROWS
    blocks: list[Block] = [{"type": "divider"}, header("Upcoming renewals")]
    if not upcoming:
        blocks.append(context(f"No renewal deadlines in the next {horizon_days} days."))
    else:
        lines = "\n".join(_upcoming_line(u) for u in upcoming[:HOME_RENEWAL_ROWS])
        blocks.append(section(lines, block_id=B_HOME_RENEWALS))
        if more_upcoming > 0:
            blocks.append(context(f"…and {more_upcoming} more in the weekly digest."))
    if ending:
        lines = "\n".join(_upcoming_line(u) for u in ending[:HOME_RENEWAL_ROWS])
        blocks.append(section(f"*Not renewing*\n{lines}", block_id=B_HOME_ENDING))
        if more_ending > 0:
            blocks.append(context(f"…and {more_ending} more."))
    return blocks

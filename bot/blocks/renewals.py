"""Block Kit for renewals: the reminder (with Renew / Cancel / Renegotiate / Snooze), the
Renew, Cancel and Snooze modals, the weekly digest and the App Home "Upcoming renewals" section.

Pure functions returning dicts; text comes from catalog/templates (mrkdwn-escaped). Their
ids are in bot/ids.py; the button value (`RenewalRef`) and the snooze choices in bot/payloads.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot import ids
from bot.blocks.common import Block, actions, button, context, header, input_block, modal, option, section, text_input
from bot.payloads import SNOOZE_CHOICES, RenewalRef
from catalog.money import format_money_symbol
from catalog.ports import RenewalCard, RenewalDigestSummary, UpcomingRenewal
from catalog.text import escape_mrkdwn, plural, render, truncate

HOME_RENEWAL_ROWS = 15


def _card_context(card: RenewalCard) -> dict[str, Any]:
    return {
        **vars(card),  # every field as read; below, the dates as the templates show them
        "deadline": card.deadline.isoformat(),
        "cancel_by": card.cancel_by.isoformat() if card.cancel_by else None,
        "renewal_date": card.renewal_date.isoformat(),
        "decided_on": (card.decided_at or "")[:10],
        "snoozed_until": card.snoozed_until.isoformat() if card.snoozed_until else None,
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
        buttons = [
            button("Renew", ids.RENEW, value, "primary"),
            button("Cancel", ids.CANCEL, value, "danger"),
            button("Renegotiate", ids.RENEGOTIATE, value),
            button("Snooze", ids.SNOOZE, value),
        ]
        blocks.append(actions(ids.B_RENEWAL_ACTIONS, buttons))
    blocks.append(context(f"Contract #{card.contract_id} · asset #{card.asset_id}"))
    left = f"{plural(card.days_left, 'day')} left" if card.days_left >= 0 else "deadline passed"
    fallback = escape_mrkdwn(f"Renewal: {card.product_name}, deadline {card.deadline} ({left}), {card.status}")
    return truncate(fallback, 3000), blocks


def _seats_line(card: RenewalCard) -> str:
    if card.seats_bought is None:
        return "*Usage-based:* no seat count; the contract value is its yearly cost"
    return (
        f"*Seats:* {card.seats_bought} bought  ·  {card.seats_assigned} assigned  ·  "
        f"*{card.seats_active_30d} active in the last 30 days*"
    )


def renew_modal(card: RenewalCard | None, ref: RenewalRef, *, private_metadata: str) -> dict[str, Any]:
    seats_element: dict[str, Any] = {
        "type": "number_input",
        "action_id": ids.A_RENEW_SEATS,
        "is_decimal_allowed": False,
        # Fewer seats than people hold is refused (the submission is checked again).
        "min_value": str(max(1, card.seats_assigned if card else 1)),
        "max_value": "100000",
    }
    price = f"{card.unit_price_cents // 100}.{card.unit_price_cents % 100:02d}" if card is not None else None
    price_element = text_input(ids.A_RENEW_PRICE, max_length=20, placeholder="e.g. 150.00", initial=price)
    what = "this contract"
    if card is not None and card.seats_bought is None:
        # Usage-based (docs/decisions.md, 52): it renews as one contract, at a new yearly value.
        what = (
            f"*{escape_mrkdwn(card.product_name)}* (usage-based, "
            f"{escape_mrkdwn(format_money_symbol(card.unit_price_cents, card.currency))} a year)"
        )
        return modal(
            ids.RENEW_MODAL,
            "Renew",
            "Renew",
            [
                section(
                    f"Renew {what} from {escape_mrkdwn(ref.renewal_date)}. Change the yearly value if the new "
                    "term differs: it applies from that date. A renewal that costs more a year than now goes "
                    "to the approvers first."
                ),
                input_block(ids.B_RENEW_PRICE, "Yearly value for the new term", price_element, optional=True),
            ],
            private_metadata=private_metadata,
        )
    if card is not None and card.seats_bought is not None:
        seats_element["initial_value"] = str(card.seats_bought)
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
    return modal(
        ids.RENEW_MODAL,
        "Renew",
        "Renew",
        [
            *intro,
            input_block(ids.B_RENEW_SEATS, "Seats for the new term", seats_element, optional=True),
            input_block(ids.B_RENEW_PRICE, "Price per seat per year", price_element, optional=True),
        ],
        private_metadata=private_metadata,
    )


def cancel_modal(card: RenewalCard, *, private_metadata: str) -> dict[str, Any]:
    """Asks before a contract is let go: who still uses it, and what ending it means."""
    ends_on = date.fromordinal(card.renewal_date.toordinal() - 1).isoformat()
    if card.cancel_by is None:
        notice = ""
    elif card.days_left < 0:
        notice = f" The notice deadline passed on {card.cancel_by.isoformat()}: send the notice at once."
    else:
        notice = f" The non-renewal notice is due by {card.cancel_by.isoformat()}."
    return modal(
        ids.CANCEL_MODAL,
        "Cancel renewal",
        "Don't renew",
        [
            section(
                f"Stop *{escape_mrkdwn(truncate(card.product_name, 120))}* from renewing? The contract ends on "
                f"{ends_on}.{notice}"
            ),
            section(_seats_line(card)),
            context("Their seats end with the contract. The reminder shows the decision to ITAM and the owner."),
        ],
        private_metadata=private_metadata,
    )


def snooze_modal(ref: RenewalRef, *, private_metadata: str) -> dict[str, Any]:
    days = {
        "type": "static_select",
        "action_id": ids.A_SNOOZE_DAYS,
        "options": [option(f"{n} days", str(n)) for n in SNOOZE_CHOICES],
        "initial_option": option("7 days", "7"),
    }
    return modal(
        ids.SNOOZE_MODAL,
        "Snooze reminders",
        "Snooze",
        [
            section(f"No reminders about this renewal until the snooze ends (deadline {escape_mrkdwn(ref.deadline)})."),
            input_block(ids.B_SNOOZE_DAYS, "Snooze for", days),
        ],
        private_metadata=private_metadata,
    )


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
        blocks.append(section(lines, block_id=ids.B_HOME_RENEWALS))
        if more_upcoming > 0:
            blocks.append(context(f"…and {more_upcoming} more in the weekly digest."))
    if ending:
        lines = "\n".join(_upcoming_line(u) for u in ending[:HOME_RENEWAL_ROWS])
        blocks.append(section(f"*Not renewing*\n{lines}", block_id=ids.B_HOME_ENDING))
        if more_ending > 0:
            blocks.append(context(f"…and {more_ending} more."))
    return blocks

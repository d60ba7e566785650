"""The renewal calendar as an iCalendar feed (RFC 5545) for a calendar app: each upcoming
term gives two all-day events, its notice deadline and its renewal date.

Pure: rows in, text out. Written by hand (a feed of all-day events needs escaping, line
folding and CRLF, nothing more); the tests read it back with the `icalendar` package. UIDs
are stable per contract, term and kind, so a calendar app updates an event in place when a
date moves instead of adding a second one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from catalog.money import format_money
from catalog.ports import UpcomingRenewal

PRODUCT_ID = "-//procure//renewal calendar//EN"


def _escape(text: str) -> str:
    """TEXT values: backslash, semicolon, comma and newlines escaped (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (§3.1), never
    splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _event(uid: str, day: date, summary: str, description: str, stamp: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def renewal_calendar(
    renewals: Iterable[UpcomingRenewal], *, generated_at: datetime, host: str = "procure", timezone: str = "UTC"
) -> str:
    """The feed: a notice-deadline and a renewal-date event per term (dates in the company's
    time zone, `timezone`, as the register shows them)."""
    stamp = generated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape('Renewals')}",
        f"X-WR-TIMEZONE:{_escape(timezone)}",
    ]
    for item in renewals:
        cost = format_money(item.annual_cost_cents, item.currency)
        about = f"{item.product_name}: {cost} a year, owner {item.owner_email}. {item.when}"
        if item.decision:
            about += f" Decision so far: {item.decision}."
        key = f"contract-{item.contract_id}-{item.renewal_date:%Y%m%d}"
        if item.deadline < item.renewal_date:
            lines += _event(
                f"{key}-deadline@{host}", item.deadline, f"Notice deadline: {item.product_name}", about, stamp
            )
        lines += _event(f"{key}-renewal@{host}", item.renewal_date, f"Renews: {item.product_name}", about, stamp)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)

"""The renewal calendar feed, read back with a real iCalendar parser."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar

from catalog.icalendar_feed import renewal_calendar
from catalog.ports import UpcomingRenewal


def _renewal(contract_id: int, name: str, deadline: date, renewal: date, **extra: object) -> UpcomingRenewal:
    return UpcomingRenewal(
        contract_id=contract_id,
        product_name=name,
        owner_email="max@example.com",
        annual_cost_cents=1_234_56,
        currency="EUR",
        renewal_date=renewal,
        deadline=deadline,
        days_left=(deadline - date(2026, 12, 4)).days,
        status="open",
        when=f"renews {renewal} — cancel by {deadline}",
        **extra,  # type: ignore[arg-type]
    )


def test_each_term_gives_its_deadline_and_its_renewal_as_all_day_events() -> None:
    feed = renewal_calendar(
        [
            _renewal(
                3, 'Canva; Pro, "team"', date(2026, 12, 16), date(2027, 1, 15), decision="snoozed until 2026-12-10"
            ),
            _renewal(7, "Zoom " + "x" * 120 + " ✓", date(2027, 2, 1), date(2027, 2, 1)),
        ],
        generated_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        timezone="Europe/Berlin",
    )
    assert all(len(line.encode()) <= 75 for line in feed.split("\r\n"))
    calendar = icalendar.Calendar.from_ical(feed)
    events = [(str(e["SUMMARY"]), e.decoded("DTSTART"), str(e["UID"])) for e in calendar.walk("VEVENT")]
    assert events == [
        ('Notice deadline: Canva; Pro, "team"', date(2026, 12, 16), "contract-3-20270115-deadline@procure"),
        ('Renews: Canva; Pro, "team"', date(2027, 1, 15), "contract-3-20270115-renewal@procure"),
        # No notice period: the deadline is the renewal itself, one event.
        ("Renews: Zoom " + "x" * 120 + " ✓", date(2027, 2, 1), "contract-7-20270201-renewal@procure"),
    ]
    first = calendar.walk("VEVENT")[0]
    assert "1,234.56 EUR a year" in str(first["DESCRIPTION"])
    assert "snoozed until 2026-12-10" in str(first["DESCRIPTION"])
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"


def test_an_empty_register_is_an_empty_but_valid_calendar() -> None:
    calendar = icalendar.Calendar.from_ical(renewal_calendar([], generated_at=datetime(2026, 12, 4, tzinfo=UTC)))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["PRODID"]).startswith("-//procure")

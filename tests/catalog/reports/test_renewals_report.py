"""The renewal calendar and its iCalendar feed, read back with a real iCalendar parser."""

from __future__ import annotations

from datetime import date

import icalendar
from sqlalchemy import Engine

from catalog.db import transaction
from catalog.reports.renewals import calendar_rows, ical_feed
from tests.catalog.reports.company import AS_OF, AT, US, build

JULY = (date(2026, 7, 1), date(2026, 7, 31))


def test_the_calendar_lists_july_deadlines_and_renewal_dates_with_seats_and_decisions(engine: Engine) -> None:
    ids = build(engine)
    with transaction(engine) as session:
        page = calendar_rows(session, as_of=AS_OF, calendar=US, start=JULY[0], end=JULY[1])
    got = [(r.on, r.kind, r.product_name, r.days_left, r.status) for r in page.rows]
    assert got == [
        (date(2026, 7, 20), "renewal", "A", 19, "open"),
        (date(2026, 7, 24), "deadline", "B", 23, "open"),  # 30 days before is a Sunday
        (date(2026, 7, 25), "renewal", "E", 24, "cancelled"),  # the day it ends
    ]
    assert page.contracts == 3
    a = page.rows[0]
    assert (a.asset_id, a.seats_bought, a.seats_assigned, a.seats_active) == (ids["A"], 5, 4, 1)
    # Fri 06-19 is Juneteenth, so A's notice deadline is the Thursday.
    assert (a.annual_cost_cents, a.currency, a.deadline) == (90_000, "USD", date(2026, 6, 18))
    assert page.rows[2].decision == "cancelled by itam@example.com on 2026-06-01 (not renewing)"

    with transaction(engine) as session:
        first = calendar_rows(session, as_of=AS_OF, calendar=US, start=JULY[0], end=JULY[1], limit=1)
        mine = calendar_rows(
            session, as_of=AS_OF, calendar=US, start=JULY[0], end=JULY[1], owner_email="nobody@example.com"
        )
    # One contract per page, soonest deadline first (A's passed deadline, 06-18).
    assert ([r.product_name for r in first.rows], first.contracts) == (["A"], 3)
    assert (mine.rows, mine.contracts) == ([], 0)


def test_the_feed_parses_back_into_one_event_per_date_with_stable_uids(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        rows = calendar_rows(session, as_of=AS_OF, calendar=US, start=date(2026, 6, 1), end=JULY[1]).rows
    feed = icalendar.Calendar.from_ical(ical_feed(rows, name="Renewals, deadlines; all", stamp=AT))
    assert str(feed["X-WR-CALNAME"]) == "Renewals, deadlines; all"
    events = [(e.decoded("dtstart"), str(e["summary"]), str(e["uid"])) for e in feed.walk("VEVENT")]
    a, e, b = rows[0].contract_id, rows[1].contract_id, rows[3].contract_id
    assert events == [
        (date(2026, 6, 18), "Notice deadline: A (900.00 USD/year)", f"deadline-{a}-2026-07-20@procure-bot"),
        (date(2026, 6, 25), "Notice deadline: E (900.00 USD/year)", f"deadline-{e}-2026-07-25@procure-bot"),
        (date(2026, 7, 20), "Renews: A (900.00 USD/year)", f"renewal-{a}-2026-07-20@procure-bot"),
        (date(2026, 7, 24), "Notice deadline: B (900.00 EUR/year)", f"deadline-{b}-2026-08-25@procure-bot"),
        (date(2026, 7, 25), "Ends: E (900.00 USD/year)", f"renewal-{e}-2026-07-25@procure-bot"),
    ]
    first = next(iter(feed.walk("VEVENT")))
    assert first.decoded("dtend") == date(2026, 6, 19)
    assert "Seats: 5 bought, 4 assigned, 1 active." in str(first["description"])
    assert "URL" not in first  # no console URL given: no link


def test_given_the_console_url_each_event_links_to_its_asset(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        rows = calendar_rows(session, as_of=AS_OF, calendar=US, start=date(2026, 6, 1), end=JULY[1]).rows
    feed = icalendar.Calendar.from_ical(ical_feed(rows, name="R", stamp=AT, console_url="https://itam.example.com/"))
    events = list(feed.walk("VEVENT"))
    assert [str(e["url"]) for e in events] == [f"https://itam.example.com/assets/{r.asset_id}" for r in rows]
    assert str(events[0]["description"]).endswith(
        f"\nIn the console: https://itam.example.com/assets/{rows[0].asset_id}"
    )

"""Business days in the company time zone: weekends, holidays, time zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rules.business_time import add_business_days, business_days_between, local_date, next_business_day
from catalog.rules.renewals import HolidayCalendar, is_business_day

PLAIN = HolidayCalendar()
US = HolidayCalendar(country="US")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_same_local_time_later_on_weekdays() -> None:
    start = local(BERLIN, 2026, 2, 3, 16, 0)  # Tuesday
    result = add_business_days(start, 2, tz="Europe/Berlin", calendar=PLAIN)
    assert result.tzinfo is UTC
    assert result.astimezone(BERLIN) == local(BERLIN, 2026, 2, 5, 16, 0)


def test_weekend_is_skipped() -> None:
    start = local(BERLIN, 2026, 2, 6, 10, 15)  # Friday
    assert add_business_days(start, 1, tz="Europe/Berlin", calendar=PLAIN) == local(BERLIN, 2026, 2, 9, 10, 15)
    assert add_business_days(start, 2, tz="Europe/Berlin", calendar=PLAIN) == local(BERLIN, 2026, 2, 10, 10, 15)


def test_zero_days_is_the_start_on_a_business_day() -> None:
    start = datetime(2026, 2, 3, 12, 0, 7, 123, tzinfo=UTC)
    assert add_business_days(start, 0, tz="Europe/Berlin", calendar=PLAIN) == start


def test_start_on_a_weekend_counts_from_nine_on_the_next_business_day() -> None:
    saturday = local(BERLIN, 2026, 2, 7, 18, 30)
    assert add_business_days(saturday, 0, tz="Europe/Berlin", calendar=PLAIN) == local(BERLIN, 2026, 2, 9, 9, 0)
    assert add_business_days(saturday, 2, tz="Europe/Berlin", calendar=PLAIN) == local(BERLIN, 2026, 2, 11, 9, 0)


def test_company_and_public_holidays_are_skipped() -> None:
    company = HolidayCalendar(extra=frozenset({date(2026, 2, 9)}))  # Monday off
    start = local(BERLIN, 2026, 2, 6, 10, 0)
    assert add_business_days(start, 1, tz="Europe/Berlin", calendar=company) == local(BERLIN, 2026, 2, 10, 10, 0)
    # Christmas 2026 is a Friday in the US: Thursday + 1 → Monday the 28th.
    thursday = local(NEW_YORK, 2026, 12, 24, 11, 0)
    assert add_business_days(thursday, 1, tz="America/New_York", calendar=US) == local(NEW_YORK, 2026, 12, 28, 11, 0)


def test_start_on_a_holiday_counts_from_the_next_business_day() -> None:
    christmas = local(NEW_YORK, 2026, 12, 25, 14, 0)
    assert add_business_days(christmas, 0, tz="America/New_York", calendar=US) == local(NEW_YORK, 2026, 12, 28, 9, 0)
    assert add_business_days(christmas, 1, tz="America/New_York", calendar=US) == local(NEW_YORK, 2026, 12, 29, 9, 0)


def test_the_local_date_decides_not_the_utc_date() -> None:
    # Friday 23:00 UTC is already Saturday 08:00 in Tokyo but still Friday 18:00 in New York.
    start = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    tokyo = add_business_days(start, 1, tz="Asia/Tokyo", calendar=PLAIN)
    assert tokyo == datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    new_york = add_business_days(start, 1, tz="America/New_York", calendar=PLAIN)
    assert new_york == local(NEW_YORK, 2026, 3, 9, 18, 0)  # Monday, after the DST switch on Sunday


def test_dst_keeps_the_wall_clock_time_and_moves_utc() -> None:
    # Berlin switches to summer time on Sunday 29 March 2026.
    start = local(BERLIN, 2026, 3, 27, 10, 0)  # Friday, UTC+1
    assert start.astimezone(UTC).hour == 9
    result = add_business_days(start, 1, tz="Europe/Berlin", calendar=PLAIN)
    assert result == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # Monday 10:00, UTC+2
    # And back to winter time on Sunday 25 October 2026.
    autumn = add_business_days(local(BERLIN, 2026, 10, 23, 10, 0), 1, tz="Europe/Berlin", calendar=PLAIN)
    assert autumn == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_wall_time_skipped_by_dst_on_a_business_day() -> None:
    # Egypt moves its clocks from 00:00 to 01:00 on the last Friday of April (a weekday here).
    cairo = ZoneInfo("Africa/Cairo")
    start = datetime(2026, 4, 23, 0, 30, tzinfo=cairo)  # Thursday, UTC+2
    result = add_business_days(start, 1, tz="Africa/Cairo", calendar=PLAIN)
    if datetime(2026, 4, 24, 12, 0, tzinfo=cairo).utcoffset() == timedelta(hours=3):
        assert result == datetime(2026, 4, 23, 22, 30, tzinfo=UTC)  # 00:30 does not exist: 01:30 local
    assert result > start
    assert result.astimezone(cairo).date() == date(2026, 4, 24)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_days(datetime(2026, 2, 3, 10, 0), 1, tz="UTC", calendar=PLAIN)
    with pytest.raises(ValueError, match="days"):
        add_business_days(datetime(2026, 2, 3, 10, 0, tzinfo=UTC), -1, tz="UTC", calendar=PLAIN)
    with pytest.raises(ValueError, match="unknown time zone"):
        add_business_days(datetime(2026, 2, 3, 10, 0, tzinfo=UTC), 1, tz="Mars/Olympus", calendar=PLAIN)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_days_between(
            datetime(2026, 2, 3, 10, 0), datetime(2026, 2, 4, 10, 0, tzinfo=UTC), tz="UTC", calendar=PLAIN
        )


def test_next_business_day() -> None:
    assert next_business_day(date(2026, 2, 7), PLAIN) == date(2026, 2, 9)
    assert next_business_day(date(2026, 2, 9), PLAIN) == date(2026, 2, 9)


# --- waiting time ------------------------------------------------------------------------------


def between(a: datetime, b: datetime, calendar: HolidayCalendar = PLAIN) -> int:
    return business_days_between(a, b, tz="Europe/Berlin", calendar=calendar)


def test_waiting_counts_whole_business_days() -> None:
    monday = local(BERLIN, 2026, 2, 9, 10, 0)
    assert between(monday, monday) == 0
    assert between(monday, local(BERLIN, 2026, 2, 10, 9, 59)) == 0
    assert between(monday, local(BERLIN, 2026, 2, 10, 10, 0)) == 1
    assert between(monday, local(BERLIN, 2026, 2, 11, 9, 59)) == 1
    assert between(monday, local(BERLIN, 2026, 2, 11, 10, 0)) == 2
    assert between(monday, local(BERLIN, 2026, 2, 16, 10, 0)) == 5  # a week later
    assert between(monday, local(BERLIN, 2026, 2, 14, 23, 0)) == 4  # Saturday: still 4 since Friday 10:00


def test_waiting_ends_before_it_starts_is_zero() -> None:
    monday = local(BERLIN, 2026, 2, 9, 10, 0)
    assert between(monday, monday - timedelta(days=3)) == 0


def test_waiting_from_a_weekend_starts_at_nine_on_monday() -> None:
    saturday = local(BERLIN, 2026, 2, 7, 15, 0)
    assert between(saturday, local(BERLIN, 2026, 2, 8, 20, 0)) == 0
    assert between(saturday, local(BERLIN, 2026, 2, 10, 8, 59)) == 0
    assert between(saturday, local(BERLIN, 2026, 2, 10, 9, 0)) == 1


def test_waiting_skips_holidays() -> None:
    company = HolidayCalendar(extra=frozenset({date(2026, 2, 10)}))
    monday = local(BERLIN, 2026, 2, 9, 10, 0)
    assert between(monday, local(BERLIN, 2026, 2, 10, 12, 0), company) == 0
    assert between(monday, local(BERLIN, 2026, 2, 11, 10, 0), company) == 1


ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
    days=st.integers(min_value=0, max_value=40),
    tz=st.sampled_from(ZONES),
)
def test_adding_then_counting_gives_the_same_number(start: datetime, days: int, tz: str) -> None:
    due = add_business_days(start, days, tz=tz, calendar=US)
    assert due.tzinfo is UTC
    assert due >= start
    assert is_business_day(due.astimezone(ZoneInfo(tz)).date(), US)
    assert business_days_between(start, due, tz=tz, calendar=US) == days
    assert business_days_between(start, due - timedelta(microseconds=1), tz=tz, calendar=US) == max(0, days - 1)
    later = add_business_days(start, days + 1, tz=tz, calendar=US)
    assert later > due


def test_the_company_date_is_the_local_one_and_a_naive_time_is_utc() -> None:
    """Issue 19 #10: 20:30 on 2026-12-31 in New York is 01:30 UTC on 2027-01-01."""
    moment = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)
    assert local_date(moment, "America/New_York") == date(2026, 12, 31)
    assert local_date(moment, "UTC") == date(2027, 1, 1)
    assert local_date(moment.replace(tzinfo=None), "America/New_York") == date(2026, 12, 31)  # as SQLite returns it
    assert local_date(datetime(2027, 1, 1, 9, 0, tzinfo=UTC), "Asia/Tokyo") == date(2027, 1, 1)

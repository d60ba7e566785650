"""Business days in the company's time zone: when a step's SLA runs out, how long it has waited.

Pure: the start time, the time zone name and the holiday calendar come in as arguments. A
business day is ``catalog.rules.renewals.is_business_day`` of the *local* date (Monday–Friday and not a
holiday). Adding business days keeps the local wall-clock time, so a request opened on Tuesday at
16:00 in Berlin with a 2-day SLA is due on Thursday at 16:00 Berlin time, whatever DST does in
between. A start on a weekend or holiday counts from 09:00 local on the next business day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from catalog.rules.renewals import HolidayCalendar, is_business_day

__all__ = ["DAY_STARTS_AT", "add_business_days", "business_days_between", "local_date", "next_business_day"]

DAY_STARTS_AT = time(9, 0)
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment.isoformat()}")
    return moment.astimezone(zone)


def local_date(moment: datetime, tz: str) -> date:
    """The company's date at ``moment``: the fiscal year and a contract's first day follow it,
    not UTC's (20:30 on Dec 31 in New York is still Dec 31). A naive ``moment`` is UTC, as
    SQLite gives back the timestamps it stores."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(_zone(tz)).date()


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time skipped by a DST jump resolves like zoneinfo does (fold 0: the offset before
    # the jump, i.e. an hour later on the clock); a repeated one takes its first occurrence.
    return datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(UTC)


def next_business_day(d: date, calendar: HolidayCalendar) -> date:
    """``d`` itself when it is a business day, else the next one."""
    while not is_business_day(d, calendar):
        d += _ONE_DAY
    return d


def _anchor(start: datetime, zone: ZoneInfo, calendar: HolidayCalendar) -> tuple[date, time]:
    local = _local(start, zone)
    day = local.date()
    if is_business_day(day, calendar):
        return day, local.time()
    return next_business_day(day, calendar), DAY_STARTS_AT


def add_business_days(start: datetime, days: int, *, tz: str, calendar: HolidayCalendar) -> datetime:
    """``start`` moved ``days`` business days later at the same local time, as a UTC datetime."""
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ValueError(f"days must be a whole number >= 0, got {days!r}")
    zone = _zone(tz)
    day, wall = _anchor(start, zone, calendar)
    if day == _local(start, zone).date() and days == 0:
        return start.astimezone(UTC)
    remaining = days
    while remaining:
        day += _ONE_DAY
        if is_business_day(day, calendar):
            remaining -= 1
    return _at(day, wall, zone)


def business_days_between(a: datetime, b: datetime, *, tz: str, calendar: HolidayCalendar) -> int:
    """Whole business days from ``a`` to ``b``: the largest ``n`` with ``add_business_days(a, n) <= b``.

    0 when ``b`` is not after ``a`` (or falls before the first business moment after ``a``).
    """
    zone = _zone(tz)
    day, wall = _anchor(a, zone, calendar)
    end = _local(b, zone)
    if add_business_days(a, 0, tz=tz, calendar=calendar) > b:
        return 0
    count = 0
    last = day
    cursor = day
    while cursor < end.date():
        cursor += _ONE_DAY
        if is_business_day(cursor, calendar):
            count += 1
            last = cursor
    if count and _at(last, wall, zone) > b:
        count -= 1
    return count

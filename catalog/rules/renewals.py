"""Renewal planning for SaaS contracts: renewal date, cancel-by, deadline and reminder dates.

Everything here is pure: dates come in as arguments (``as_of`` is never read from a clock) and the
only lookup is the ``holidays`` package's data, cached per ``(country, subdivision, year)``.

Conventions (from the renewals issue):

* **renewal date** – the first day of the next term. An explicit ``renewal_date`` wins; otherwise it
  is ``start + term_months × k`` computed from the original start, so month-end contracts do not
  drift (Jan 31 → Feb 28/29 → Mar 31). ``k`` is the smallest k ≥ 1 whose date is after ``as_of``
  when the contract auto-renews, and 1 when it does not — even when that term's cancel-by has
  already passed: the charge on that date is still coming.
* **next deadline** – the first term whose deadline is still ahead (the same term unless its
  cancel-by has passed); the reminders go out for that term.
* **term end** – renewal date − 1 day.
* **business day** – Monday to Friday and not a holiday of the calendar.
* **cancel-by** (auto-renew only) – last day to send a non-renewal notice.
* **deadline** – cancel-by when auto-renewing, otherwise the term end moved earlier to a business day.
* **reminders** – ``deadline − L`` moved earlier to a business day for each lead time ``L``.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Literal, TypeVar

import holidays

__all__ = [
    "DEFAULT_REMINDER_LEAD_DAYS",
    "MAX_NOTICE_DAYS",
    "MAX_TERM_MONTHS",
    "MAX_YEAR",
    "MIN_YEAR",
    "CalendarError",
    "ContractError",
    "ContractTerms",
    "HolidayCalendar",
    "NoticeBasis",
    "RenewalInputError",
    "RenewalPlan",
    "add_months",
    "due_reminders",
    "is_business_day",
    "plan_renewal",
    "previous_business_day",
    "subtract_business_days",
]

NoticeBasis = Literal["calendar", "business"]
DEFAULT_REMINDER_LEAD_DAYS: tuple[int, ...] = (90, 60, 30, 7)

# Bounds keep every date this module computes inside what ``datetime.date`` can represent
# (100-year terms, 10-year notice periods), so callers only ever see our own errors.
MIN_YEAR = 1900
MAX_YEAR = 2999
MAX_TERM_MONTHS = 1200
MAX_NOTICE_DAYS = 3660

_ONE_DAY = timedelta(days=1)
_K = TypeVar("_K")


class RenewalInputError(ValueError):
    """An input to renewal planning is invalid; ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ContractError(RenewalInputError):
    """A contract's terms (or the ``as_of`` / ``last_reminder_sent`` planned with them) are invalid."""


class CalendarError(RenewalInputError):
    """The holiday calendar names an unknown country or subdivision, or a bad company holiday."""


# --- dates -------------------------------------------------------------------------------------


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` months (may be negative), clamped to the last day of the target month."""
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    day = min(d.day, _calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def _check_date(value: object, name: str, error: type[RenewalInputError]) -> date:
    # datetime is a date subclass, but mixing it in would make comparisons raise later.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise error(f"{name} must be a date, got {type(value).__name__}", field=name)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise error(f"{name} must be between years {MIN_YEAR} and {MAX_YEAR}, got {value}", field=name)
    return value


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ContractError(f"{name} must be an integer, got {type(value).__name__}", field=name)
    if not low <= value <= high:
        raise ContractError(f"{name} must be between {low} and {high}, got {value}", field=name)
    return value


# --- holiday calendar --------------------------------------------------------------------------


@cache
def _validate_region(country: str, subdivision: str | None) -> None:
    # Asking the package itself also accepts the aliases it knows, not just the listed codes.
    try:
        holidays.country_holidays(country, years=())
    except NotImplementedError:
        raise CalendarError(f"country {country!r} is not supported by holidays", field="country") from None
    if subdivision is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=())
        except NotImplementedError:
            raise CalendarError(
                f"subdivision {subdivision!r} is not a subdivision of {country}", field="subdivision"
            ) from None


@lru_cache(maxsize=4096)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    # Observed days can cross a year boundary (Jan 1 on a Saturday is observed on Dec 31), and
    # countries differ in which year they file them under, so build the neighbours and filter.
    table = holidays.country_holidays(country, subdiv=subdivision, years=(year - 1, year, year + 1))
    return frozenset(d for d in table if d.year == year)


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are not business days besides weekends.

    ``country``/``subdivision`` are codes understood by the ``holidays`` package (e.g. ``"US"``,
    ``"CA"``); ``extra`` holds company holidays. With no country only weekends and ``extra`` count.
    """

    country: str | None = None
    subdivision: str | None = None
    extra: frozenset[date] = field(default_factory=frozenset)
    # Per-year union of public and company holidays, filled on first use: planning touches the
    # same few years over and over, and one set lookup per day is what keeps it fast.
    _by_year: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if self.country is not None and not isinstance(self.country, str):
            raise CalendarError("country must be a string", field="country")
        if self.subdivision is not None and not isinstance(self.subdivision, str):
            raise CalendarError("subdivision must be a string", field="subdivision")
        if self.subdivision is not None and self.country is None:
            raise CalendarError("subdivision needs a country", field="subdivision")
        if self.country is not None:
            _validate_region(self.country, self.subdivision)
        if not isinstance(self.extra, frozenset):
            object.__setattr__(self, "extra", frozenset(self.extra))
        for day in self.extra:
            _check_date(day, "extra", CalendarError)

    def holidays_in(self, year: int) -> frozenset[date]:
        """Public and company holidays falling in ``year``."""
        try:
            return self._by_year[year]
        except KeyError:
            public = frozenset() if self.country is None else _public_holidays(self.country, self.subdivision, year)
            days = public | {d for d in self.extra if d.year == year}
            self._by_year[year] = days
            return days

    def is_holiday(self, d: date) -> bool:
        return d in self.holidays_in(d.year)


def is_business_day(d: date, calendar: HolidayCalendar) -> bool:
    """Monday–Friday and not a holiday of ``calendar``."""
    return d.weekday() < 5 and d not in calendar.holidays_in(d.year)


def previous_business_day(d: date, calendar: HolidayCalendar) -> date:
    """``d`` itself if it is a business day, else the nearest earlier business day."""
    while not is_business_day(d, calendar):
        d -= _ONE_DAY
    return d


def subtract_business_days(d: date, n: int, calendar: HolidayCalendar) -> date:
    """The business day lying ``n`` business days before ``d`` (counting only days before ``d``).

    ``n == 0`` gives ``previous_business_day(d)``, so the result is always a business day.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return previous_business_day(d, calendar)
    year = d.year
    days_off = calendar.holidays_in(year)
    while n:
        d -= _ONE_DAY
        if d.year != year:
            year = d.year
            days_off = calendar.holidays_in(year)
        if d.weekday() < 5 and d not in days_off:
            n -= 1
    return d


# --- contracts and plans -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContractTerms:
    """What a contract says about its term; validated on construction (raises ``ContractError``)."""

    start_date: date
    term_months: int
    auto_renew: bool
    notice_days: int
    notice_basis: NoticeBasis = "calendar"
    renewal_date: date | None = None
    reminder_lead_days: tuple[int, ...] = DEFAULT_REMINDER_LEAD_DAYS

    def __post_init__(self) -> None:
        _check_date(self.start_date, "start_date", ContractError)
        _check_int(self.term_months, "term_months", 1, MAX_TERM_MONTHS)
        if not isinstance(self.auto_renew, bool):
            raise ContractError("auto_renew must be true or false", field="auto_renew")
        _check_int(self.notice_days, "notice_days", 0, MAX_NOTICE_DAYS)
        if self.notice_basis not in ("calendar", "business"):
            raise ContractError(
                f"notice_basis must be 'calendar' or 'business', got {self.notice_basis!r}",
                field="notice_basis",
            )
        if self.renewal_date is not None:
            _check_date(self.renewal_date, "renewal_date", ContractError)
            if self.renewal_date <= self.start_date:
                raise ContractError(
                    f"renewal_date {self.renewal_date} must be after start_date {self.start_date}",
                    field="renewal_date",
                )
        if not isinstance(self.reminder_lead_days, tuple):
            raise ContractError("reminder_lead_days must be a tuple of integers", field="reminder_lead_days")
        for lead in self.reminder_lead_days:
            _check_int(lead, "reminder_lead_days", 0, MAX_NOTICE_DAYS)


@dataclass(frozen=True)
class RenewalPlan:
    """The term that renews next and, when its deadline has passed, the first term whose
    deadline is still ahead (``next_…``): the register shows the first, reminders follow the
    second. Without auto-renew, and while the deadline is ahead, both are the same term."""

    term_start: date
    renewal_date: date
    term_end: date
    cancel_by: date | None
    deadline: date
    reminders: tuple[date, ...]  # empty once the deadline has passed
    next_renewal_date: date
    next_cancel_by: date | None
    next_deadline: date
    next_reminders: tuple[date, ...]


def _renewal_date(terms: ContractTerms, i: int) -> date:
    """The i-th renewal date of the schedule, always computed from its anchor (no drift).

    Computed schedules anchor on the start (i ≥ 1); an explicit ``renewal_date`` anchors on
    itself (i ≥ 0), later renewals following every ``term_months`` after it.
    """
    if terms.renewal_date is not None:
        return add_months(terms.renewal_date, terms.term_months * i)
    return add_months(terms.start_date, terms.term_months * i)


def _deadline(terms: ContractTerms, renewal: date, calendar: HolidayCalendar) -> tuple[date | None, date]:
    term_end = renewal - _ONE_DAY
    if not terms.auto_renew:
        return None, previous_business_day(term_end, calendar)
    if terms.notice_days == 0:
        cancel_by = previous_business_day(term_end, calendar)
    elif terms.notice_basis == "business":
        cancel_by = subtract_business_days(renewal, terms.notice_days, calendar)
    else:
        cancel_by = previous_business_day(renewal - timedelta(days=terms.notice_days), calendar)
    return cancel_by, cancel_by


def _reminders(
    terms: ContractTerms,
    i: int,
    deadline: date,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    last_reminder_sent: date | None,
) -> tuple[date, ...]:
    """The reminders of the i-th term still to come on or after ``as_of`` (see `plan_renewal`)."""
    first = 0 if terms.renewal_date is not None else 1
    window_opens = None if i == first else _deadline(terms, _renewal_date(terms, i - 1), calendar)[1] + _ONE_DAY
    scheduled = {previous_business_day(deadline - timedelta(days=lead), calendar) for lead in terms.reminder_lead_days}
    reminders = {d for d in scheduled if d >= as_of}
    missed = len(reminders) < len(scheduled)
    sent_this_term = last_reminder_sent is not None and (window_opens is None or last_reminder_sent >= window_opens)
    if missed and not sent_this_term and deadline >= as_of:
        reminders.add(as_of)
    return tuple(sorted(reminders))


def plan_renewal(
    terms: ContractTerms,
    *,
    as_of: date,
    calendar: HolidayCalendar,
    last_reminder_sent: date | None = None,
) -> RenewalPlan:
    """Plan the term that renews next after ``as_of``, and the first term whose deadline is
    still ahead (``next_…``).

    * Auto-renew: the renewal date is the first one after ``as_of``, even when that term's
      cancel-by has already passed (the plan then shows it as past and has no reminders). The
      ``next_…`` term is the first whose cancel-by is on or after ``as_of`` (several terms on,
      when the notice is longer than a term). With an explicit ``renewal_date`` the later
      renewals are ``renewal_date + term_months × j``.
    * No auto-renew: always the first term (k = 1), even when ``as_of`` is past it; the plan then
      has no reminders, and ``next_…`` is the same term.
    * Reminders are ``deadline − L`` moved earlier to a business day, deduplicated and sorted;
      those before ``as_of`` are dropped. If any was dropped, the deadline is still ≥ ``as_of`` and
      no reminder was sent this term, one catch-up reminder is added on ``as_of`` exactly as given
      (it may fall on a weekend or holiday: the point is to notify now, not on the next business day).
    * ``last_reminder_sent`` counts for a term when it is after the previous term's deadline
      (the start of that term's reminder window); in the first term any sent reminder counts.
      ``None`` means no reminder has been sent.
    """
    _check_date(as_of, "as_of", ContractError)
    if last_reminder_sent is not None:
        _check_date(last_reminder_sent, "last_reminder_sent", ContractError)
        if last_reminder_sent > as_of:
            raise ContractError(
                f"last_reminder_sent {last_reminder_sent} is after as_of {as_of}", field="last_reminder_sent"
            )

    first = 0 if terms.renewal_date is not None else 1
    i = first
    if terms.auto_renew:
        anchor = terms.renewal_date or terms.start_date
        months = (as_of.year - anchor.year) * 12 + as_of.month - anchor.month
        # Jump close to the answer, then step; the estimate is at most one term short.
        i = max(first, months // terms.term_months)
        while i > first and _renewal_date(terms, i - 1) > as_of:
            i -= 1
        while _renewal_date(terms, i) <= as_of:
            i += 1
    renewal = _renewal_date(terms, i)
    cancel_by, deadline = _deadline(terms, renewal, calendar)
    j, next_renewal, next_cancel_by, next_deadline = i, renewal, cancel_by, deadline
    if terms.auto_renew:
        while next_deadline < as_of:
            j += 1
            next_renewal = _renewal_date(terms, j)
            next_cancel_by, next_deadline = _deadline(terms, next_renewal, calendar)

    term_start = terms.start_date if i == first else _renewal_date(terms, i - 1)
    reminders = _reminders(terms, i, deadline, as_of=as_of, calendar=calendar, last_reminder_sent=last_reminder_sent)
    next_reminders = (
        reminders
        if j == i
        else _reminders(terms, j, next_deadline, as_of=as_of, calendar=calendar, last_reminder_sent=last_reminder_sent)
    )
    return RenewalPlan(
        term_start=term_start,
        renewal_date=renewal,
        term_end=renewal - _ONE_DAY,
        cancel_by=cancel_by,
        deadline=deadline,
        reminders=reminders,
        next_renewal_date=next_renewal,
        next_cancel_by=next_cancel_by,
        next_deadline=next_deadline,
        next_reminders=next_reminders,
    )


def due_reminders(plans: Mapping[_K, RenewalPlan], on: date) -> list[_K]:
    """Keys of the plans that have a reminder on ``on`` (of the term whose deadline is still
    ahead), in the mapping's order."""
    return [key for key, plan in plans.items() if on in plan.next_reminders]

"""Renewal planning: hand-worked cases for each convention, properties over random contracts, the CLI."""

from __future__ import annotations

import calendar as _calendar
import json
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from catalog.rules.renewals import (
    CalendarError,
    ContractError,
    ContractTerms,
    HolidayCalendar,
    RenewalPlan,
    add_months,
    due_reminders,
    is_business_day,
    plan_renewal,
    previous_business_day,
    subtract_business_days,
)
from procure.renewals_cli import renewals_app

US = HolidayCalendar(country="US")
WEEKENDS_ONLY = HolidayCalendar()
D = date


def last_day(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


def plan(terms: ContractTerms, as_of: date, calendar: HolidayCalendar = US, **kw: date | None) -> RenewalPlan:
    return plan_renewal(terms, as_of=as_of, calendar=calendar, **kw)


def one_term(**fields: object) -> RenewalPlan:
    """A plan whose term renewing next is also the next one with a deadline ahead."""
    return RenewalPlan(
        **fields,  # type: ignore[arg-type]
        next_renewal_date=fields["renewal_date"],  # type: ignore[arg-type]
        next_cancel_by=fields["cancel_by"],  # type: ignore[arg-type]
        next_deadline=fields["deadline"],  # type: ignore[arg-type]
        next_reminders=fields["reminders"],  # type: ignore[arg-type]
    )


# --- month arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2026, 1, 31), 2, D(2026, 3, 31)),
        (D(2026, 1, 31), 3, D(2026, 4, 30)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2026, 5, 15), 0, D(2026, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_month_end_start_does_not_drift_over_many_terms() -> None:
    start = D(2026, 1, 31)
    assert [add_months(start, n) for n in range(60)] == [last_day(2026 + (n // 12), n % 12 + 1) for n in range(60)]
    terms = ContractTerms(start_date=start, term_months=1, auto_renew=True, notice_days=0)
    for n in range(1, 36):
        year, month = 2026 + n // 12, n % 12 + 1
        assert plan(terms, D(year, month, 1)).renewal_date == last_day(year, month)


def test_leap_day_start_renews_on_feb_28_and_back_on_feb_29() -> None:
    terms = ContractTerms(start_date=D(2028, 2, 29), term_months=12, auto_renew=True, notice_days=30)
    assert plan(terms, D(2028, 3, 1)).renewal_date == D(2029, 2, 28)
    assert plan(terms, D(2030, 1, 1)).renewal_date == D(2030, 2, 28)
    result = plan(terms, D(2031, 6, 1))
    assert (result.term_start, result.renewal_date, result.term_end) == (
        D(2031, 2, 28),
        D(2032, 2, 29),
        D(2032, 2, 28),
    )


# --- business days -------------------------------------------------------------------------------


def test_us_holidays_weekends_and_observed_days() -> None:
    assert not is_business_day(D(2026, 7, 3), US)  # July 4 2026 is a Saturday, observed Friday
    assert not is_business_day(D(2026, 7, 4), US)
    assert is_business_day(D(2026, 7, 2), US)
    assert is_business_day(D(2026, 7, 3), WEEKENDS_ONLY)
    assert not is_business_day(D(2021, 12, 31), US)  # New Year 2022 (a Saturday) observed
    assert previous_business_day(D(2026, 7, 5), US) == D(2026, 7, 2)
    assert previous_business_day(D(2026, 7, 2), US) == D(2026, 7, 2)


def test_company_holidays_and_subdivisions() -> None:
    company = HolidayCalendar(country="US", extra=frozenset({D(2026, 7, 2)}))
    assert previous_business_day(D(2026, 7, 5), company) == D(2026, 7, 1)
    california = HolidayCalendar(country="US", subdivision="CA")
    assert not is_business_day(D(2026, 3, 31), california)  # César Chávez Day
    assert is_business_day(D(2026, 3, 31), US)


def test_subtract_business_days_skips_christmas() -> None:
    assert subtract_business_days(D(2026, 12, 28), 3, US) == D(2026, 12, 22)
    assert subtract_business_days(D(2026, 12, 28), 3, WEEKENDS_ONLY) == D(2026, 12, 23)
    assert subtract_business_days(D(2026, 12, 28), 1, US) == D(2026, 12, 24)
    assert subtract_business_days(D(2026, 12, 27), 0, US) == D(2026, 12, 24)
    with pytest.raises(ValueError):
        subtract_business_days(D(2026, 12, 28), -1, US)


# --- renewal date --------------------------------------------------------------------------------


def test_auto_renew_picks_first_renewal_after_as_of() -> None:
    terms = ContractTerms(start_date=D(2024, 3, 15), term_months=12, auto_renew=True, notice_days=30)
    result = plan(terms, D(2026, 1, 10))
    assert result == one_term(
        term_start=D(2025, 3, 15),
        renewal_date=D(2026, 3, 15),
        term_end=D(2026, 3, 14),
        cancel_by=D(2026, 2, 13),  # Mar 15 − 30 days = Sat Feb 14 → Fri Feb 13
        deadline=D(2026, 2, 13),
        # Nov 14 and Dec 15 were missed and nothing was sent: catch-up on as_of (a Saturday).
        reminders=(D(2026, 1, 10), D(2026, 1, 14), D(2026, 2, 6)),
    )
    assert plan(terms, D(2024, 1, 1)).renewal_date == D(2025, 3, 15)  # as_of before start: k = 1


def test_renewal_date_equal_to_as_of_is_not_after_it() -> None:
    terms = ContractTerms(start_date=D(2024, 3, 15), term_months=12, auto_renew=True, notice_days=0)
    assert plan(terms, D(2026, 3, 15)).renewal_date == D(2027, 3, 15)


def test_without_auto_renew_the_first_term_is_planned_even_after_it_ended() -> None:
    terms = ContractTerms(start_date=D(2024, 3, 15), term_months=12, auto_renew=False, notice_days=30)
    result = plan(terms, D(2026, 1, 10))
    assert result == one_term(
        term_start=D(2024, 3, 15),
        renewal_date=D(2025, 3, 15),
        term_end=D(2025, 3, 14),
        cancel_by=None,
        deadline=D(2025, 3, 14),
        reminders=(),
    )


def test_without_auto_renew_the_deadline_is_the_term_end_on_a_business_day() -> None:
    terms = ContractTerms(start_date=D(2025, 7, 5), term_months=12, auto_renew=False, notice_days=30)
    result = plan(terms, D(2026, 6, 1))
    assert (result.term_end, result.cancel_by, result.deadline) == (D(2026, 7, 4), None, D(2026, 7, 2))
    assert result.reminders == (D(2026, 6, 1), D(2026, 6, 2), D(2026, 6, 25))  # catch-up, −30, −7


def test_explicit_renewal_date_wins_and_anchors_later_renewals() -> None:
    terms = ContractTerms(
        start_date=D(2025, 1, 1),
        term_months=12,
        auto_renew=True,
        notice_days=30,
        renewal_date=D(2025, 6, 30),
    )
    first = plan(terms, D(2025, 3, 1))
    assert (first.term_start, first.renewal_date) == (D(2025, 1, 1), D(2025, 6, 30))
    later = plan(terms, D(2025, 8, 1))
    assert (later.term_start, later.renewal_date, later.cancel_by) == (
        D(2025, 6, 30),
        D(2026, 6, 30),
        D(2026, 5, 29),
    )
    fixed = ContractTerms(
        start_date=D(2025, 1, 1),
        term_months=12,
        auto_renew=False,
        notice_days=30,
        renewal_date=D(2025, 6, 30),
    )
    assert plan(fixed, D(2026, 8, 1)).renewal_date == D(2025, 6, 30)


# --- cancel-by -----------------------------------------------------------------------------------


def christmas_contract(basis: str, notice_days: int) -> ContractTerms:
    # Renews Monday 2026-12-28; Christmas (Fri Dec 25) sits inside the notice period.
    return ContractTerms(
        start_date=D(2025, 12, 28),
        term_months=12,
        auto_renew=True,
        notice_days=notice_days,
        notice_basis=basis,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("basis", "notice", "calendar", "expected"),
    [
        ("business", 3, US, D(2026, 12, 22)),  # Thu 24, Wed 23, Tue 22 (Fri 25 is Christmas)
        ("business", 3, WEEKENDS_ONLY, D(2026, 12, 23)),
        ("calendar", 3, US, D(2026, 12, 24)),  # Fri 25 is a holiday → Thu 24
        ("calendar", 3, WEEKENDS_ONLY, D(2026, 12, 25)),
        ("calendar", 1, US, D(2026, 12, 24)),  # Sun 27 → Fri 25 (holiday) → Thu 24
        ("business", 0, US, D(2026, 12, 24)),  # notice 0: the term end (Sun 27) moved earlier
        ("calendar", 0, US, D(2026, 12, 24)),
        ("calendar", 0, WEEKENDS_ONLY, D(2026, 12, 25)),
    ],
)
def test_cancel_by_around_christmas(basis: str, notice: int, calendar: HolidayCalendar, expected: date) -> None:
    result = plan(christmas_contract(basis, notice), D(2026, 6, 1), calendar)
    assert (result.renewal_date, result.cancel_by, result.deadline) == (D(2026, 12, 28), expected, expected)


@pytest.mark.parametrize(
    ("basis", "notice", "calendar", "expected"),
    [
        ("calendar", 2, US, D(2026, 7, 2)),  # Sat Jul 4 → Fri Jul 3 (observed) → Thu Jul 2
        ("calendar", 2, WEEKENDS_ONLY, D(2026, 7, 3)),
        ("business", 1, US, D(2026, 7, 2)),
        ("business", 1, WEEKENDS_ONLY, D(2026, 7, 3)),
        ("business", 5, US, D(2026, 6, 26)),  # Jul 2, 1, Jun 30, 29, 26
    ],
)
def test_cancel_by_around_independence_day(basis: str, notice: int, calendar: HolidayCalendar, expected: date) -> None:
    terms = ContractTerms(
        start_date=D(2025, 7, 6),
        term_months=12,
        auto_renew=True,
        notice_days=notice,
        notice_basis=basis,  # type: ignore[arg-type]
    )
    assert plan(terms, D(2026, 1, 1), calendar).cancel_by == expected


def test_notice_zero_is_the_term_end_moved_to_a_business_day() -> None:
    terms = ContractTerms(start_date=D(2025, 3, 1), term_months=12, auto_renew=True, notice_days=0)
    result = plan(terms, D(2026, 1, 2))
    assert (result.term_end, result.cancel_by) == (D(2026, 2, 28), D(2026, 2, 27))


# --- reminders -----------------------------------------------------------------------------------

# Renews 2026-04-15 with 30 days' notice: cancel-by Monday 2026-03-16. Default reminders:
# −90 Tue Dec 16, −60 Thu Jan 15, −30 Sat Feb 14 → Fri Feb 13, −7 Mon Mar 9.
SECOND_TERM = ContractTerms(start_date=D(2024, 4, 15), term_months=12, auto_renew=True, notice_days=30)
# The previous term's cancel-by: 2025-04-15 − 30 = Sun 2025-03-16 → Fri 2025-03-14.


def test_reminders_all_in_the_future() -> None:
    result = plan(SECOND_TERM, D(2025, 12, 1))
    assert result.deadline == D(2026, 3, 16)
    assert result.reminders == (D(2025, 12, 16), D(2026, 1, 15), D(2026, 2, 13), D(2026, 3, 9))


def test_reminders_that_fall_back_to_the_same_business_day_are_sent_once() -> None:
    terms = ContractTerms(
        start_date=D(2025, 4, 15),
        term_months=12,
        auto_renew=True,
        notice_days=30,
        reminder_lead_days=(9, 8, 7),  # Sat Mar 7 and Sun Mar 8 both fall back to Fri Mar 6
    )
    assert plan(terms, D(2026, 1, 1)).reminders == (D(2026, 3, 6), D(2026, 3, 9))


def test_catch_up_when_reminders_were_missed_and_none_was_sent() -> None:
    result = plan(SECOND_TERM, D(2026, 1, 20))
    assert result.reminders == (D(2026, 1, 20), D(2026, 2, 13), D(2026, 3, 9))


def test_catch_up_is_sent_on_as_of_even_on_a_weekend() -> None:
    assert plan(SECOND_TERM, D(2026, 1, 24)).reminders == (D(2026, 1, 24), D(2026, 2, 13), D(2026, 3, 9))


def test_no_catch_up_when_a_reminder_was_sent_this_term() -> None:
    result = plan(SECOND_TERM, D(2026, 1, 20), last_reminder_sent=D(2026, 1, 15))
    assert result.reminders == (D(2026, 2, 13), D(2026, 3, 9))
    # Sent after the previous term's cancel-by (2025-03-14): it belongs to this term.
    result = plan(SECOND_TERM, D(2026, 1, 20), last_reminder_sent=D(2025, 3, 20))
    assert result.reminders == (D(2026, 2, 13), D(2026, 3, 9))


def test_a_reminder_sent_for_the_previous_term_does_not_count() -> None:
    result = plan(SECOND_TERM, D(2026, 1, 20), last_reminder_sent=D(2025, 3, 10))
    assert result.reminders == (D(2026, 1, 20), D(2026, 2, 13), D(2026, 3, 9))


def test_catch_up_on_the_deadline_itself() -> None:
    assert plan(SECOND_TERM, D(2026, 3, 16)).reminders == (D(2026, 3, 16),)
    assert plan(SECOND_TERM, D(2026, 3, 16), last_reminder_sent=D(2026, 3, 9)).reminders == ()


def test_no_catch_up_without_auto_renew_once_the_deadline_passed() -> None:
    terms = ContractTerms(start_date=D(2025, 4, 15), term_months=12, auto_renew=False, notice_days=30)
    result = plan(terms, D(2026, 4, 20))
    assert (result.deadline, result.reminders) == (D(2026, 4, 14), ())


def test_once_the_cancel_by_passed_the_renewal_still_comes_and_reminders_follow_the_next_term() -> None:
    result = plan(SECOND_TERM, D(2026, 3, 17), last_reminder_sent=D(2026, 3, 9))
    assert result == RenewalPlan(
        # The charge on 2026-04-15 is still coming: that is the renewal, its deadline shown as past.
        term_start=D(2025, 4, 15),
        renewal_date=D(2026, 4, 15),
        term_end=D(2026, 4, 14),
        cancel_by=D(2026, 3, 16),
        deadline=D(2026, 3, 16),
        reminders=(),
        # The reminders go out for the first term whose deadline is ahead.
        next_renewal_date=D(2027, 4, 15),
        next_cancel_by=D(2027, 3, 16),
        next_deadline=D(2027, 3, 16),
        next_reminders=(D(2026, 12, 16), D(2027, 1, 15), D(2027, 2, 12), D(2027, 3, 9)),
    )


def test_the_issue_example_renews_in_four_weeks_not_in_a_year() -> None:
    # Issue 18 §5: on 2026-12-17, renewing 2027-01-15 with 30 days' notice (deadline 2026-12-16).
    terms = ContractTerms(start_date=D(2026, 1, 15), term_months=12, auto_renew=True, notice_days=30)
    result = plan(terms, D(2026, 12, 17))
    assert (result.renewal_date, result.deadline, result.reminders) == (D(2027, 1, 15), D(2026, 12, 16), ())
    assert (result.next_renewal_date, result.next_deadline) == (D(2028, 1, 15), D(2027, 12, 16))


def test_notice_longer_than_a_term_rolls_the_next_deadline_until_it_is_ahead() -> None:
    terms = ContractTerms(start_date=D(2026, 1, 1), term_months=1, auto_renew=True, notice_days=45)
    result = plan(terms, D(2026, 1, 10))
    # Renews Feb 1 (its cancel-by, Dec 18, passed); Mar 1's cancel-by is Jan 15.
    assert (result.term_start, result.renewal_date, result.cancel_by, result.reminders) == (
        D(2026, 1, 1),
        D(2026, 2, 1),
        D(2025, 12, 18),
        (),
    )
    assert (result.next_renewal_date, result.next_cancel_by, result.next_reminders) == (
        D(2026, 3, 1),
        D(2026, 1, 15),
        (D(2026, 1, 10),),
    )


def test_due_reminders() -> None:
    plans = {"slack": plan(SECOND_TERM, D(2025, 12, 1)), "zoom": plan(SECOND_TERM, D(2026, 1, 20))}
    assert due_reminders(plans, D(2025, 12, 16)) == ["slack"]
    assert due_reminders(plans, D(2026, 2, 13)) == ["slack", "zoom"]
    assert due_reminders(plans, D(2026, 2, 14)) == []


# --- validation ----------------------------------------------------------------------------------

VALID = {"start_date": D(2025, 1, 1), "term_months": 12, "auto_renew": True, "notice_days": 30}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"term_months": 0}, "term_months"),
        ({"term_months": True}, "term_months"),
        ({"notice_days": -1}, "notice_days"),
        ({"reminder_lead_days": (30, -7)}, "reminder_lead_days"),
        ({"reminder_lead_days": [30]}, "reminder_lead_days"),
        ({"renewal_date": D(2024, 12, 31)}, "renewal_date"),
        ({"renewal_date": D(2025, 1, 1)}, "renewal_date"),
        ({"start_date": datetime(2025, 1, 1)}, "start_date"),
        ({"start_date": "2025-01-01"}, "start_date"),
        ({"notice_basis": "weekdays"}, "notice_basis"),
        ({"auto_renew": 1}, "auto_renew"),
    ],
)
def test_invalid_terms_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ContractError) as raised:
        ContractTerms(**{**VALID, **change})  # type: ignore[arg-type]
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith(field)


def test_invalid_plan_inputs_name_the_field() -> None:
    terms = ContractTerms(**VALID)  # type: ignore[arg-type]
    with pytest.raises(ContractError) as raised:
        plan(terms, D(2025, 6, 1), last_reminder_sent=D(2025, 6, 2))
    assert raised.value.field == "last_reminder_sent"
    with pytest.raises(ContractError) as raised:
        plan(terms, D(9999, 1, 1))
    assert raised.value.field == "as_of"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"country": "ZZ"}, "country"),
        ({"country": "us"}, "country"),
        ({"subdivision": "CA"}, "subdivision"),
        ({"country": "US", "subdivision": "ZZ"}, "subdivision"),
        ({"extra": frozenset({"2026-01-02"})}, "extra"),
    ],
)
def test_invalid_calendars_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(CalendarError) as raised:
        HolidayCalendar(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


# --- properties ----------------------------------------------------------------------------------

PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)
CALENDARS = st.sampled_from(
    [
        WEEKENDS_ONLY,
        US,
        HolidayCalendar(country="US", subdivision="CA"),
        HolidayCalendar(country="GB", subdivision="ENG"),
        HolidayCalendar(extra=frozenset(D(2026, 12, d) for d in range(21, 32))),
    ]
)
days = st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31))


@st.composite
def contracts(draw: st.DrawFn) -> ContractTerms:
    start = draw(days)
    explicit = draw(st.none() | st.integers(1, 800).map(lambda n: start + timedelta(days=n)))
    return ContractTerms(
        start_date=start,
        term_months=draw(st.integers(1, 36)),
        auto_renew=draw(st.booleans()),
        notice_days=draw(st.integers(0, 120)),
        notice_basis=draw(st.sampled_from(["calendar", "business"])),
        renewal_date=explicit,
        reminder_lead_days=tuple(draw(st.lists(st.integers(0, 200), max_size=5))),
    )


@st.composite
def planned(draw: st.DrawFn) -> tuple[ContractTerms, date, HolidayCalendar, RenewalPlan]:
    terms, as_of, calendar = draw(contracts()), draw(days), draw(CALENDARS)
    sent = draw(st.none() | st.integers(0, 400).map(lambda n: as_of - timedelta(days=n)))
    return terms, as_of, calendar, plan(terms, as_of, calendar, last_reminder_sent=sent)


@PROPERTIES
@given(planned())
def test_plan_properties(case: tuple[ContractTerms, date, HolidayCalendar, RenewalPlan]) -> None:
    terms, as_of, calendar, result = case
    assert result.term_end == result.renewal_date - timedelta(days=1)
    assert result.term_start < result.renewal_date
    assert is_business_day(result.deadline, calendar)
    assert result.deadline <= result.term_end
    if terms.auto_renew:
        assert result.renewal_date > as_of
        assert result.cancel_by is not None and result.next_cancel_by is not None
        assert result.cancel_by == result.deadline
        assert result.next_cancel_by == result.next_deadline >= as_of
        assert result.next_renewal_date >= result.renewal_date
        # The next term is the first whose deadline is ahead: the same term unless it passed.
        assert (result.next_renewal_date == result.renewal_date) == (result.deadline >= as_of)
    else:
        assert result.cancel_by is None
        assert result.term_start == terms.start_date
        assert (result.next_renewal_date, result.next_deadline) == (result.renewal_date, result.deadline)
    if result.deadline < as_of:
        assert result.reminders == ()
    for reminders, deadline in ((result.reminders, result.deadline), (result.next_reminders, result.next_deadline)):
        assert list(reminders) == sorted(set(reminders))
        for reminder in reminders:
            assert as_of <= reminder <= deadline
            assert is_business_day(reminder, calendar) or reminder == as_of


@PROPERTIES
@given(contracts(), days, CALENDARS)
def test_cancel_by_honours_the_notice(terms: ContractTerms, as_of: date, calendar: HolidayCalendar) -> None:
    result = plan(terms, as_of, calendar)
    if result.cancel_by is None or terms.notice_days == 0:
        return
    renewal, cancel_by = result.renewal_date, result.cancel_by
    between = [cancel_by + timedelta(days=n) for n in range(1, (renewal - cancel_by).days)]
    if terms.notice_basis == "business":
        assert sum(is_business_day(d, calendar) for d in between) == terms.notice_days - 1
    else:
        latest = renewal - timedelta(days=terms.notice_days)
        assert cancel_by <= latest
        assert not any(is_business_day(d, calendar) for d in between if d <= latest)


@PROPERTIES
@given(days, st.integers(-240, 240))
def test_add_months_properties(start: date, months: int) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day <= start.day
    assert moved.day == start.day or moved == last_day(moved.year, moved.month)
    assert add_months(moved, -months).day <= start.day
    if start.day <= 28:
        assert moved.day == start.day
        assert add_months(moved, -months) == start


@PROPERTIES
@given(days, st.integers(0, 300), CALENDARS)
def test_subtract_business_days_counts_business_days(start: date, n: int, calendar: HolidayCalendar) -> None:
    result = subtract_business_days(start, n, calendar)
    assert is_business_day(result, calendar)
    if n == 0:
        assert result == previous_business_day(start, calendar)
    else:
        span = [result + timedelta(days=k) for k in range((start - result).days)]
        assert sum(is_business_day(d, calendar) for d in span) == n


# --- CLI -----------------------------------------------------------------------------------------

runner = CliRunner()
GOOD = {
    "start_date": "2025-12-28",
    "term_months": 12,
    "auto_renew": True,
    "notice_days": 3,
    "notice_basis": "business",
    "as_of": "2026-06-01",
    "country": "US",
}


def run(*lines: str) -> tuple[int, list[dict[str, object]]]:
    result = runner.invoke(renewals_app, ["plan", "--json"], input="\n".join(lines) + "\n")
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_cli_plans_good_lines() -> None:
    fixed = {**GOOD, "auto_renew": False, "reminder_lead_days": [30], "as_of": "2026-11-01"}
    code, out = run(json.dumps(GOOD), "", json.dumps(fixed))
    assert code == 0
    assert out == [
        {
            "renewal_date": "2026-12-28",
            "term_end": "2026-12-27",
            "cancel_by": "2026-12-22",
            "deadline": "2026-12-22",
            "reminders": ["2026-09-23", "2026-10-23", "2026-11-20", "2026-12-15"],
            "next_renewal_date": "2026-12-28",
            "next_cancel_by": "2026-12-22",
            "next_deadline": "2026-12-22",
            "next_reminders": ["2026-09-23", "2026-10-23", "2026-11-20", "2026-12-15"],
        },
        {
            "renewal_date": "2026-12-28",
            "term_end": "2026-12-27",
            "cancel_by": None,
            "deadline": "2026-12-24",
            "reminders": ["2026-11-24"],
            "next_renewal_date": "2026-12-28",
            "next_cancel_by": None,
            "next_deadline": "2026-12-24",
            "next_reminders": ["2026-11-24"],
        },
    ]


def test_cli_plans_a_contract_known_only_by_its_renewal_date_after_its_deadline() -> None:
    # Issue 18 §5: no start_date (a Snipe-IT licence knows its expiry only); on 2026-12-17 the
    # 2027-01-15 renewal is still the one shown, its deadline passed; reminders move on a term.
    line = {"renewal_date": "2027-01-15", "term_months": 12, "auto_renew": True, "notice_days": 30}
    code, out = run(json.dumps({**line, "as_of": "2026-12-17", "country": "US"}))
    assert code == 0, out
    assert out[0] == {
        "renewal_date": "2027-01-15",
        "term_end": "2027-01-14",
        "cancel_by": "2026-12-16",
        "deadline": "2026-12-16",
        "reminders": [],
        "next_renewal_date": "2028-01-15",
        "next_cancel_by": "2027-12-16",
        "next_deadline": "2027-12-16",
        "next_reminders": ["2027-09-17", "2027-10-15", "2027-11-16", "2027-12-09"],
    }
    no_dates = {**line, "renewal_date": None, "as_of": "2026-06-01"}
    code, out = run(json.dumps({**line, "as_of": "2026-06-01"}), json.dumps(no_dates))
    assert code == 1
    assert out[0]["renewal_date"] == "2027-01-15" and out[0]["deadline"] == "2026-12-16"
    assert out[1] == {"error": out[1]["error"], "field": "start_date", "line": 2}


def test_cli_prints_usage_when_stdin_is_a_terminal() -> None:
    """Run from a shell with nothing piped in, the command explains itself instead of waiting."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    procure = str(Path(sys.executable).parent / "procure")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [procure, "renewals", "plan", "--json"],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert "reads contracts from stdin" in done.stderr and "procure renewals plan --json <" in done.stderr
    assert done.stdout == ""


def test_cli_optional_fields() -> None:
    line = {
        **GOOD,
        "notice_basis": None,
        "notice_days": 2,
        "renewal_date": "2026-07-06",
        "holidays": ["2026-07-02"],
        "as_of": "2026-06-29",
        "last_reminder_sent": "2026-06-26",
    }
    code, out = run(json.dumps(line))
    # Calendar basis by default: Sat Jul 4 → Fri Jul 3 (observed) → Thu Jul 2 (company) → Wed Jul 1.
    assert code == 0
    assert out[0]["cancel_by"] == "2026-07-01"
    assert out[0]["reminders"] == []  # all missed, one already sent this term


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_date": None}, "start_date"),  # and no renewal_date
        ({"term_months": "12"}, "term_months"),
        ({"term_months": 0}, "term_months"),
        ({"auto_renew": "yes"}, "auto_renew"),
        ({"notice_days": -3}, "notice_days"),
        ({"notice_basis": "weekly"}, "notice_basis"),
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"as_of": "20260601"}, "as_of"),
        ({"renewal_date": "2025-01-01"}, "renewal_date"),
        ({"reminder_lead_days": [30, -1]}, "reminder_lead_days"),
        ({"reminder_lead_days": 30}, "reminder_lead_days"),
        ({"holidays": ["2026-13-01"]}, "holidays"),
        ({"holidays": "2026-12-24"}, "holidays"),
        ({"country": "Atlantis"}, "country"),
        ({"country": 1}, "country"),
        ({"subdivision": "ZZ"}, "subdivision"),
        ({"last_reminder_sent": "2026-06-02"}, "last_reminder_sent"),
        ({"notice_day": 3}, "notice_day"),
    ],
)
def test_cli_bad_line_names_the_field(change: dict[str, object], field: str) -> None:
    line = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    code, out = run(json.dumps(line))
    assert code == 1
    assert out == [{"error": out[0]["error"], "field": field, "line": 1}]
    assert field in str(out[0]["error"])


def test_cli_keeps_going_after_bad_lines() -> None:
    code, out = run("{not json", json.dumps(GOOD), "", "[1, 2]", json.dumps({**GOOD, "term_months": 0}))
    assert code == 1
    assert [row.get("line") for row in out] == [1, None, 4, 5]
    assert [row.get("field") for row in out] == [None, None, None, "term_months"]
    assert out[1]["renewal_date"] == "2026-12-28"


def test_cli_reports_undecodable_and_absurd_lines() -> None:
    huge_term = json.dumps({**GOOD, "term_months": 0}).replace('"term_months": 0', '"term_months": 1e999')
    lines = [b"\xff\xfe", b"[" * 100_000, huge_term.encode()]
    result = runner.invoke(renewals_app, ["plan", "--json"], input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(row["line"], row["field"]) for row in rows] == [(1, None), (2, None), (3, "term_months")]


def test_cli_requires_the_json_flag() -> None:
    result = runner.invoke(renewals_app, ["plan"], input=json.dumps(GOOD) + "\n")
    assert result.exit_code == 2

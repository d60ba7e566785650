"""Parsing an asset register file (Snipe-IT license CSV or our YAML) into validated records."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.importers.assets import (
    MAX_STORED_CENTS,
    AssetImportError,
    ImportDefaults,
    parse_csv,
    parse_date,
    parse_file,
    parse_yaml,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "snipeit_licenses.csv"
DEFAULTS = ImportDefaults(cost_center="CC-IT")
HEADER = "Name,Seats,Licensed to Email,Purchase Date,Expiration Date,Purchase Cost,cost_center\n"


def _issues(text: str, *, yaml_format: bool = False) -> list[tuple[int, str | None]]:
    with pytest.raises(AssetImportError) as caught:
        (parse_yaml if yaml_format else parse_csv)(text, defaults=DEFAULTS)
    return [(issue.line, issue.field) for issue in caught.value.issues]


def test_the_snipeit_sample_maps_onto_assets_and_contracts() -> None:
    parsed = parse_file(SAMPLE.name, SAMPLE.read_text(encoding="utf-8"), defaults=DEFAULTS)
    by_name = {r.product_name: r for r in parsed.records}
    assert len(parsed.records) == 6 and parsed.ignored_columns == ()

    figma = by_name["Figma"]
    assert (figma.vendor, figma.owner_email, figma.cost_center) == (
        "Figma, Inc.",
        "design-ops@example.com",
        "CC-DESIGN",
    )
    assert (figma.start_date, figma.renewal_date, figma.term_months) == (date(2025, 2, 1), date(2026, 2, 1), 12)
    assert (figma.seats, figma.unit_price_cents, figma.annual_cost_cents) == (40, 18000, 720000)

    # 3-year prepaid bought on 03/15/2024: term derived from the dates, the cost annualised.
    jira = by_name["Jira Software Cloud"]
    assert (jira.start_date, jira.renewal_date, jira.term_months) == (date(2024, 3, 15), date(2027, 3, 15), 36)
    assert (jira.annual_cost_cents, jira.unit_price_cents, jira.auto_renew) == (1200000, 10000, False)

    slack = by_name["Slack Business+"]
    assert slack.cost_center == "CC-IT"  # the --cost-center default for a row that names none
    assert (slack.notice_days, slack.notice_basis, slack.annual_cost_cents) == (60, "business", 2700000)

    assert by_name["Miro"].channel == "aws_marketplace"

    # Terminated: no auto-renewal, and the termination date ends the term (12 months, not 11).
    adobe = by_name["Adobe Creative Cloud for teams"]
    assert (adobe.auto_renew, adobe.renewal_date, adobe.term_months) == (False, date(2026, 1, 31), 12)
    assert adobe.annual_cost_cents == 360000

    # A monthly plan: $200 a month for 25 seats is $2,400 a year, $96 per seat.
    onepassword = by_name["1Password Business"]
    assert (onepassword.term_months, onepassword.billing_period) == (1, "monthly")
    assert (onepassword.annual_cost_cents, onepassword.unit_price_cents) == (240000, 9600)


def test_product_keys_are_never_carried_into_the_register() -> None:
    parsed = parse_csv(SAMPLE.read_text(encoding="utf-8"), defaults=DEFAULTS)
    assert "FGMA-7Q2X" not in repr(parsed.records)


def test_the_external_key_is_stable_and_tells_purchases_apart() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    first = [r.external_id for r in parse_csv(text, defaults=DEFAULTS).records]
    assert first == [r.external_id for r in parse_csv(text, defaults=DEFAULTS).records]
    assert len(set(first)) == len(first)
    # Seats and cost are not identity: the same purchase with more seats keeps its key.
    grown = text.replace(
        "Figma,FGMA-7Q2X-PL9K-2210,Design Software,40,", "Figma,FGMA-7Q2X-PL9K-2210,Design Software,45,"
    )
    assert [r.external_id for r in parse_csv(grown, defaults=DEFAULTS).records] == first
    explicit = parse_csv("external_id," + HEADER + "snipe-17,Miro,3,a@example.com,2025-01-01,,10,CC-ENG\n")
    assert explicit.records[0].external_id == "snipe-17"


def test_every_problem_is_reported_with_its_line_and_field() -> None:
    text = (
        HEADER
        + "Figma,3,a@example.com,2025-01-01,2026-01-01,100,CC-ENG\n"  # line 2: fine
        + "Miro,three,not-an-email,2025-13-01,,abc,CC-ENG\n"  # line 3: four problems
        + ",2,b@example.com,,,,CC-ENG\n"  # line 4: no product, no dates
        + 'Zoom,2,c@example.com,2025-03-01,2025-02-01,"1,000.00",CC-ENG\n'  # line 5: renewal before start
    )
    assert _issues(text) == [
        (3, "owner_email"),
        (3, "purchase_cost"),
        (3, "seats"),
        (3, "start_date"),
        (4, "product"),
        (4, "start_date"),
        (5, "renewal_date"),
    ]
    with pytest.raises(AssetImportError) as caught:
        parse_csv(text, defaults=DEFAULTS)
    message = str(caught.value)
    assert "line 3: seats: 'three' is not a whole number" in message
    assert "line 3: start_date: '2025-13-01' is not a date; use YYYY-MM-DD or MM/DD/YYYY" in message


def test_a_row_that_spans_lines_is_reported_at_its_first_line() -> None:
    text = HEADER + '"Figma\nOrganization",x,a@example.com,2025-01-01,,,CC-ENG\n'
    assert _issues(text) == [(2, "product"), (2, "seats")]


def test_the_same_purchase_twice_is_refused_naming_both_lines() -> None:
    row = "Figma,3,a@example.com,2025-01-01,,100,CC-ENG\n"
    with pytest.raises(AssetImportError) as caught:
        parse_csv(HEADER + row + "Miro,1,b@example.com,2025-01-01,,1,CC-ENG\n" + row)
    assert [(i.line, i.field) for i in caught.value.issues] == [(4, "external_id")]
    assert "same purchase as line 2" in str(caught.value)


def test_missing_owner_and_cost_center_fall_back_to_the_defaults_or_say_so() -> None:
    text = "Name,Seats,Purchase Date\nFigma,3,2025-01-01\n"
    assert _issues(text) == [(2, "owner_email")]
    parsed = parse_csv(text, defaults=ImportDefaults(cost_center="CC-X", owner_email="it@example.com"))
    assert (parsed.records[0].owner_email, parsed.records[0].cost_center) == ("it@example.com", "CC-X")
    with pytest.raises(AssetImportError, match="cost_center: missing"):
        parse_csv(text, defaults=ImportDefaults(owner_email="it@example.com"))


def test_header_problems_and_unknown_columns() -> None:
    with pytest.raises(AssetImportError, match="more than one column means product"):
        parse_csv("Name,Software Name,Seats\nA,B,1\n")
    parsed = parse_csv(HEADER.rstrip("\n") + ",Custom: Cost Owner\nFigma,3,a@example.com,2025-01-01,,,CC-ENG,x\n")
    assert parsed.ignored_columns == ("Custom: Cost Owner",)
    assert _issues("") == [(1, None)]
    assert _issues(HEADER + "Figma,3,a@example.com,2025-01-01,,,CC-ENG,extra\n") == [(2, None)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-02-01", date(2026, 2, 1)), ("02/01/2026", date(2026, 2, 1)), ("2026-02-01 00:00:00", date(2026, 2, 1))],
)
def test_dates_in_the_formats_snipeit_exports(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2026-02-30", "13/01/2026", "01/02/26", "2026-2-1", "1 Feb 2026", "0001-01-01"])
def test_dates_that_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a date|outside the years"):
        parse_date(text)


YAML = """\
- product: Linear
  vendor: Linear Orbit, Inc.
  owner_email: Eng-Tools@Example.com
  cost_center: CC-ENG
  seats: 20
  unit_price_cents: 9600
  start_date: 2025-04-01
  term_months: 12
  auto_renew: false
  notice_days: 45
  notice_basis: business
  external_id: linear-2025
- product: Notion
  owner_email: ops@example.com
  seats: 10
  renewal_date: 2026-03-01
"""


def test_yaml_uses_our_field_names() -> None:
    linear, notion = parse_yaml(YAML, defaults=DEFAULTS).records
    assert (linear.external_id, linear.owner_email, linear.annual_cost_cents) == (
        "linear-2025",
        "eng-tools@example.com",
        192000,
    )
    assert (linear.auto_renew, linear.notice_days, linear.notice_basis) == (False, 45, "business")
    assert (notion.cost_center, notion.start_date, notion.line) == ("CC-IT", date(2025, 3, 1), 13)


def test_yaml_problems_name_their_lines() -> None:
    bad = YAML.replace("seats: 20", "seats: [20]").replace("renewal_date: 2026-03-01", "renewal_date: 2026-02-30")
    bad += "- just a string\n- {product: X, seets: 1}\n"
    assert _issues(bad, yaml_format=True) == [
        (5, "seats"),  # the line of the value itself
        (13, "renewal_date"),
        (17, None),
        (18, "owner_email"),
        (18, "seats"),
        (18, "seets"),
        (18, "start_date"),
    ]
    assert _issues("product: [unclosed\n", yaml_format=True)[0][1] is None
    assert _issues("{a: 1}\n", yaml_format=True) == [(1, None)]


# --- fuzzing: anything in → records or a clear AssetImportError, never another exception -------

_CELL = st.one_of(
    st.sampled_from(
        ["", " ", "Figma", "0", "1", "-1", "40", "99999999", "yes", "nope", "2025-02-01", "02/30/2025",
         "12/31/2999", "1899-12-31", "1,234.56", "$7,200.00", "1e9", "a@example.com", "not-an-email",
         "business", "calendar", "aws_marketplace", "EUR", "usd", "eur0", "multi-year", "\x00", '"', "🎉"]
    ),
    st.text(max_size=12),
)  # fmt: skip
_COLUMNS = ["Name", "Seats", "Licensed to Email", "Purchase Date", "Expiration Date", "Termination Date",
            "Purchase Cost", "unit_price_cents", "annual_cost_cents", "term_months", "auto_renew", "notice_days",
            "notice_basis", "channel", "currency", "Cost Center", "Order Number", "external_id", "billing_period",
            "request_id"]  # fmt: skip


@st.composite
def _csv_files(draw: st.DrawFn) -> str:
    columns = draw(st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=10, unique=True))
    rows = draw(st.lists(st.lists(_CELL, min_size=len(columns), max_size=len(columns)), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_csv_files())
def test_fuzzed_csv_gives_valid_records_or_line_numbered_issues(text: str) -> None:
    lines = len(re.split(r"\r\n|\r|\n", text))  # how the csv module (and an editor) counts lines
    try:
        parsed = parse_csv(text, defaults=ImportDefaults(cost_center="CC-X", owner_email="it@example.com"))
    except AssetImportError as error:
        assert error.issues
        assert all(0 <= issue.line <= lines and str(issue) for issue in error.issues)
        return
    for record in parsed.records:
        assert 1 <= record.seats and record.start_date < record.renewal_date
        assert 0 <= record.annual_cost_cents <= MAX_STORED_CENTS and 1 <= record.term_months
        assert record.channel and len(record.currency) == 3 and record.external_id


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_escapes_as_another_exception(text: str) -> None:
    for parse in (parse_csv, parse_yaml):
        try:
            parse(text, defaults=DEFAULTS)
        except AssetImportError as error:
            assert error.issues


_YAML_VALUE = st.one_of(
    _CELL, st.integers(-5, 10**12), st.booleans(), st.none(), st.lists(st.integers(), max_size=2), st.dates()
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["product", "seats", "owner_email", "start_date", "renewal_date", "unit_price_cents",
                             "auto_renew", "notice_days", "term_months", "currency", "cost_center", "bogus"]),
            _YAML_VALUE,
            max_size=8,
        ),
        max_size=5,
    )
)  # fmt: skip
def test_fuzzed_yaml_gives_valid_records_or_issues(entries: list[dict[str, object]]) -> None:
    import yaml

    text = yaml.safe_dump(entries)
    try:
        parsed = parse_yaml(text, defaults=DEFAULTS)
    except AssetImportError as error:
        assert error.issues
        return
    assert len(parsed.records) == len(entries)

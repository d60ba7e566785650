"""The card import's hot path: its fast reading of amounts must say what `parse_money` says,
and its bulk insert must store a line as the ORM stores one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import select

from catalog.db import transaction
from catalog.importers.spend_card import parse_card
from catalog.importers.spend_lines import SpendLineRow, apply_spend_lines, cached_money
from catalog.models import SpendLine
from catalog.money import MAX_CENTS, parse_money


def _same_as_parse_money(text: str) -> None:
    try:
        expected: int | str = parse_money(text, allow_negative=True)
    except ValueError as error:
        expected = str(error)
    try:
        got: int | str = cached_money(text)
    except ValueError as error:
        got = str(error)
    assert got == expected, text


@pytest.mark.parametrize(
    "text",
    [
        "12.50",
        "12.5",
        "-12.50",
        "-0.00",
        "0",
        "007.10",
        "1200",
        "1,200.00",
        "$12.00",
        "12.00 USD",
        "- 12.50",
        "12.",
        ".50",
        "12.345",
        "--1",
        "1e3",
        "١٢",
        "",
        "-",
        f"{MAX_CENTS // 100}.00",
        f"{MAX_CENTS // 100}.01",
        f"-{MAX_CENTS // 100 + 1}",
    ],
)
def test_cached_money_reads_as_parse_money_does(text: str) -> None:
    _same_as_parse_money(text)


@given(st.text(alphabet="-0123456789.,$ UDS", max_size=16))
def test_cached_money_reads_any_near_amount_as_parse_money_does(text: str) -> None:
    _same_as_parse_money(text)


def test_blank_rows_are_left_out_and_line_numbers_kept() -> None:
    rows, problems = parse_card(
        "date,merchant,amount,employee_email\n"
        "2026-11-01,FIGMA INC,12.00,a@example.com\n"
        " , ,\t, \n"
        ",,,\n"
        "2026-11-02,MIRO,-3.5,b@example.com\n"
    )
    assert not problems
    assert [(r.line, r.descriptor, r.amount_cents) for r in rows] == [(2, "FIGMA INC", 1200), (5, "MIRO", -350)]


def test_bulk_inserted_lines_are_stored_as_the_orm_stores_them(engine: Engine) -> None:
    at = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)
    row = SpendLineRow("card", "bulk", date(2026, 11, 30), "FIGMA INC", 1200, "USD", 2, "a@example.com")
    with transaction(engine) as session:
        apply_spend_lines(session, rows=[row], actor="test", at=at, file_digest="d")
        session.add(
            SpendLine(
                source="card",
                source_key="orm",
                spent_on=date(2026, 11, 30),
                descriptor="FIGMA INC",
                amount_cents=1200,
                currency="USD",
                payer_email="a@example.com",
                imported_at=at,
            )
        )
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT source_key, spent_on, imported_at, marketplace FROM spend_line ORDER BY source_key")
        ).all()
    assert [tuple(r[1:]) for r in stored if r[0] == "bulk"] == [tuple(r[1:]) for r in stored if r[0] == "orm"]
    with transaction(engine) as session:
        bulk, orm = session.exec(select(SpendLine).order_by(SpendLine.source_key)).all()  # type: ignore[arg-type]
        assert (bulk.spent_on, bulk.imported_at, bulk.marketplace) == (orm.spent_on, orm.imported_at, orm.marketplace)

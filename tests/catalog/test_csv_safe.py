"""Spreadsheet-safe CSV cells (OWASP CSV injection): text that would start a formula is
quoted, numbers stay numbers, and `restore` undoes it exactly."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.importers.csv_safe import neutralise, render_csv, restore, safe_cell

FORMULAS = ['=HYPERLINK("http://evil.example/x","Click")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1", "\r=1", "-12.50"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_a_spreadsheet_would_evaluate_is_quoted(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert safe_cell(text) == "'" + text
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("text", ["Figma", "", "'Quoted", "a=b", " =1", "CC-DESIGN", "2026-01-01", "it's"])
def test_ordinary_text_is_left_alone_both_ways(text: str) -> None:
    assert neutralise(text) == text
    assert restore(text) == text


def test_real_numbers_stay_numbers_even_when_negative() -> None:
    # A credit or an overspent remainder must stay importable and summable in a spreadsheet.
    assert [safe_cell(v) for v in (-1250, 0, 720000, -12.5)] == ["-1250", "0", "720000", "-12.5"]
    assert [safe_cell(v) for v in (None, True, False)] == ["", "true", "false"]


def test_text_already_quoted_before_a_trigger_gains_one_quote_and_loses_one() -> None:
    assert neutralise("'=x") == "''=x"
    assert restore("''=x") == "'=x"
    assert restore("'=x") == "=x"


@given(st.text())
def test_restore_undoes_neutralise_for_any_text(text: str) -> None:
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_render_csv_writes_every_cell_safely_and_in_column_order() -> None:
    text = render_csv(
        ("product", "vendor", "amount_cents", "note"),
        [
            {"product": "=1+1", "vendor": '@SUM(1+1)","x', "amount_cents": -5, "note": None},
            ["Miro", "Realtime, Inc.", 10, "ok"],
        ],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["product", "vendor", "amount_cents", "note"],
        ["'=1+1", '\'@SUM(1+1)","x', "-5", ""],
        ["Miro", "Realtime, Inc.", "10", "ok"],
    ]
    with pytest.raises(ValueError, match="unknown columns"):
        render_csv(("a",), [{"a": 1, "b": 2}])

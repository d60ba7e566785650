from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
from sqlmodel import Field, SQLModel

from catalog.projection import copy_fields, field_names


@dataclass(frozen=True)
class Line:
    name: str
    seats: int
    note: str = "none"
    derived: str = field(default="x", init=False)


class Row(NamedTuple):
    name: str
    seats: int
    extra: str


class Table(SQLModel):
    id: int | None = Field(default=None)
    name: str
    seats: int


def test_copies_the_shared_fields_and_applies_overrides() -> None:
    line = copy_fields(Line, Row("Figma", 4, "ignored"), note="from row")
    assert line == Line(name="Figma", seats=4, note="from row")


def test_a_field_the_source_lacks_keeps_the_target_default() -> None:
    assert copy_fields(Line, Row("Miro", 2, "e")).note == "none"


def test_a_missing_required_field_fails_in_the_constructor() -> None:
    class OnlyName(NamedTuple):
        name: str

    with pytest.raises(TypeError):
        copy_fields(Line, OnlyName("Figma"))


def test_reads_field_lists_of_each_record_kind() -> None:
    assert field_names(Line) == ("name", "seats", "note")
    assert field_names(Row) == ("name", "seats", "extra")
    assert field_names(Table) == ("id", "name", "seats")
    assert copy_fields(Table, Line("Zoom", 9)).seats == 9


def test_a_plain_class_is_refused() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="no declared fields"):
        field_names(Plain)

"""A page of a list shown by offset (the console's requests and discovered products)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class OffsetPage(Generic[RowT]):
    """`rows` from `offset` on, at most `limit` of them, out of `total`."""

    rows: list[RowT]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

"""Build one record type from another that names the same fields.

Many read models are a row seen through another type: a `Person` as the policy's
`DirectoryEntry`, a request row as the App Home's line. Copying such fields by hand, one
`name=row.name` line each, writes the field list again at every crossing, and a field added
to both types is silently left behind at the one crossing nobody remembered. `copy_fields`
reads the target's own field list instead; what differs is passed as keyword overrides.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def field_names(target: type[Any]) -> tuple[str, ...]:
    """The fields `target` is built from: a dataclass's, a pydantic/SQLModel model's or a
    NamedTuple's. Anything else is a programming error, not a runtime case."""
    if dataclasses.is_dataclass(target):
        return tuple(f.name for f in dataclasses.fields(target) if f.init)
    model_fields = getattr(target, "model_fields", None)
    if isinstance(model_fields, dict):
        return tuple(model_fields)
    named = getattr(target, "_fields", None)
    if isinstance(named, tuple):
        return named
    raise TypeError(f"{target.__name__} has no declared fields to copy")


def copy_fields(target: type[T], source: object, /, **overrides: Any) -> T:
    """`target(...)` with every field `source` has under the same name, then `overrides`.

    A field `source` lacks is left to `target`'s default (and a missing required one fails
    loudly in `target`'s constructor, as a hand-written call would)."""
    values = {
        name: getattr(source, name) for name in field_names(target) if name not in overrides and hasattr(source, name)
    }
    return target(**values, **overrides)

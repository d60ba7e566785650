"""Reading a submitted modal's `view.state.values` defensively: a value of the wrong JSON
type (a tampered or malformed payload) reads as empty instead of raising."""

from __future__ import annotations

from typing import Any


def element_state(values: Any, block_id: str, action_id: str) -> dict[str, Any]:
    block = values.get(block_id) if isinstance(values, dict) else None
    value = block.get(action_id) if isinstance(block, dict) else None
    return value if isinstance(value, dict) else {}


def text_value(values: Any, block_id: str, action_id: str, key: str = "value") -> str:
    """A string field of an element's state (`value`, `selected_date`, …), stripped; else ""."""
    value = element_state(values, block_id, action_id).get(key)
    return value.strip() if isinstance(value, str) else ""


def selected_value(values: Any, block_id: str, action_id: str) -> str | None:
    """The `value` of a select's `selected_option`, or None."""
    option = element_state(values, block_id, action_id).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) and value else None

"""Block Kit checks the way Slack applies them when an app posts a message or opens a view.

Two layers: the JSON Schema (`blockkit.schema.json`, when it is available) and the rules the
schema cannot express, which Slack enforces anyway (block counts per surface, unique ids,
number ranges, elements that one surface does not allow).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

_one_of = Draft202012Validator.VALIDATORS["oneOf"]  # the plain keyword, wrapped below

MAX_MESSAGE_BLOCKS = 50  # the schema's root array is shared by all surfaces and allows 100
MAX_TEXT_CHARS = 40_000  # chat.* `text`: above this Slack answers msg_too_long


class _Checker:
    """One schema, twice: `jsonschema_rs` (compiled) says whether an instance is valid; only
    when it is not does `jsonschema` work out the errors people read. Nearly every message an
    app posts is valid, so that costs microseconds where the explaining validator alone took
    most of the simulator's CPU under load. `fast=False` always explains (tests compare both)."""

    def __init__(self, schema: dict[str, Any], *, keyed_unions: bool, fast: bool) -> None:
        self.explaining = (_keyed_union_validator(schema) if keyed_unions else Draft202012Validator)(schema)
        self.quick = jsonschema_rs.Draft202012Validator(schema) if fast else None

    def errors(self, instance: Any) -> list[ValidationError]:
        if self.quick is not None and self.quick.is_valid(instance):
            return []
        return list(self.explaining.iter_errors(instance))


class BlockKitValidator:
    def __init__(self, schema_path: Path | None, *, keyed_unions: bool = True, fast: bool = True) -> None:
        self.schema_path = schema_path
        self._message: _Checker | None = None
        self._views: dict[str, _Checker] = {}
        if schema_path is not None and schema_path.is_file():
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
            self._message = _Checker(schema, keyed_unions=keyed_unions, fast=fast)
            for kind in ("modal", "home"):
                self._views[kind] = _Checker(
                    {
                        "$schema": schema.get("$schema"),
                        "$defs": schema["$defs"],
                        "$ref": f"#/$defs/{kind}_view",
                    },
                    keyed_unions=keyed_unions,
                    fast=fast,
                )

    @property
    def schema_loaded(self) -> bool:
        return self._message is not None

    @property
    def status(self) -> str:
        if self.schema_loaded:
            return f"Block Kit JSON Schema loaded from {self.schema_path}"
        where = f" ({self.schema_path} not found)" if self.schema_path else ""
        return (
            f"Block Kit JSON Schema not loaded{where}: only block counts, duplicate ids, "
            "number ranges and surface rules are checked"
        )

    def message_problems(self, blocks: Any) -> list[str]:
        if not isinstance(blocks, list):
            return ["blocks: must be a JSON array of blocks"]
        problems = self._schema_problems(self._message, blocks, prefix="blocks/", root="blocks")
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            problems.append(f"blocks: more than {MAX_MESSAGE_BLOCKS} blocks in a message (got {len(blocks)})")
        return problems + _rule_problems(blocks, prefix="blocks/", surface="message")

    def view_problems(self, view: Any) -> list[str]:
        if not isinstance(view, dict):
            return ["view: must be a JSON object"]
        kind = view.get("type")
        if kind not in ("modal", "home"):
            return [f"type: expected 'modal' or 'home', got {kind!r}"]
        problems = self._schema_problems(self._views.get(kind), view, prefix="", root="view")
        blocks = view.get("blocks")
        if isinstance(blocks, list):
            problems += _rule_problems(blocks, prefix="blocks/", surface=kind)
        elif not self.schema_loaded:
            problems.append("blocks: must be a JSON array of blocks")
        return problems

    @staticmethod
    def _schema_problems(checker: _Checker | None, instance: Any, *, prefix: str, root: str) -> list[str]:
        if checker is None:
            return []
        errors = sorted(checker.errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        return [explain(e, prefix=prefix, root=root) for e in errors]


def _keyed_union_validator(schema: dict[str, Any]) -> Any:
    """Draft 2020-12 with a faster `oneOf` for unions keyed by `type`, same verdicts.

    Blocks and elements are `oneOf` lists of `$ref`s whose targets pin `type` with `const`.
    Plain `oneOf` tries every alternative (21 for a block, 18 for an actions element), and that
    was nine tenths of the simulator's CPU under load. An alternative that pins another `type`
    fails on it anyway, so an object carrying `type` is first checked against the alternatives
    that allow its type (and those that do not pin one). Only when that fails is the full
    `oneOf` run, so the errors people read are exactly the ones the plain validator gives.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def pinned(branch: Any) -> frozenset[str] | None:
        if not isinstance(branch, dict) or len(branch) != 1 or not str(branch.get("$ref", "")).startswith("#/$defs/"):
            return None
        ref = str(branch["$ref"])
        target = defs.get(ref.removeprefix("#/$defs/"), {})
        kind = target.get("properties", {}).get("type", {}) if isinstance(target, dict) else {}
        if "const" in kind:
            return frozenset([kind["const"]])
        if isinstance(kind.get("enum"), list):
            return frozenset(kind["enum"])
        return None

    keys: dict[int, list[frozenset[str] | None]] = {}

    def keyed_one_of(validator: Any, one_of: list[Any], instance: Any, where: Any) -> Iterator[ValidationError]:
        kind = instance.get("type") if isinstance(instance, dict) else None
        if isinstance(kind, str):
            pins = keys.get(id(one_of))
            if pins is None:
                pins = keys[id(one_of)] = [pinned(branch) for branch in one_of]
            allowed = [branch for branch, pin in zip(one_of, pins, strict=True) if pin is None or kind in pin]
            if allowed and len(allowed) < len(one_of):
                if not any(True for _ in _one_of(validator, allowed, instance, where)):
                    return
        yield from _one_of(validator, one_of, instance, where)

    return validators.extend(Draft202012Validator, {"oneOf": keyed_one_of})


# ---------------------------------------------------------------- readable schema errors


def _where(error: ValidationError, prefix: str, root: str) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return prefix + path if path else root


def _deepest(error: ValidationError) -> int:
    if not error.context:
        return len(error.absolute_path)
    return max(_deepest(sub) for sub in error.context)


def _rejects_type(branch: list[ValidationError]) -> bool:
    """The alternative failed because its `type` discriminator does not match."""
    return any(
        (list(e.relative_path) == ["type"] and e.validator in ("const", "enum"))
        or (e.validator == "required" and "'type'" in e.message)
        for e in branch
    )


def explain(error: ValidationError, *, prefix: str = "", root: str = "<root>") -> str:
    """One short line for a schema error: `path: what is wrong`.

    Blocks, elements and text objects are `oneOf` unions keyed by `type`, so the raw error only
    says "not valid under any of the given schemas" and `best_match` often picks an unrelated
    alternative. Follow the alternatives whose `type` matches the instance instead, down to
    the most specific failure.
    """
    while error.context:
        pool = list(error.context)
        instance = error.instance
        if error.validator in ("oneOf", "anyOf") and isinstance(instance, dict):
            branches: dict[Any, list[ValidationError]] = {}
            for sub in pool:
                key = sub.relative_schema_path[0] if sub.relative_schema_path else None
                branches.setdefault(key, []).append(sub)
            matching = [b for b in branches.values() if not _rejects_type(b)]
            if not matching:
                if "type" not in instance:
                    return f"{_where(error, prefix, root)}: object has no 'type'"
                return f"{_where(error, prefix, root)}: unknown or misplaced type {instance['type']!r}"
            pool = [sub for branch in matching for sub in branch]
        error = max(pool, key=_deepest)
    return f"{_where(error, prefix, root)}: {_describe(error)}"


def _describe(error: ValidationError) -> str:
    kind, limit, instance = error.validator, error.validator_value, error.instance
    if kind == "maxLength":
        return f"longer than {limit} chars (got {len(instance)})"
    if kind == "minLength":
        return "must not be empty" if limit == 1 else f"shorter than {limit} chars (got {len(instance)})"
    if kind == "maxItems":
        return f"more than {limit} items (got {len(instance)})"
    if kind == "minItems":
        return f"fewer than {limit} items (got {len(instance)})"
    if kind in ("const", "enum"):
        return f"expected {limit!r}, got {str(instance)[:60]!r}"
    return str(error.message)[:200]


# ---------------------------------------------------------------- rules the schema misses


def _elements(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Interactive elements of one block with their path relative to the block."""
    elements = block.get("elements")
    if block.get("type") == "actions" and isinstance(elements, list):
        for i, element in enumerate(elements):
            if isinstance(element, dict):
                yield f"elements/{i}", element
    for key in ("accessory", "element"):
        element = block.get(key)
        if isinstance(element, dict):
            yield key, element


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _number_input_problems(element: dict[str, Any], where: str) -> list[str]:
    low, high = _number(element.get("min_value")), _number(element.get("max_value"))
    initial = _number(element.get("initial_value"))
    problems = []
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: min_value {low} is greater than max_value {high}")
    if initial is not None and ((low is not None and initial < low) or (high is not None and initial > high)):
        problems.append(f"{where}/initial_value: {initial} is outside [{low}, {high}]")
    return problems


def _rule_problems(blocks: list[Any], *, prefix: str, surface: str) -> list[str]:
    problems: list[str] = []
    block_ids: dict[str, int] = {}
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        where = f"{prefix}{i}"
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"{where}/block_id: duplicate block_id {block_id!r} (also block {block_ids[block_id]})")
            else:
                block_ids[block_id] = i
        if block.get("type") == "markdown" and surface != "message":
            problems.append(f"{where}: a markdown block is only allowed in messages")
        action_ids: set[str] = set()
        for path, element in _elements(block):
            action_id = element.get("action_id")
            if isinstance(action_id, str):
                if action_id in action_ids:
                    problems.append(f"{where}/{path}/action_id: duplicate action_id {action_id!r} in one block")
                action_ids.add(action_id)
            if element.get("type") == "number_input":
                problems += _number_input_problems(element, f"{where}/{path}")
            if element.get("type") == "file_input" and surface == "message":
                problems.append(f"{where}/{path}: file_input is only allowed in modals")
    return problems

"""How the worker turns payloads into values and back: Temporal's default, minus two costs it
pays on every payload whatever the configuration (docs/decisions.md §23).

1. **Dataclass fields resolved once.** The SDK's JSON converter calls `typing.get_type_hints`
   for every dataclass it builds, at every level of nesting, every time. Our modules use
   `from __future__ import annotations`, so each call evaluates every field's annotation
   string again: most of the ~10 % of the worker's CPU that decoding payloads took.
   `DATA_CONVERTER` builds dataclasses exactly as the SDK's `value_to_type` does (same
   fields, same errors, `init=False` fields restored after `__init__`), with each class's
   fields and hints read once (`_fields_of`). Everything that is not a dataclass goes to the
   SDK's own code unchanged.
2. **No payload passes that cannot change anything** (`install_payload_passes`). For each
   workflow activation and its completion the SDK walks the whole protobuf tree three times
   (codec on external-storage references, external storage, codec), in Python, and rewrites
   every payload list with a copy of itself, even with no codec and no external storage
   configured: ~9 % of the worker's CPU. Then the passes change nothing but for one check (a
   payload stored externally is an error when no external storage is configured), so the
   worker makes that check alone, in one pass, and does not walk completions at all.
   With a codec or external storage configured, the SDK's passes run as before.

Part 2 replaces two functions of the SDK's private `temporalio.bridge.worker` module
(temporalio 1.35), which its workflow worker looks up at each call.
`tests/workflows/test_converter.py` checks that the replacements are still the ones the
worker calls and that they leave activations and completions exactly as the SDK's passes do,
so an SDK change that breaks them fails CI."""

from __future__ import annotations

import dataclasses
import typing
import weakref
from collections.abc import Sequence
from typing import Any

import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.bridge._visitor_functions import PayloadSequence, VisitorFunctions
from temporalio.client import Client
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

# class -> ((field name, passed to __init__, resolved type), ...); weak, so that the classes
# the isolated sandbox imports afresh for every workflow run can still be collected.
_FIELDS: weakref.WeakKeyDictionary[type, tuple[tuple[str, bool, Any], ...]] = weakref.WeakKeyDictionary()


def _fields_of(cls: type) -> tuple[tuple[str, bool, Any], ...]:
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple((field.name, field.init, hints[field.name]) for field in dataclasses.fields(cls))
        _FIELDS[cls] = found
    return found


class DataclassFields(JSONTypeConverter):
    """The SDK's dataclass conversion with each class's fields resolved once."""

    def __init__(self) -> None:
        self._converters: Sequence[JSONTypeConverter] = (self,)

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            return JSONTypeConverter.Unhandled
        if not isinstance(value, dict):
            raise TypeError(f"Cannot convert to dataclass {hint}, value is {type(value)} not dict")
        in_init: dict[str, Any] = {}
        after_init: dict[str, Any] = {}
        for name, init, field_hint in _fields_of(hint):
            if name not in value:
                continue  # a missing required field fails in __init__, as in the SDK
            try:
                converted = value_to_type(field_hint, value[name], self._converters)
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (in_init if init else after_init)[name] = converted
        obj = hint(**in_init)
        for name, converted in after_init.items():
            object.__setattr__(obj, name, converted)
        return obj


class PayloadConverter(CompositePayloadConverter):
    """The SDK's default payload converters, with `DataclassFields` in its JSON converter."""

    def __init__(self) -> None:
        super().__init__(
            *(
                JSONPlainPayloadConverter(custom_type_converters=[DataclassFields()])
                if isinstance(converter, JSONPlainPayloadConverter)
                else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_converter_class=PayloadConverter)


def with_data_converter(client: Client) -> Client:
    """`client`, or a client on the same connection that uses `DATA_CONVERTER`."""
    if client.data_converter.payload_converter_class is PayloadConverter:
        return client
    config = client.config()
    config["data_converter"] = DATA_CONVERTER
    return Client(**config)


def _passes_change_nothing(data_converter: DataConverter) -> bool:
    return data_converter.payload_codec is None and data_converter.external_storage is None


class _ReferenceCheck(VisitorFunctions):
    """Fails on a payload stored externally (marked so, or encoded as a reference), as the
    SDK's first two decoding passes do when no external storage is configured; changes
    nothing."""

    def __init__(self, data_converter: DataConverter) -> None:
        self._checks = (
            data_converter._decode_reference_payload_sequence,
            data_converter._external_retrieve_payload_sequence,
        )

    async def visit_payload(self, payload: Payload) -> None:
        await self.visit_payloads([payload])

    async def visit_payloads(self, payloads: PayloadSequence) -> None:
        if len(payloads):
            for check in self._checks:
                await check(payloads)


_SDK_DECODE = bridge_worker.decode_activation
_SDK_ENCODE = bridge_worker.encode_completion


async def decode_activation(
    activation: Any, data_converter: DataConverter, decode_headers: bool, storage_concurrency_limit: int
) -> StorageOperationMetrics:
    if not _passes_change_nothing(data_converter):
        return await _SDK_DECODE(activation, data_converter, decode_headers, storage_concurrency_limit)
    visitor = CommandAwarePayloadVisitor(skip_search_attributes=True, skip_headers=not decode_headers)
    await visitor.visit(_ReferenceCheck(data_converter), activation)
    return StorageOperationMetrics()


async def encode_completion(
    completion: Any, data_converter: DataConverter, encode_headers: bool, storage_concurrency_limit: int
) -> StorageOperationMetrics:
    if not _passes_change_nothing(data_converter):
        return await _SDK_ENCODE(completion, data_converter, encode_headers, storage_concurrency_limit)
    return StorageOperationMetrics()


def install_payload_passes() -> None:
    """Make the workflow worker use `decode_activation` and `encode_completion` above."""
    bridge_worker.decode_activation = decode_activation
    bridge_worker.encode_completion = encode_completion

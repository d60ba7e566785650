"""`workflows.converter`: the worker's payload handling gives exactly what Temporal's default
does, for every dataclass the workflows exchange and for payloads that are not what they
should be, and its two replacements of the SDK's payload passes are still the ones the worker
calls and still change nothing the SDK's passes would have changed."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
import temporalio.bridge.worker as bridge_worker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter, DefaultPayloadConverter
from temporalio.testing import WorkflowEnvironment

from workflows import converter
from workflows.converter import DATA_CONVERTER, PayloadConverter
from workflows.renewals import activities as renewal_activities
from workflows.renewals import workflows as renewals
from workflows.request import client as client_module
from workflows.request import types as shared
from workflows.request import workflow as request_workflow

SDK, OURS = DefaultPayloadConverter(), PayloadConverter()


def _dataclasses() -> list[type]:
    found = {
        obj
        for module in (shared, request_workflow, renewals, renewal_activities, client_module)
        for obj in vars(module).values()
        if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    }
    return sorted(found, key=lambda cls: cls.__qualname__)


DATACLASSES = _dataclasses()


def _outcome(payload_converter: Any, payload: Payload, hint: type) -> tuple[str, Any]:
    try:
        return "value", payload_converter.from_payload(payload, hint)
    except Exception as exc:
        return "error", (type(exc), str(exc), type(exc.__cause__), str(exc.__cause__))


def test_every_workflow_dataclass_is_covered() -> None:
    names = {cls.__name__ for cls in DATACLASSES}
    assert {"RequestInput", "AssessInput", "RequestState", "StepState", "ChainClosing"} <= names


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda cls: cls.__qualname__)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_a_value_comes_back_as_the_sdk_builds_it(cls: type, data: st.DataObject) -> None:
    value = data.draw(st.from_type(cls))
    payload = SDK.to_payload(value)
    assert OURS.to_payload(value) == payload
    ours: object = OURS.from_payload(payload, cls)
    assert ours == SDK.from_payload(payload, cls) == value
    assert type(ours) is cls


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_payload_of_the_wrong_shape_fails_as_the_sdk_fails(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(DATACLASSES))
    names = [field.name for field in dataclasses.fields(cls)]
    raw = data.draw(
        st.dictionaries(st.sampled_from(names) | st.text(max_size=4), _JSON, max_size=len(names) + 1) | _JSON
    )
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(raw).encode())
    assert _outcome(OURS, payload, cls) == _outcome(SDK, payload, cls)


@dataclasses.dataclass
class _Inner:
    when: str
    tags: list[str] | None = None


@dataclasses.dataclass
class _Outer:
    inner: _Inner
    items: list[_Inner]
    computed: int = dataclasses.field(init=False, default=0)


def test_nested_dataclasses_and_fields_outside_init_are_rebuilt() -> None:
    value = _Outer(_Inner("today"), [_Inner("a", ["x"]), _Inner("b")])
    value.computed = 7
    payload = SDK.to_payload(value)
    ours = OURS.from_payload(payload, _Outer)
    assert ours == SDK.from_payload(payload, _Outer) and ours.computed == 7
    assert isinstance(ours.items[0], _Inner) and ours.items[0].tags == ["x"]
    with pytest.raises(TypeError, match="Failed converting field inner"):
        OURS.from_payload(SDK.to_payload({"inner": {"when": 3}, "items": []}), _Outer)


def test_the_worker_and_clients_use_the_converter(time_skipping_env: WorkflowEnvironment) -> None:
    assert DATA_CONVERTER.payload_converter_class is PayloadConverter
    assert time_skipping_env.client.data_converter.payload_converter_class is not PayloadConverter
    swapped = converter.with_data_converter(time_skipping_env.client)
    assert swapped.data_converter is DATA_CONVERTER
    assert swapped.service_client is time_skipping_env.client.service_client
    assert converter.with_data_converter(swapped) is swapped


# The SDK's payload passes against ours, on the activations and completions of a real run.


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn(sandboxed=False)  # the sandbox is not what is under test here
class EchoWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(echo, text, start_to_close_timeout=timedelta(seconds=30))


async def test_the_worker_calls_the_passes_and_they_change_nothing_the_sdks_would(
    time_skipping_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, Any, bool]] = []
    converter.install_payload_passes()  # as build_worker does; the test wraps them in a recorder
    ours_decode, ours_encode = bridge_worker.decode_activation, bridge_worker.encode_completion
    assert ours_decode is converter.decode_activation and ours_encode is converter.encode_completion

    def recording(kind: str, ours: Any, message_type: type, headers: str) -> Any:
        """`ours`, checking that it leaves the message as it was and keeping a copy of it."""

        async def recorded(message: Any, data_converter: DataConverter, **kw: Any) -> Any:
            before = message_type()
            before.CopyFrom(message)
            result = await ours(message, data_converter, **kw)
            seen.append((kind, before, kw[headers]))
            assert message == before
            return result

        return recorded

    decode = recording("activation", ours_decode, WorkflowActivation, "decode_headers")
    encode = recording("completion", ours_encode, WorkflowActivationCompletion, "encode_headers")
    monkeypatch.setattr(bridge_worker, "decode_activation", decode)
    monkeypatch.setattr(bridge_worker, "encode_completion", encode)
    queue = f"passes-{uuid.uuid4().hex}"
    from temporalio.worker import Worker

    async with Worker(time_skipping_env.client, task_queue=queue, workflows=[EchoWorkflow], activities=[echo]):
        run = time_skipping_env.client.execute_workflow(EchoWorkflow.run, "hi", id=queue, task_queue=queue)
        result = await asyncio.wait_for(run, timeout=60)  # a broken pass fails every task: fail, not hang
    assert result == "hi"
    kinds = {kind for kind, _, _ in seen}
    assert kinds == {"activation", "completion"}
    data_converter = time_skipping_env.client.data_converter
    for kind, message, headers in seen:
        through_sdk = type(message)()
        through_sdk.CopyFrom(message)
        sdk_pass = converter._SDK_DECODE if kind == "activation" else converter._SDK_ENCODE
        await sdk_pass(through_sdk, data_converter, headers, 1)
        assert through_sdk == message, kind


@pytest.mark.parametrize(
    "metadata",
    [
        {"encoding": b"json/plain", "__temporal_external_storage_reference": b"true"},
        {"encoding": b"json/external-storage-reference"},
    ],
    ids=["marked", "encoded"],
)
async def test_a_payload_stored_externally_is_refused_as_the_sdk_refuses_it(metadata: dict[str, bytes]) -> None:
    activation = WorkflowActivation(run_id="r")
    job = activation.jobs.add()
    job.initialize_workflow.workflow_type = "EchoWorkflow"
    job.initialize_workflow.arguments.add(metadata={"encoding": b"json/plain"}, data=b'"x"')
    job.initialize_workflow.arguments.add(metadata=metadata, data=b"{}")
    errors = []
    for decode in (converter._SDK_DECODE, converter.decode_activation):
        copy = WorkflowActivation()
        copy.CopyFrom(activation)
        with pytest.raises(RuntimeError) as refused:
            await decode(copy, DataConverter.default, True, 1)
        errors.append(str(refused.value))
    assert errors[0] == errors[1] and "TMPRL1105" in errors[0]

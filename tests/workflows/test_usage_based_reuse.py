"""Reuse first for a product owned on a usage-based contract (no seat count; docs/decisions.md,
52), in ProcurementRequestWorkflow on the time-skipping test server with the real activities:
the requester is pointed to the contract's owner; Withdraw ends the request, "Request it
anyway" goes to approval as any purchase does."""

from __future__ import annotations

from datetime import UTC, date, datetime

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, Contract
from catalog.ports import MessageKind
from tests.helpers import eventually
from tests.workflows.test_request_workflow import EMPLOYEE, Harness, figma_request
from tests.workflows.test_reuse_workflow import _audit, _offer, _result
from workflows.request.types import CHOICE_BUY, CHOICE_WITHDRAW, ChoiceInput


def _own_datadog_by_usage(harness: Harness) -> None:
    """Datadog (observability, in the demo catalog) on a usage-based contract Eli owns."""
    at = datetime(2026, 5, 1, tzinfo=UTC)
    with transaction(harness.engine) as session:
        asset = Asset(product_id="datadog", product_name="Datadog", owner_email="engineer@example.com",
                      cost_center="CC-ENG", seats=None, unit_price_cents=6_000_000, annual_cost_cents=6_000_000,
                      created_at=at)  # fmt: skip
        session.add(asset)
        session.flush()
        session.add(
            Contract(asset_id=int(asset.id or 0), start_date=date(2026, 5, 1), term_months=12,
                     renewal_date=date(2027, 5, 1))
        )  # fmt: skip


async def test_the_owner_is_named_and_withdraw_ends_the_request(harness: Harness) -> None:
    _own_datadog_by_usage(harness)
    request = figma_request(product_id="datadog", product_name="Datadog", seats=3)
    await harness.client.submit(request)
    await _offer(harness, request)
    offer = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert offer is not None and offer.kind == "ask_owner" and offer.spare == 0
    assert (offer.owner_slack_id, offer.owner_name, offer.choices) == (
        "U0ENGINEER",
        "Eli Engineer",
        ("withdraw", "buy"),
    )

    assert (await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_WITHDRAW))).accepted
    result = await _result(harness, request)
    assert result.status == "withdrawn" and result.asset_id is None
    assert _audit(harness, request) == ["submitted", "reuse_ask_owner", "reuse_choice"]
    with transaction(harness.engine) as session:
        # Nobody was given a seat of a contract that has none.
        assert repository.product_seat_pool(session, product_id="datadog") == (0, [])


async def test_request_it_anyway_goes_to_approval(harness: Harness) -> None:
    _own_datadog_by_usage(harness)
    request = figma_request(product_id="datadog", product_name="Datadog", seats=1)
    await harness.client.submit(request)
    await _offer(harness, request)
    assert (await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY))).accepted
    await eventually(lambda: "step_opened" in _audit(harness, request), what="an approval step")
    assert _audit(harness, request)[:3] == ["submitted", "reuse_ask_owner", "reuse_choice"]

"""Reuse first in ProcurementRequestWorkflow, on the time-skipping test server with the real
activities on the seeded demo database (catalog/data/seats.yaml: figma 40/40 with idle
holders, miro 12/30, canva 20/25) and a recording notifier."""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.request_messages import request_message
from catalog import repository
from catalog.db import transaction
from catalog.ports import MessageKind
from tests.helpers import eventually
from tests.workflows.test_request_workflow import EMPLOYEE, MANAGER, Harness, figma_request
from workflows.request.types import (
    CHOICE_ALTERNATIVE,
    CHOICE_BUY,
    CHOICE_RECLAIM,
    CHOICE_TAKE_SEAT,
    ChoiceInput,
    DecisionInput,
    ReclaimAnswerInput,
    RequestInput,
    RequestResult,
)
from workflows.request.workflow import ProcurementRequestWorkflow

FINANCE, ENGINEER = "U0FINANCE", "U0ENGINEER"  # the two most idle figma holders in seats.yaml


async def _offer(harness: Harness, request: RequestInput, round_: int = 1) -> None:
    def offered() -> bool:
        return (
            sum(
                s.kind is MessageKind.REUSE_OFFER and s.summary.request_id == request.request_id
                for s in harness.notifier.sent
            )
            >= round_
        )

    await eventually(offered, what=f"reuse offer {round_}")


async def _result(harness: Harness, request: RequestInput) -> RequestResult:
    handle = harness.env.client.get_workflow_handle_for(ProcurementRequestWorkflow.run, f"request-{request.request_id}")
    return await handle.result()


def _audit(harness: Harness, request: RequestInput) -> list[str]:
    with transaction(harness.engine) as session:
        return [a.action for a in repository.list_audit(session, request_id=request.request_id)]


def _holders(harness: Harness, product_id: str) -> set[str]:
    with transaction(harness.engine) as session:
        _, seats = repository.product_seat_pool(session, product_id=product_id)
        return {s.person_email for s in seats}


async def test_a_spare_seat_is_taken_in_one_click_without_purchase_or_approval(harness: Harness) -> None:
    request = figma_request(product_id="miro", product_name="Miro", seats=1)
    await harness.client.submit(request)
    await _offer(harness, request)
    offer = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert offer is not None and offer.kind == "spare_seat" and offer.spare == 18
    assert offer.choices == ("take_seat", "withdraw")

    # Only the requester answers; the validator refuses anyone else.
    refused = await harness.client.choose(request.request_id, ChoiceInput(MANAGER, CHOICE_TAKE_SEAT))
    assert not refused.accepted and "Only <@U0EMPLOYEE>" in refused.message
    wrong = await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY))
    assert not wrong.accepted and "isn't offered" in wrong.message

    taken = await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_TAKE_SEAT))
    assert taken.accepted
    result = await _result(harness, request)
    assert result.status == "fulfilled_from_pool" and result.asset_id is None
    assert "employee@example.com" in _holders(harness, "miro")
    assert _audit(harness, request) == ["submitted", "reuse_spare_seat", "reuse_choice", "seat_assigned"]
    with transaction(harness.engine) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "fulfilled_from_pool"
        assert repository.get_asset_for_request(session, request_id=request.request_id) is None
    assert not harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)
    granted = harness.notifier.sent_to(EMPLOYEE, MessageKind.SEAT_GRANTED)
    assert len(granted) == 1
    # The offer was updated in place: the answer shown, the buttons gone.
    updates = [u for u in harness.notifier.updates if u[1] is MessageKind.REUSE_OFFER]
    assert updates and updates[-1][2].reuse is not None and updates[-1][2].reuse.chosen == "take_seat"
    assert updates[-1][2].reuse.choices == ()

    late = await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_TAKE_SEAT))
    assert not late.accepted and "closed" in late.message


async def test_someone_who_holds_a_seat_is_told_since_when_and_nothing_is_assigned(harness: Harness) -> None:
    """Max has had a Miro seat for 200 days (seats.yaml): asking for one tells him so; the
    request is not a seat "fulfilled from the pool" and the pool is unchanged."""
    request = figma_request(product_id="miro", product_name="Miro", seats=1)
    request.requester_slack_id, request.requester_email = MANAGER, "manager@example.com"
    with transaction(harness.engine) as session:
        _, before = repository.product_seat_pool(session, product_id="miro")
        since = next(s.assigned_at.date() for s in before if s.person_email == "manager@example.com")
    await harness.client.submit(request)
    result = await _result(harness, request)
    assert result.status == "already_held" and result.asset_id is None
    assert result.reason == f"You have had a Miro seat since {since.isoformat()}: nothing was requested or bought."
    [told] = harness.notifier.sent_to(MANAGER, MessageKind.REUSE_OFFER)
    assert told.summary.reuse is not None and told.summary.reuse.kind == "already_held"
    assert told.summary.reuse.held_since == since and told.summary.reuse.choices == ()
    assert not harness.notifier.sent_to(MANAGER, MessageKind.SEAT_GRANTED)
    assert _audit(harness, request) == ["submitted", "reuse_already_held"]
    with transaction(harness.engine) as session:
        stored = repository.get_request(session, request_id=request.request_id)
        assert stored is not None and stored.status == "already_held" and stored.decision_reason == result.reason
        _, after = repository.product_seat_pool(session, product_id="miro")
    assert len(after) == len(before)


async def test_reclaim_frees_a_released_seat_and_one_nobody_answered_for(clock_harness: Harness) -> None:
    harness = clock_harness
    request = figma_request(seats=2)
    await harness.client.submit(request)
    await _offer(harness, request)
    offer = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert offer is not None and offer.kind == "reclaim" and offer.spare == 0 and offer.reclaimable == 2
    assert offer.choices == ("reclaim", "buy", "withdraw")
    # No approval while the requester is choosing.
    assert (await harness.client.decide(request.request_id, _approve())).accepted is False

    assert (await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_RECLAIM))).accepted
    twice = await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_RECLAIM))
    assert not twice.accepted and twice.message == "You already answered this offer."

    def asked() -> bool:
        return bool(harness.notifier.sent_to(FINANCE, MessageKind.RECLAIM_ASK)) and bool(
            harness.notifier.sent_to(ENGINEER, MessageKind.RECLAIM_ASK)
        )

    await eventually(asked, what="the Keep / Release questions")
    assert not (await harness.client.answer_reclaim(request.request_id, ReclaimAnswerInput(MANAGER, True))).accepted
    released = await harness.client.answer_reclaim(request.request_id, ReclaimAnswerInput(FINANCE, True))
    assert released.accepted
    again = await harness.client.answer_reclaim(request.request_id, ReclaimAnswerInput(FINANCE, False))
    assert not again.accepted
    await harness.env.sleep(timedelta(days=3, hours=1))  # the engineer never answers: freed at the timeout

    result = await _result(harness, request)
    assert result.status == "fulfilled_from_pool"
    holders = _holders(harness, "figma")
    assert "employee@example.com" in holders
    assert not {"finance@example.com", "engineer@example.com"} & holders
    actions = _audit(harness, request)
    assert actions[:4] == ["submitted", "reuse_reclaim", "reuse_choice", "reclaim_asked"]
    assert actions.count("seat_released") == 2 and actions[-1] == "seat_assigned"
    answered = [u for u in harness.notifier.updates if u[1] is MessageKind.RECLAIM_ASK]
    assert {u[2].reuse.holder_answer for u in answered if u[2].reuse} == {"release"}
    # Each holder was told how many seats are free (none: 2 were asked for).
    question = harness.notifier.sent_to(FINANCE, MessageKind.RECLAIM_ASK)[-1].summary
    assert question.seats == 2 and question.reuse is not None and question.reuse.spare == 0
    # The offer no longer says the holders are being asked: it says the seat is the requester's.
    offer_ref = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].ref
    shown = [u[2].reuse for u in harness.notifier.updates if u[0] == offer_ref]
    assert shown[-1] is not None and shown[-1].chosen == "reclaimed"


async def test_a_holder_who_keeps_the_seat_is_marked_active_and_the_next_idle_one_is_offered(harness: Harness) -> None:
    request = figma_request(seats=1)
    await harness.client.submit(request)
    await _offer(harness, request)
    assert (await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_RECLAIM))).accepted
    await eventually(lambda: bool(harness.notifier.sent_to(FINANCE, MessageKind.RECLAIM_ASK)), what="the question")
    assert not harness.notifier.sent_to(ENGINEER, MessageKind.RECLAIM_ASK)  # one seat needed: one holder asked
    assert (await harness.client.answer_reclaim(request.request_id, ReclaimAnswerInput(FINANCE, False))).accepted

    await _offer(harness, request, round_=2)  # nothing freed: decide again
    assert "finance@example.com" in _holders(harness, "figma")
    first_offer = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[0].ref
    first_shown = [u[2].reuse for u in harness.notifier.updates if u[0] == first_offer]
    assert first_shown[-1] is not None and first_shown[-1].chosen == "reclaim_short"
    second = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert second is not None and second.kind == "reclaim"
    assert (await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_RECLAIM))).accepted
    await eventually(lambda: bool(harness.notifier.sent_to(ENGINEER, MessageKind.RECLAIM_ASK)), what="the next holder")
    assert (await harness.client.answer_reclaim(request.request_id, ReclaimAnswerInput(ENGINEER, True))).accepted
    assert (await _result(harness, request)).status == "fulfilled_from_pool"
    assert "seat_kept" in _audit(harness, request)


async def test_an_approved_alternative_is_offered_for_a_product_we_do_not_own(harness: Harness) -> None:
    request = figma_request(product_id=None, product_name="Sketch", estimate_cents=50_000, seats=1)
    await harness.client.submit(request)
    await _offer(harness, request)
    offer = harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert offer is not None and offer.kind == "alternative"
    assert [a[0] for a in offer.alternatives] == ["canva", "figma"]  # most spare seats first

    no_reason = await harness.client.choose(request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY))
    assert not no_reason.accepted and "why" in no_reason.message
    justified = await harness.client.choose(
        request.request_id, ChoiceInput(EMPLOYEE, CHOICE_BUY, justification="Our agency delivers Sketch files")
    )
    assert justified.accepted
    await eventually(lambda: bool(harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)), what="approval")
    with transaction(harness.engine) as session:
        choice = [
            a for a in repository.list_audit(session, request_id=request.request_id) if a.action == "reuse_choice"
        ]
    assert choice[0].detail["justification"] == "Our agency delivers Sketch files"
    # Every approver is shown the reason, with the alternatives it is about (as the modal says).
    dm = harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)[0].summary
    assert dm.alternative_reason == "Our agency delivers Sketch files"
    assert dm.declined_alternatives == ("Canva", "Figma")
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, dm)
    shown = next(b for b in blocks if b.get("block_id") == "alternative_reason")["text"]["text"]
    assert shown.startswith("*Why not Canva, Figma*, approved alternatives we own? <@U0EMPLOYEE> answered:")
    assert shown.endswith("> Our agency delivers Sketch files")


async def test_picking_the_alternative_closes_this_request(harness: Harness) -> None:
    request = figma_request(product_id=None, product_name="Mural", estimate_cents=50_000, seats=1)
    await harness.client.submit(request)
    await _offer(harness, request)
    bogus = await harness.client.choose(
        request.request_id, ChoiceInput(EMPLOYEE, CHOICE_ALTERNATIVE, product_id="zoom")
    )
    assert not bogus.accepted
    picked = await harness.client.choose(
        request.request_id, ChoiceInput(EMPLOYEE, CHOICE_ALTERNATIVE, product_id="miro")
    )
    assert picked.accepted and picked.product_id == "miro"
    result = await _result(harness, request)
    assert result.status == "withdrawn" and "miro" in (result.reason or "")


async def test_an_unanswered_offer_expires_and_nothing_is_bought(clock_harness: Harness) -> None:
    harness = clock_harness
    request = figma_request(expiry_days=2)
    await harness.client.submit(request)
    await _offer(harness, request)
    await harness.env.sleep(timedelta(days=2, hours=1))
    result = await _result(harness, request)
    assert result.status == "expired"
    assert _audit(harness, request) == ["submitted", "reuse_reclaim", "reuse_expired"]
    assert not harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)


async def test_a_product_without_a_seat_pool_goes_straight_to_approval(harness: Harness) -> None:
    request = figma_request(product_id="zoom", product_name="Zoom", seats=1)
    await harness.client.submit(request)
    await eventually(lambda: bool(harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)), what="approval")
    assert not harness.notifier.sent_to(EMPLOYEE, MessageKind.REUSE_OFFER)
    assert _audit(harness, request)[:3] == ["submitted", "reuse_new_purchase", "step_opened"]


def _approve() -> DecisionInput:
    return DecisionInput(MANAGER, approve=True)


async def test_the_readme_reclaim_walkthrough_still_works_after_the_main_demo(harness: Harness) -> None:
    """README: the main demo (Emma buys 2 more Figma seats), then "As Sam Security,
    `/request figma 2 seats` → Reclaim an idle seat": Fiona, the most idle holder, is asked and
    releases her seat, and Sam gets a seat without a purchase."""
    SECURITY = "U0SECURITY"
    demo = figma_request(seats=2)
    await harness.client.submit(demo)
    await harness.buy_more_when_offered(demo)
    await eventually(lambda: bool(harness.notifier.sent_to(MANAGER, MessageKind.APPROVAL_REQUEST)), what="approval")
    assert (await harness.client.decide(demo.request_id, _approve())).accepted
    assert (await _result(harness, demo)).status == "approved"

    sam = figma_request(seats=2, requester_slack_id=SECURITY, requester_email="security@example.com")
    await harness.client.submit(sam)
    await _offer(harness, sam)
    offer = harness.notifier.sent_to(SECURITY, MessageKind.REUSE_OFFER)[-1].summary.reuse
    assert offer is not None and offer.kind == "reclaim" and CHOICE_RECLAIM in offer.choices
    assert (await harness.client.choose(sam.request_id, ChoiceInput(SECURITY, CHOICE_RECLAIM))).accepted
    await eventually(lambda: bool(harness.notifier.sent_to(FINANCE, MessageKind.RECLAIM_ASK)), what="Fiona's question")
    assert (await harness.client.answer_reclaim(sam.request_id, ReclaimAnswerInput(FINANCE, True))).accepted
    assert (await _result(harness, sam)).status == "fulfilled_from_pool"
    assert "security@example.com" in _holders(harness, "figma")

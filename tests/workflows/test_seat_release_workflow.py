"""The console's Ask to release (workflows/seat_release/) on the time-skipping server: the
holder is asked in Slack on the ITAM team's behalf; Release frees the seat back to the pool,
Keep marks it active, no answer leaves it as it is; each step audited, the DM updated in
place, a second ask while one runs is the same ask, and only the holder's click counts."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.blocks.reuse import reuse_message
from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent, SeatAssignment
from catalog.ports import MessageKind
from tests.helpers import eventually
from tests.workflows.test_request_workflow import ENGINEER, MANAGER, Harness
from workflows.seat_release.client import SeatReleaseClient
from workflows.seat_release.types import SeatReleaseAnswer, SeatReleaseInput, SeatReleaseResult, workflow_id_for

FINANCE_SLACK = "U0FINANCE"
ITAM_EMAIL = "itam@example.com"


def _seat(harness: Harness, email: str) -> int:
    with transaction(harness.engine) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email=email)
        assert seat is not None and seat.id is not None
        return seat.id


def _audit(harness: Harness, seat_id: int) -> list[tuple[str, str, dict[str, object]]]:
    with transaction(harness.engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "seat", AuditEvent.entity_id == str(seat_id))
        ).all()
        return [(row.action, row.actor, dict(row.detail)) for row in sorted(rows, key=lambda r: r.id or 0)]


async def _asked(harness: Harness, seat_id: int, slack_id: str) -> SeatReleaseClient:
    releases = SeatReleaseClient(harness.env.client, task_queue=harness.queue)
    first = await releases.ask(SeatReleaseInput(seat_id, ITAM_EMAIL, 3))
    second = await releases.ask(SeatReleaseInput(seat_id, ITAM_EMAIL, 3))
    assert first.started and not second.started and first.workflow_id == second.workflow_id
    await eventually(lambda: bool(harness.notifier.sent_to(slack_id, MessageKind.RECLAIM_ASK)), what="the question")
    return releases


async def _result(harness: Harness, seat_id: int) -> SeatReleaseResult:
    handle = harness.env.client.get_workflow_handle(workflow_id_for(seat_id), result_type=SeatReleaseResult)
    return await handle.result()


async def test_release_frees_the_seat_back_to_the_pool_and_audits_who_asked(harness: Harness) -> None:
    seat_id = _seat(harness, "finance@example.com")
    releases = await _asked(harness, seat_id, FINANCE_SLACK)
    sent = harness.notifier.sent_to(FINANCE_SLACK, MessageKind.RECLAIM_ASK)
    assert len(sent) == 1  # asked twice, one DM
    question = sent[0].summary
    assert question.reuse is not None and question.reuse.itam_ask and question.reuse.holder_answer is None
    text, blocks = reuse_message(MessageKind.RECLAIM_ASK, question)
    assert "ITAM team" in text and "needs" not in text and f"SEAT-{seat_id}" in str(blocks)

    refused = await releases.answer(f"SEAT-{seat_id}", SeatReleaseAnswer(MANAGER, True))
    assert not refused.accepted and refused.message == "Only the person holding the seat can answer."
    assert (await releases.answer(f"SEAT-{seat_id}", SeatReleaseAnswer(FINANCE_SLACK, True))).accepted
    assert await _result(harness, seat_id) == SeatReleaseResult(seat_id, "release", True)

    with transaction(harness.engine) as session:
        assert session.get(SeatAssignment, seat_id) is None
    audit = _audit(harness, seat_id)
    assert [(action, actor) for action, actor, _ in audit] == [
        ("release_asked", ITAM_EMAIL),
        ("seat_released", "finance@example.com"),
    ]
    assert audit[1][2]["asked_by"] == ITAM_EMAIL and audit[1][2]["freed"] is True
    updated = [u for u in harness.notifier.updates if u[0] == sent[0].ref]
    assert len(updated) == 1 and updated[0][2].reuse is not None and updated[0][2].reuse.holder_answer == "release"
    late = await releases.answer(f"SEAT-{seat_id}", SeatReleaseAnswer(FINANCE_SLACK, False))
    assert not late.accepted and late.message == "This question is closed."


async def test_keep_marks_the_seat_active(harness: Harness) -> None:
    seat_id = _seat(harness, "engineer@example.com")
    releases = await _asked(harness, seat_id, ENGINEER)
    assert (await releases.answer(f"SEAT-{seat_id}", SeatReleaseAnswer(ENGINEER, False))).accepted
    assert (await _result(harness, seat_id)).answer == "keep"
    with transaction(harness.engine) as session:
        seat = session.get(SeatAssignment, seat_id)
        assert seat is not None and seat.last_active is not None
    assert [action for action, _, _ in _audit(harness, seat_id)] == ["release_asked", "seat_kept"]


async def test_no_answer_in_time_leaves_the_seat_as_it_is(clock_harness: Harness) -> None:
    harness = clock_harness
    seat_id = _seat(harness, "engineer@example.com")
    await _asked(harness, seat_id, ENGINEER)
    await harness.env.sleep(timedelta(days=10))  # 3 business days, whatever weekend or holiday
    assert await _result(harness, seat_id) == SeatReleaseResult(seat_id, "timeout", False)
    with transaction(harness.engine) as session:
        assert session.get(SeatAssignment, seat_id) is not None
    audit = _audit(harness, seat_id)
    assert [(action, actor) for action, actor, _ in audit] == [
        ("release_asked", ITAM_EMAIL),
        ("release_ask_expired", "workflow"),
    ]
    shown = [u[2].reuse for u in harness.notifier.updates if u[1] is MessageKind.RECLAIM_ASK]
    assert [view.holder_answer for view in shown if view] == ["timeout"]
    text, blocks = reuse_message(MessageKind.RECLAIM_ASK, harness.notifier.updates[-1][2])
    assert "stays yours" in text and "actions" not in str(blocks)


async def test_a_seat_no_one_holds_is_refused_without_retrying(harness: Harness) -> None:
    releases = SeatReleaseClient(harness.env.client, task_queue=harness.queue)
    await releases.ask(SeatReleaseInput(999_999, ITAM_EMAIL, 3))
    handle = harness.env.client.get_workflow_handle(workflow_id_for(999_999))
    try:
        await handle.result()
    except Exception as err:  # WorkflowFailureError wrapping the activity's refusal
        assert "not assigned" in str(err.__cause__.__cause__)  # type: ignore[union-attr]
    else:
        raise AssertionError("the release of a seat no one holds should fail")

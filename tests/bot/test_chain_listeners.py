"""The approval chain through the real Bolt app, served over HTTP, against the local Slack
simulator: every click and submission is a signed payload shaped as Slack sends it.

The workflow is a recording stand-in (`FakeProcurement`): these tests are about what the bot
sends it and shows people; the chain itself is covered by tests/workflows and tests/e2e. The
messages people click on are rendered by the real notifier, as the workflow's activities do."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot import ids
from bot.app import build_app
from bot.deps import BotDeps
from bot.notifier import SlackNotifier, web_client
from bot.server import build_http_app
from bot.simulator import SimUser
from bot.simulator.serve import bind_socket, serving, socket_url
from catalog import repository
from catalog.db import make_engine, transaction, upgrade
from catalog.models import AuditEvent, PurchaseRequest
from catalog.ports import MessageKind, RequestSummary, StepView
from catalog.seed import seed_if_empty
from catalog.settings import Settings
from tests.bot.slack_session import SlackSession, local_simulator
from tests.helpers import eventually
from workflows.request.client import DecisionOutcome, ProcurementClient, SubmitResult
from workflows.request.types import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REQUEST_CHANGES,
    ChoiceResult,
    DecisionInput,
    DelegateInput,
    EditInput,
    RequestInput,
    RequestState,
    StepState,
    WithdrawInput,
)

EMPLOYEE, MANAGER, FINANCE, ITAM, STRANGER = "U0EMPLOYEE", "U0MANAGER", "U0FINANCE", "U0ITAM", "U0STRANGER"
OPENED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@dataclass
class FakeProcurement:
    """Records what the bot asks of the workflow; answers as told."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    states: dict[str, RequestState] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)  # method → the validator's message
    temporal: Any = None

    def of(self, method: str) -> list[tuple[str, Any]]:
        return [(rid, arg) for name, rid, arg in self.calls if name == method]

    async def submit(self, request: RequestInput) -> SubmitResult:
        self.calls.append(("submit", request.request_id, request))
        return SubmitResult(request.request_id, f"request-{request.request_id}", None)

    async def decide(self, request_id: str, decision: DecisionInput) -> DecisionOutcome:
        self.calls.append(("decide", request_id, decision))
        if "decide" in self.refusals:
            return DecisionOutcome(False, self.refusals["decide"])
        return DecisionOutcome(True, "Done.", "pending_approval")

    async def _choice(self, method: str, request_id: str, arg: Any, accepted: str) -> ChoiceResult:
        self.calls.append((method, request_id, arg))
        if method in self.refusals:
            return ChoiceResult(False, self.refusals[method])
        return ChoiceResult(True, accepted)

    async def delegate(self, request_id: str, delegation: DelegateInput) -> ChoiceResult:
        return await self._choice("delegate", request_id, delegation, f"Delegated to <@{delegation.to_slack_id}>.")

    async def withdraw(self, request_id: str, withdrawal: WithdrawInput) -> ChoiceResult:
        return await self._choice("withdraw", request_id, withdrawal, "Withdrawn. Nothing will be bought.")

    async def edit(self, request_id: str, edit: EditInput) -> ChoiceResult:
        return await self._choice("edit", request_id, edit, "Thanks, the request goes back to the approvers.")

    async def state(self, request_id: str) -> RequestState | None:
        return self.states.get(request_id)


@dataclass
class Slack(SlackSession):
    procurement: FakeProcurement
    notifier: SlackNotifier

    async def bot_messages(self, user: str) -> list[dict[str, Any]]:
        dm = (await self.state(user))["dm"]
        return [m for m in (dm["messages"] if dm else []) if m["is_bot"]]

    async def modal(self, user: str) -> dict[str, Any] | None:
        modals = (await self.state(user))["modals"]
        return modals[-1] if modals else None

    async def private_texts(self, user: str) -> list[str]:
        """What the bot told `user` privately: ephemerals, and DMs without blocks."""
        found = []
        for call in await self.calls("chat.postEphemeral") + await self.calls("chat.postMessage"):
            args = call["args"]
            if args.get("user", args.get("channel")) == user and not args.get("blocks"):
                found.append(str(args.get("text")))
        return found

    async def told(self, user: str, words: str) -> None:
        async def arrived() -> bool:
            return any(words in t for t in await self.private_texts(user))

        await eventually(arrived, what=f"{words!r} told to {user}")

    async def dm(self, user: str, kind: MessageKind, summary: RequestSummary) -> dict[str, Any]:
        """Post a message as the workflow's activity would, and return it as the user sees it."""
        ref = await self.notifier.send(user_id=user, kind=kind, summary=summary)
        return next(m for m in await self.bot_messages(user) if m["ts"] == ref.ts)

    async def called(self, method: str, count: int = 1) -> list[tuple[str, Any]]:
        async def enough() -> bool:
            return len(self.procurement.of(method)) >= count

        await eventually(enough, what=f"{count} {method} call(s)")
        return self.procurement.of(method)

    async def new_modal(self, user: str, before: set[str]) -> dict[str, Any]:
        opened: dict[str, Any] = {}

        async def is_open() -> bool:
            modal = await self.modal(user)
            if modal and modal["id"] not in before:
                opened.update(modal)
                return True
            return False

        await eventually(is_open, what=f"a new modal for {user}")
        return opened

    async def modal_ids(self, user: str) -> set[str]:
        return {m["id"] for m in (await self.state(user))["modals"]}


def _users(engine: Engine) -> tuple[SimUser, ...]:
    with transaction(engine) as session:
        emails = ("employee@example.com", "manager@example.com", "finance@example.com", "itam@example.com")
        people = [repository.get_person(session, email=e) for e in emails]
        users = tuple(SimUser(p.slack_id or "", p.name, p.email) for p in people if p)
    return (*users, SimUser(STRANGER, "Sam Stranger", "sam@elsewhere.example"))


@pytest.fixture(scope="module")
async def slack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> AsyncIterator[Slack]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('chain') / 'procure.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    bot_sock, sim_sock = bind_socket(), bind_socket()
    settings = Settings(slack_api_url=socket_url(sim_sock) + "/api/", itam_channel="#itam")
    procurement = FakeProcurement()
    deps = BotDeps(settings=settings, engine=engine, procurement=cast(ProcurementClient, procurement))
    notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
    async with (
        serving(local_simulator(_users(engine), bot_sock, reference_dir), sim_sock) as sim_url,
        serving(build_http_app(build_app(deps), deps), bot_sock),
        httpx.AsyncClient(base_url=sim_url, timeout=30) as client,
    ):
        yield Slack(client, engine, procurement, notifier)
    engine.dispose()


def _request_id() -> str:
    return f"REQ-{uuid.uuid4().hex[:8].upper()}"


def _steps(finance_status: str = "pending") -> tuple[StepView, ...]:
    return (
        StepView(1, 1, "manager", MANAGER, "Max Manager", "approved", ("always",), OPENED, MANAGER),
        StepView(2, 2, "finance", FINANCE, "Fiona Finance", finance_status, ("over 5,000.00 USD",), OPENED),
    )


def _summary(request_id: str, status: str = "pending_approval", **more: Any) -> RequestSummary:
    fields: dict[str, Any] = dict(
        request_id=request_id,
        status=status,
        requester_slack_id=EMPLOYEE,
        requester_name="Emma Employee",
        product_name="Sketch",
        product_id=None,
        vendor="Sketch B.V.",
        seats=3,
        unit_price_cents=200_000,
        annual_cost_cents=600_000,
        currency="USD",
        cost_center="CC-DESIGN",
        channel="direct",
        justification="Agency files",
        steps=_steps(),
    )
    fields.update(more)
    return RequestSummary(**fields)


def _chain_state(request_id: str, status: str = "pending_approval") -> RequestState:
    return RequestState(
        request_id=request_id,
        status=status,
        requester_slack_id=EMPLOYEE,
        steps=[StepState(1, 1, "manager", MANAGER, "approved"), StepState(2, 2, "finance", FINANCE, "pending")],
    )


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory")]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def _text_value(block: str, action: str, value: str) -> dict[str, Any]:
    return {block: {action: {"type": "plain_text_input", "value": value}}}


async def test_approve_sends_the_step_and_a_refusal_is_told_and_audited(slack: Slack) -> None:
    rid = _request_id()
    message = await slack.dm(FINANCE, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    assert [_button(message, a)["value"] for a in (ids.APPROVE, ids.DENY, ids.REQUEST_CHANGES, ids.DELEGATE)] == [  # type: ignore[index]
        f"{rid}|2"
    ] * 4
    await slack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.APPROVE)
    calls = await slack.called("decide")
    assert (rid, DecisionInput(FINANCE, True, "", 2, ACTION_APPROVE)) in calls

    slack.procurement.refusals["decide"] = "This step was already approved by <@U0FINANCE>."
    try:
        await slack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.APPROVE)
        await slack.told(FINANCE, "already approved")
    finally:
        del slack.procurement.refusals["decide"]

    def audited() -> bool:
        with transaction(slack.engine) as session:
            rows = session.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).all()
            return any(
                r.action == "decision_refused" and r.detail["attempted"] == "approve" and r.actor == FINANCE
                for r in rows
            )

    await eventually(audited, what="the refusal's audit row")


async def test_deny_asks_for_a_reason_and_sends_it_with_the_step(slack: Slack) -> None:
    rid = _request_id()
    slack.procurement.states[rid] = _chain_state(rid)
    message = await slack.dm(FINANCE, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    before = await slack.modal_ids(FINANCE)
    await slack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.DENY)
    modal = await slack.new_modal(FINANCE, before)
    assert modal["callback_id"] == ids.DENY_MODAL
    assert json.loads(modal["private_metadata"])["seq"] == 2
    assert [c for c in await slack.calls("views.open") if rid in json.dumps(c["args"])]
    reason = _text_value(ids.B_DENY_REASON, ids.A_DENY_REASON, "Over budget <!channel>")
    answer = await slack.do("/sim/submit", user=FINANCE, view_id=modal["id"], values=reason)
    assert answer["outcome"] == "closed", answer
    calls = await slack.called("decide")
    assert (rid, DecisionInput(FINANCE, False, "Over budget <!channel>", 2, ACTION_DENY)) in calls


async def test_request_changes_needs_a_comment(slack: Slack) -> None:
    rid = _request_id()
    slack.procurement.states[rid] = _chain_state(rid)
    message = await slack.dm(FINANCE, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    before = await slack.modal_ids(FINANCE)
    await slack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.REQUEST_CHANGES)
    modal = await slack.new_modal(FINANCE, before)
    assert modal["callback_id"] == ids.CHANGES_MODAL
    # Whitespace passes Slack's client check (min_length) but is not a comment.
    blank = await slack.do(
        "/sim/submit",
        user=FINANCE,
        view_id=modal["id"],
        values=_text_value(ids.B_CHANGES_COMMENT, ids.A_CHANGES_COMMENT, "     "),
    )
    assert blank["outcome"] == "errors" and set(blank["errors"]) == {ids.B_CHANGES_COMMENT}
    comment = _text_value(ids.B_CHANGES_COMMENT, ids.A_CHANGES_COMMENT, "Use the CC-ENG cost center")
    assert (await slack.do("/sim/submit", user=FINANCE, view_id=modal["id"], values=comment))["outcome"] == "closed"
    calls = await slack.called("decide")
    assert (rid, DecisionInput(FINANCE, False, "Use the CC-ENG cost center", 2, ACTION_REQUEST_CHANGES)) in calls


async def test_delegate_picks_someone_else_with_a_note(slack: Slack) -> None:
    rid = _request_id()
    slack.procurement.states[rid] = _chain_state(rid)
    message = await slack.dm(FINANCE, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    before = await slack.modal_ids(FINANCE)
    await slack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.DELEGATE)
    modal = await slack.new_modal(FINANCE, before)
    assert modal["callback_id"] == ids.DELEGATE_MODAL

    def pick(user: str) -> dict[str, Any]:
        return {
            ids.B_DELEGATE_TO: {ids.A_DELEGATE_TO: {"type": "users_select", "selected_user": user}},
            **_text_value(ids.B_DELEGATE_NOTE, ids.A_DELEGATE_NOTE, "I'm at the offsite"),
        }

    for who, problem in ((FINANCE, "someone other than yourself"), (EMPLOYEE, "can't approve their own")):
        answer = await slack.do("/sim/submit", user=FINANCE, view_id=modal["id"], values=pick(who))
        assert answer["outcome"] == "errors" and problem in answer["errors"][ids.B_DELEGATE_TO], answer
    assert (await slack.do("/sim/submit", user=FINANCE, view_id=modal["id"], values=pick(ITAM)))["outcome"] == "closed"
    calls = await slack.called("delegate")
    assert calls == [(rid, DelegateInput(FINANCE, ITAM, 2, "I'm at the offsite"))]
    await slack.told(FINANCE, f"Delegated to <@{ITAM}>")


async def test_delegating_to_someone_who_cannot_take_the_role_is_refused_in_the_form(slack: Slack) -> None:
    """The manager's step may not go to an engineer: the form says who may take it, stays
    open, nothing reaches the workflow, and the refusal is audited."""
    rid = _request_id()
    _stored_request(slack.engine, rid, status="pending_approval", product_id=None)
    with transaction(slack.engine) as session:
        repository.open_step(
            session, request_id=rid, seq=1, role="manager", approver_email="manager@example.com",
            approver_slack_id=MANAGER, stage=1, opened_at=OPENED,
        )  # fmt: skip
    slack.procurement.states[rid] = RequestState(
        request_id=rid,
        status="pending_approval",
        requester_slack_id=EMPLOYEE,
        steps=[StepState(1, 1, "manager", MANAGER, "pending")],
    )
    waiting = (StepView(1, 1, "manager", MANAGER, "Max Manager", "pending", ("always",), OPENED),)
    message = await slack.dm(MANAGER, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=1, steps=waiting))
    before = await slack.modal_ids(MANAGER)
    await slack.do("/sim/action", user=MANAGER, message_ts=message["ts"], action_id=ids.DELEGATE)
    modal = await slack.new_modal(MANAGER, before)
    pick = {ids.B_DELEGATE_TO: {ids.A_DELEGATE_TO: {"type": "users_select", "selected_user": "U0ENGINEER"}}}
    answer = await slack.do("/sim/submit", user=MANAGER, view_id=modal["id"], values=pick)
    assert answer["outcome"] == "errors", answer
    problem = answer["errors"][ids.B_DELEGATE_TO]
    assert "Eli Engineer can't take over a manager step" in problem and "Vera Vice-President" in problem
    assert not [arg for r, arg in slack.procurement.of("delegate") if r == rid]

    def audited() -> bool:
        with transaction(slack.engine) as session:
            rows = session.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).all()
            return any(r.action == "decision_refused" and r.detail["attempted"] == "delegate" for r in rows)

    await eventually(audited, what="the refused delegation's audit row")


async def test_modal_buttons_refuse_early_without_opening_a_form(slack: Slack) -> None:
    rid = _request_id()
    slack.procurement.states[rid] = _chain_state(rid)
    # The requester holds finance too: a message with their own request's buttons.
    message = await slack.dm(EMPLOYEE, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    before = await slack.modal_ids(EMPLOYEE)
    for action in (ids.DENY, ids.REQUEST_CHANGES, ids.DELEGATE):
        await slack.do("/sim/action", user=EMPLOYEE, message_ts=message["ts"], action_id=action)
    await eventually(
        lambda: _count(slack, EMPLOYEE, "can't decide your own request", 3), what="three refusals to the requester"
    )
    # Another person on someone else's step.
    manager_msg = await slack.dm(MANAGER, MessageKind.APPROVAL_REQUEST, _summary(rid, viewer_seq=2))
    await slack.do("/sim/action", user=MANAGER, message_ts=manager_msg["ts"], action_id=ids.DENY)
    await slack.told(MANAGER, f"Only <@{FINANCE}> can decide this step.")
    assert await slack.modal_ids(EMPLOYEE) == before
    assert not [c for c in await slack.calls("views.open") if rid in json.dumps(c["args"])]


async def _count(slack: Slack, user: str, words: str, count: int) -> bool:
    return sum(words in t for t in await slack.private_texts(user)) >= count


async def test_the_requester_withdraws_from_the_status_message(slack: Slack) -> None:
    rid = _request_id()
    message = await slack.dm(EMPLOYEE, MessageKind.REQUESTER_STATUS, _summary(rid))
    withdraw = _button(message, ids.WITHDRAW)
    assert withdraw is not None and withdraw["value"] == rid and withdraw["confirm"]["confirm"]["text"] == "Withdraw"
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=message["ts"], action_id=ids.WITHDRAW)
    assert (await slack.called("withdraw"))[-1] == (rid, WithdrawInput(EMPLOYEE))
    slack.procurement.refusals["withdraw"] = "This request can't be withdrawn any more (approved)."
    try:
        await slack.do("/sim/action", user=EMPLOYEE, message_ts=message["ts"], action_id=ids.WITHDRAW)
        await slack.told(EMPLOYEE, "can't be withdrawn any more")
    finally:
        del slack.procurement.refusals["withdraw"]


def _stored_request(
    engine: Engine, request_id: str, *, status: str, product_id: str | None, annual_cost_cents: int = 120_000
) -> None:
    """The request's row, as the workflow's activities keep it."""
    now = datetime.now(UTC)
    with transaction(engine) as session:
        repository.create_request(
            session,
            request=PurchaseRequest(
                id=request_id,
                workflow_id=f"request-{request_id}",
                requester_email="employee@example.com",
                requester_slack_id=EMPLOYEE,
                product_id=product_id,
                product_name="Sketch" if product_id is None else "Figma",
                seats=3,
                unit_price_cents=annual_cost_cents // 3,
                annual_cost_cents=annual_cost_cents,
                currency="USD",
                cost_center="CC-DESIGN",
                channel="direct",
                justification="Agency files",
                status=status,
                created_at=now,
                updated_at=now,
                data_classification="confidential",
                changes_comment="Fewer seats please",
            ),
        )


async def test_changes_requested_then_the_requester_edits_in_a_prefilled_modal(slack: Slack) -> None:
    rid = _request_id()
    _stored_request(slack.engine, rid, status="changes_requested", product_id=None)
    asked = _summary(
        rid,
        "changes_requested",
        changes_comment="Fewer seats please",
        changes_by_slack_id=FINANCE,
        steps=_steps("changes_requested"),
    )
    message = await slack.dm(EMPLOYEE, MessageKind.CHANGES_REQUESTED, asked)
    assert "Fewer seats please" in json.dumps(message["blocks"])
    before = await slack.modal_ids(EMPLOYEE)
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=message["ts"], action_id=ids.EDIT_REQUEST)
    modal = await slack.new_modal(EMPLOYEE, before)
    assert modal["callback_id"] == ids.EDIT_MODAL
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "3"
    assert blocks[ids.B_ESTIMATE]["element"]["initial_value"] == "1200.00"
    assert blocks[ids.B_COST_CENTER]["element"]["initial_value"] == "CC-DESIGN"
    assert blocks[ids.B_CLASSIFICATION]["element"]["initial_option"]["value"] == "confidential"

    def form(**changed: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": changed.get("seats", "2")}},
            **_text_value(ids.B_ESTIMATE, ids.A_ESTIMATE, changed.get("estimate", "800")),
            **_text_value(ids.B_JUSTIFICATION, ids.A_JUSTIFICATION, "Agency files, two designers"),
            **_text_value(ids.B_COST_CENTER, ids.A_COST_CENTER, changed.get("cost_center", "CC-ENG")),
            ids.B_CLASSIFICATION: {
                ids.A_CLASSIFICATION: {"type": "static_select", "selected_option": {"value": "internal"}}
            },
            ids.B_CHANNEL: {ids.A_CHANNEL: {"type": "static_select", "selected_option": {"value": "direct"}}},
        }
        return values

    bad = await slack.do(
        "/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=form(estimate="lots", cost_center="CC-MOON")
    )
    assert bad["outcome"] == "errors" and set(bad["errors"]) == {ids.B_ESTIMATE, ids.B_COST_CENTER}, bad
    assert "Known: " in bad["errors"][ids.B_COST_CENTER] and not slack.procurement.of("edit")
    good = await slack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=form())
    assert good["outcome"] == "closed", good
    calls = await slack.called("edit")
    assert calls == [
        (rid, EditInput(EMPLOYEE, 2, 80_000, "Agency files, two designers", "CC-ENG", "direct", "internal"))
    ]
    await slack.told(EMPLOYEE, "goes back to the approvers")


async def test_only_the_requester_may_open_the_edit_form_and_only_while_changes_are_asked(slack: Slack) -> None:
    rid = _request_id()
    _stored_request(slack.engine, rid, status="pending_approval", product_id="figma")
    message = await slack.dm(
        MANAGER,
        MessageKind.CHANGES_REQUESTED,
        _summary(rid, "changes_requested", changes_comment="x", changes_by_slack_id=FINANCE),
    )
    before = await slack.modal_ids(MANAGER)
    await slack.do("/sim/action", user=MANAGER, message_ts=message["ts"], action_id=ids.EDIT_REQUEST)
    await slack.told(MANAGER, "Only the requester can edit this request.")
    mine = await slack.dm(
        EMPLOYEE,
        MessageKind.CHANGES_REQUESTED,
        _summary(rid, "changes_requested", changes_comment="x", changes_by_slack_id=FINANCE),
    )
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=mine["ts"], action_id=ids.EDIT_REQUEST)
    await slack.told(EMPLOYEE, "can't be edited now: it is pending approval")
    assert await slack.modal_ids(MANAGER) == before


async def test_app_home_lists_waiting_steps_with_their_buttons_and_my_requests(slack: Slack) -> None:
    rid = _request_id()
    _stored_request(slack.engine, rid, status="pending_approval", product_id=None)
    with transaction(slack.engine) as session:
        repository.open_step(
            session, request_id=rid, seq=1, role="manager", approver_email="manager@example.com",
            approver_slack_id=MANAGER, stage=1, opened_at=OPENED,
        )  # fmt: skip
        repository.close_step(
            session, request_id=rid, seq=1, status="approved", actor="manager@example.com", reason=None, at=OPENED
        )
        repository.open_step(
            session, request_id=rid, seq=2, role="finance", approver_email="finance@example.com",
            approver_slack_id=FINANCE, stage=2, opened_at=OPENED, delegate_slack_id=ITAM,
        )  # fmt: skip
    await slack.do("/sim/home", user=FINANCE)
    await eventually(lambda: _home_has(slack, FINANCE, rid), what="the step on Finance's home")
    home = (await slack.state(FINANCE))["home"]
    block_id = f"{ids.B_HOME_DECIDE_PREFIX}{rid}_2"
    decide = next(b for b in home["blocks"] if b.get("block_id") == block_id)
    assert [e["action_id"] for e in decide["elements"]] == [ids.APPROVE, ids.DENY, ids.REQUEST_CHANGES, ids.DELEGATE]
    await slack.do("/sim/view_action", user=FINANCE, view_id=home["id"], action_id=ids.APPROVE, block_id=block_id)
    calls = await slack.called("decide")
    assert (rid, DecisionInput(FINANCE, True, "", 2, ACTION_APPROVE)) in calls

    # The delegate sees it too; the manager, whose step is done, does not.
    await slack.do("/sim/home", user=ITAM)
    await eventually(lambda: _home_has(slack, ITAM, rid), what="the step on the delegate's home")
    assert f"delegate of <@{FINANCE}>" in json.dumps((await slack.state(ITAM))["home"]["blocks"])
    await slack.do("/sim/home", user=MANAGER)
    await eventually(lambda: _home_published(slack, MANAGER), what="the manager's home")
    assert block_id not in json.dumps((await slack.state(MANAGER))["home"]["blocks"])

    await slack.do("/sim/home", user=EMPLOYEE)
    await eventually(lambda: _home_has(slack, EMPLOYEE, rid), what="the request on the requester's home")
    employee_home = (await slack.state(EMPLOYEE))["home"]
    row = next(b for b in employee_home["blocks"] if b.get("block_id") == f"{ids.B_HOME_MINE_PREFIX}{rid}")
    assert f"Now with <@{FINANCE}> (Finance), waiting since <!date^" in row["text"]["text"]
    assert row["accessory"]["action_id"] == ids.WITHDRAW
    await slack.do(
        "/sim/view_action", user=EMPLOYEE, view_id=employee_home["id"], action_id=ids.WITHDRAW, block_id=row["block_id"]
    )
    assert (rid, WithdrawInput(EMPLOYEE)) in await slack.called("withdraw")


async def test_a_decision_on_the_app_home_is_answered_there(slack: Slack) -> None:
    """Approve on the Home: the Home is published again, saying so, without the step; a
    refused click is answered on the Home too (and audited), not in a DM. The card of a step
    that would take the budget below zero carries the over-budget warning."""
    rid, refused_rid = _request_id(), _request_id()
    for request_id in (rid, refused_rid):
        _stored_request(
            slack.engine, request_id, status="pending_approval", product_id=None, annual_cost_cents=15_000_000_00
        )
        with transaction(slack.engine) as session:
            repository.open_step(
                session, request_id=request_id, seq=2, role="finance", approver_email="finance@example.com",
                approver_slack_id=FINANCE, stage=2, opened_at=OPENED,
            )  # fmt: skip
    await slack.do("/sim/home", user=FINANCE)
    await eventually(lambda: _home_has(slack, FINANCE, refused_rid), what="the steps on Finance's home")
    home = (await slack.state(FINANCE))["home"]
    warning = next(b for b in home["blocks"] if b.get("block_id") == f"{ids.B_HOME_OVER_BUDGET_PREFIX}{rid}_2")
    assert warning["type"] == "rich_text" and "Over budget by" in json.dumps(warning)
    dms_before = len(await slack.private_texts(FINANCE))

    block_id = f"{ids.B_HOME_DECIDE_PREFIX}{rid}_2"
    await slack.do("/sim/view_action", user=FINANCE, view_id=home["id"], action_id=ids.APPROVE, block_id=block_id)

    async def notice(words: str) -> bool:
        blocks = (await slack.state(FINANCE))["home"]["blocks"]
        return any(b.get("block_id") == ids.B_HOME_NOTICE and words in b["text"]["text"] for b in blocks)

    await eventually(lambda: notice(f"*Sketch* ({rid}): Done."), what="the confirmation on the Home")
    shown = json.dumps((await slack.state(FINANCE))["home"]["blocks"])
    assert block_id not in shown and f"{ids.B_HOME_DECIDE_PREFIX}{refused_rid}_2" in shown

    slack.procurement.refusals["decide"] = f"This step was already approved by <@{MANAGER}>."
    try:
        home = (await slack.state(FINANCE))["home"]
        refused_block = f"{ids.B_HOME_DECIDE_PREFIX}{refused_rid}_2"
        await slack.do(
            "/sim/view_action", user=FINANCE, view_id=home["id"], action_id=ids.APPROVE, block_id=refused_block
        )
        await eventually(lambda: notice("already approved"), what="the refusal on the Home")
    finally:
        del slack.procurement.refusals["decide"]
    assert refused_block in json.dumps((await slack.state(FINANCE))["home"]["blocks"])
    assert len(await slack.private_texts(FINANCE)) == dms_before  # nothing in a DM

    def audited() -> bool:
        with transaction(slack.engine) as session:
            rows = session.exec(select(AuditEvent).where(AuditEvent.request_id == refused_rid)).all()
            return any(r.action == "decision_refused" for r in rows)

    await eventually(audited, what="the refusal's audit row")


async def _home_has(slack: Slack, user: str, text: str) -> bool:
    home = (await slack.state(user))["home"]
    return bool(home) and text in json.dumps(home["blocks"])


async def _home_published(slack: Slack, user: str) -> bool:
    return bool((await slack.state(user))["home"])


async def test_the_request_modal_asks_for_cost_center_and_data_classification(slack: Slack) -> None:
    before = await slack.modal_ids(EMPLOYEE)
    await slack.do("/sim/command", user=EMPLOYEE, text="/request zoom")
    modal = await slack.new_modal(EMPLOYEE, before)
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_COST_CENTER]["element"]["initial_value"] == "CC-DESIGN"  # from the directory
    assert blocks[ids.B_CLASSIFICATION]["element"]["initial_option"]["value"] == "internal"
    values = {
        ids.B_PRODUCT: {ids.A_PRODUCT: {"type": "static_select", "selected_option": {"value": "zoom"}}},
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "2"}},
        ids.B_CHANNEL: {ids.A_CHANNEL: {"type": "static_select", "selected_option": {"value": "direct"}}},
        **_text_value(ids.B_JUSTIFICATION, ids.A_JUSTIFICATION, "Customer calls"),
        **_text_value(ids.B_COST_CENTER, ids.A_COST_CENTER, "cc-eng"),
        ids.B_CLASSIFICATION: {
            ids.A_CLASSIFICATION: {"type": "static_select", "selected_option": {"value": "restricted"}}
        },
    }
    assert (await slack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values))["outcome"] == "closed"
    submitted = (await slack.called("submit"))[-1][1]
    assert (submitted.product_id, submitted.cost_center, submitted.data_classification) == (
        "zoom",
        "CC-ENG",
        "restricted",
    )


async def test_a_seat_count_that_cannot_be_one_is_said_not_prefilled(slack: Slack) -> None:
    before = await slack.modal_ids(EMPLOYEE)
    await slack.do("/sim/command", user=EMPLOYEE, text="/request zoom -3 seats")
    modal = await slack.new_modal(EMPLOYEE, before)
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "1"
    await slack.told(EMPLOYEE, "“-3” isn't a number of seats I can use (1 to 100,000)")


async def test_someone_outside_the_directory_is_told_who_can_add_them(slack: Slack) -> None:
    await slack.do("/sim/command", user=STRANGER, text="/request figma")
    await slack.told(STRANGER, "company directory")
    text = next(t for t in await slack.private_texts(STRANGER) if "company directory" in t)
    assert "Ian ITAM" in text and "#itam" in text

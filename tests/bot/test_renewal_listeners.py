"""Renewal reminders in the local Slack simulator: the real worker posts them, people click
Renew / Cancel / Renegotiate / Snooze through signed payloads, and every message of the term
updates in place. Plus the ITAM App Home and Block Kit schema checks of every renewal view."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.app import build_app
from bot.blocks import renewals as rb
from bot.deps import BotDeps
from bot.notifier import SlackNotifier, web_client
from bot.payloads import RenewalRef
from bot.server import build_http_app
from bot.simulator import SimUser
from bot.simulator.serve import bind_socket, serving, socket_url
from catalog.db import make_engine, transaction, upgrade
from catalog.models import Asset, Contract, RenewalStatus, SeatAssignment
from catalog.ports import ReclaimCandidate, RenewalCard, RenewalDigestSummary, UpcomingRenewal
from catalog.repository import reminders as reminders_repo
from catalog.rules.renewals import add_months
from catalog.seed import seed_if_empty
from catalog.settings import Settings
from tests.bot.slack_session import SlackSession, local_simulator
from tests.bot.test_blocks import HOSTILE, _mrkdwn_texts, validate
from tests.helpers import eventually
from tests.workflows.contracts import add_contract
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.client import RenewalClient
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient
from workflows.worker import build_worker

OWNER, MANAGER, ITAM = "U0EMPLOYEE", "U0MANAGER", "U0ITAM"


@dataclass
class Slack(SlackSession):
    renewals: RenewalClient

    async def reminder_dm(self, user: str, contract_id: int) -> dict[str, Any] | None:
        dm = (await self.state(user))["dm"]
        found = [m for m in dm["messages"] if m["is_bot"] and f"Contract #{contract_id} ·" in str(m["blocks"])]
        return found[-1] if found else None

    async def reminder_in_channel(self, user: str, contract_id: int) -> tuple[str, dict[str, Any]] | None:
        for channel in (await self.state(user))["channels"]:
            for m in channel["messages"]:
                if m["is_bot"] and f"Contract #{contract_id} ·" in str(m["blocks"]):
                    return channel["id"], m
        return None

    async def ephemerals_to(self, user: str) -> list[str]:
        calls = await self.calls("chat.postEphemeral") + await self.calls("chat.postMessage")
        return [str(c["args"].get("text")) for c in calls if c["args"].get("user", c["args"].get("channel")) == user]

    async def modal(self, user: str) -> dict[str, Any] | None:
        modals = (await self.state(user))["modals"]
        return modals[-1] if modals else None


def _users(engine: Engine) -> tuple[SimUser, ...]:
    from catalog import repository

    with transaction(engine) as session:
        people = [
            repository.get_person(session, email=e)
            for e in ("employee@example.com", "manager@example.com", "itam@example.com")
        ]
        return tuple(SimUser(p.slack_id or "", p.name, p.email) for p in people if p)


@pytest.fixture(scope="module")
async def slack(
    dev_server_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path
) -> AsyncIterator[Slack]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('renewals') / 'procure.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    bot_sock, sim_sock = bind_socket(), bind_socket()
    queue = f"renewal-bot-{uuid.uuid4().hex}"
    settings = Settings(slack_api_url=socket_url(sim_sock) + "/api/", temporal_task_queue=queue)
    simulator = local_simulator(_users(engine), bot_sock, reference_dir)
    deps = BotDeps(
        settings=settings, engine=engine, procurement=ProcurementClient(dev_server_env.client, task_queue=queue)
    )
    notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
    worker = build_worker(
        dev_server_env.client,
        task_queue=queue,
        activities=ProcurementActivities(engine, notifier),
        renewal_activities=RenewalActivities(
            engine, notifier, itam_channel=settings.itam_channel, calendar=settings.holiday_calendar()
        ),
    )
    async with (
        worker,
        serving(simulator, sim_sock) as sim_url,
        serving(build_http_app(build_app(deps), deps), bot_sock),
        httpx.AsyncClient(base_url=sim_url, timeout=30) as client,
    ):
        yield Slack(client, engine, RenewalClient(dev_server_env.client, task_queue=queue))
    engine.dispose()


def _today() -> date:
    return datetime.now(UTC).date()


async def _contract_with_reminder(slack: Slack, product: str) -> int:
    """A contract whose cancel-by is ~10 days away, and today's scan (a catch-up reminder)."""
    start = add_months(_today(), -12) + timedelta(days=40)
    contract_id = add_contract(slack.engine, start=start, product=product, last_active=(_today(), None))
    result = await slack.renewals.scan(_today().isoformat())
    assert result.claimed >= 1
    return contract_id


def _term_status(slack: Slack, contract_id: int) -> str:
    with transaction(slack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        terms = [t for t in reminders_repo._terms_by_key(session).values() if t.contract_id == contract_id]
        return terms[0].status if terms else RenewalStatus.OPEN


async def test_a_reminder_reaches_itam_and_the_owner_and_cancel_updates_both_in_place(slack: Slack) -> None:
    contract_id = await _contract_with_reminder(slack, "Miro")
    dm = await slack.reminder_dm(OWNER, contract_id)
    posted = await slack.reminder_in_channel(ITAM, contract_id)
    assert dm is not None and posted is not None
    channel_id, in_channel = posted
    facts = str(dm["blocks"])
    assert "Miro" in facts and "5 bought" in facts and "2 assigned" in facts and "1 active in the last 30 days" in facts
    assert "days left" in facts and "Cancel by" in facts
    # A second scan of the same day sends nothing new.
    await slack.renewals.scan(_today().isoformat())
    dms = [m for m in (await slack.state(OWNER))["dm"]["messages"] if f"Contract #{contract_id} ·" in str(m["blocks"])]
    assert len(dms) == 1

    # The manager is neither the owner nor ITAM: refused privately, nothing changes.
    await slack.do("/sim/action", user=MANAGER, channel=channel_id, message_ts=in_channel["ts"], action_id=ids.CANCEL)

    async def refused() -> bool:
        return any("owner or the ITAM team" in t for t in await slack.ephemerals_to(MANAGER))

    await eventually(refused, what="the refusal")
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN

    # The owner clicks Cancel in the DM: first a confirmation that shows who still uses it.
    await slack.do("/sim/action", user=OWNER, message_ts=dm["ts"], action_id=ids.CANCEL)
    await eventually(lambda: slack.modal(OWNER), what="the cancel confirmation")
    confirm = await slack.modal(OWNER)
    assert confirm is not None and confirm["callback_id"] == ids.CANCEL_MODAL
    shown = str(confirm["blocks"])
    assert "2 assigned" in shown and "*1 active in the last 30 days*" in shown and "ends on" in shown
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN, "nothing is decided before the confirmation"
    await slack.do("/sim/submit", user=OWNER, view_id=confirm["id"], values={})

    async def both_updated() -> bool:
        mine = await slack.reminder_dm(OWNER, contract_id)
        theirs = await slack.reminder_in_channel(ITAM, contract_id)
        return bool(
            mine and theirs and "Not renewing" in str(mine["blocks"]) and "Not renewing" in str(theirs[1]["blocks"])
        )

    await eventually(both_updated, what="both messages showing the cancellation")
    mine = await slack.reminder_dm(OWNER, contract_id)
    assert mine is not None and mine["edited"] and ids.RENEW not in str(mine["blocks"]), "no buttons once decided"
    assert _term_status(slack, contract_id) == RenewalStatus.CANCELLED

    async def confirmed_privately() -> bool:
        return any(t.startswith("Recorded: the contract ends on") for t in await slack.ephemerals_to(OWNER))

    await eventually(confirmed_privately, what="the private confirmation")
    with transaction(slack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None and not contract.auto_renew, "the contract itself records the end"


async def test_renew_modal_validates_and_records_new_seats_and_price(slack: Slack) -> None:
    contract_id = await _contract_with_reminder(slack, "Loom")
    posted = await slack.reminder_in_channel(ITAM, contract_id)
    assert posted is not None
    channel_id, message = posted
    await slack.do("/sim/action", user=ITAM, channel=channel_id, message_ts=message["ts"], action_id=ids.RENEW)
    await eventually(lambda: slack.modal(ITAM), what="the renew modal")
    modal = await slack.modal(ITAM)
    assert modal is not None
    seats = next(b for b in modal["blocks"] if b.get("block_id") == ids.B_RENEW_SEATS)
    assert seats["element"]["initial_value"] == "5"

    def form(seats: str, price: str) -> dict[str, Any]:
        return {
            ids.B_RENEW_SEATS: {ids.A_RENEW_SEATS: {"type": "number_input", "value": seats}},
            ids.B_RENEW_PRICE: {ids.A_RENEW_PRICE: {"type": "plain_text_input", "value": price}},
        }

    assert seats["element"]["min_value"] == "2", "never fewer seats than the two assigned"
    answer = await slack.do("/sim/submit", user=ITAM, view_id=modal["id"], values=form("8", "lots"))
    errors = answer.get("errors") or ((await slack.modal(ITAM)) or {}).get("errors", {})
    assert set(errors) == {ids.B_RENEW_PRICE} and "not an amount" in errors[ids.B_RENEW_PRICE]
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN

    # A third seat is assigned while the modal is open: 2 seats is now below what is in use.
    with transaction(slack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        session.add(
            SeatAssignment(asset_id=contract.asset_id, person_email="late@example.com", assigned_at=datetime.now(UTC))
        )
    answer = await slack.do("/sim/submit", user=ITAM, view_id=modal["id"], values=form("2", "150"))
    errors = answer.get("errors") or ((await slack.modal(ITAM)) or {}).get("errors", {})
    assert set(errors) == {ids.B_RENEW_SEATS} and errors[ids.B_RENEW_SEATS].startswith("3 seats are assigned")
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN

    # 6 seats at $150 cost what 5 at $180 do: recorded directly (more would go to approval).
    await slack.do("/sim/submit", user=ITAM, view_id=modal["id"], values=form("6", "150"))

    async def renewed() -> bool:
        theirs = await slack.reminder_in_channel(ITAM, contract_id)
        return bool(theirs and "Renewed" in str(theirs[1]["blocks"]))

    await eventually(renewed, what="the channel message showing the renewal")
    with transaction(slack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        asset = session.get(Asset, contract.asset_id)
        # The new seats and price are the next term's: this term keeps 5 at $180.
        assert asset is not None and (asset.seats, asset.unit_price_cents) == (5, 18_000)
        assert (contract.next_term_seats, contract.next_term_unit_price_cents) == (6, 15_000)
        assert contract.next_term_from is not None and contract.next_term_from > _today()


def _renew_form(seats: str, price: str) -> dict[str, Any]:
    return {
        ids.B_RENEW_SEATS: {ids.A_RENEW_SEATS: {"type": "number_input", "value": seats}},
        ids.B_RENEW_PRICE: {ids.A_RENEW_PRICE: {"type": "plain_text_input", "value": price}},
    }


async def test_renew_with_more_seats_starts_a_renewal_request_and_answers_privately(slack: Slack) -> None:
    # Issue 19 #7: the owner's Renew at more seats (or 100,000 × 100M USD) was recorded at once.
    contract_id = await _contract_with_reminder(slack, "Asana")
    dm = await slack.reminder_dm(OWNER, contract_id)
    assert dm is not None
    await slack.do("/sim/action", user=OWNER, message_ts=dm["ts"], action_id=ids.RENEW)
    await eventually(lambda: slack.modal(OWNER), what="the renew modal")
    modal = await slack.modal(OWNER)
    assert modal is not None and "goes to the approvers first" in str(modal["blocks"])

    # Capped as a new request is: said in the modal, nothing started.
    answer = await slack.do("/sim/submit", user=OWNER, view_id=modal["id"], values=_renew_form("100000", "100,000,000"))
    errors = answer.get("errors") or ((await slack.modal(OWNER)) or {}).get("errors", {})
    assert set(errors) == {ids.B_RENEW_PRICE} and "implausible" in errors[ids.B_RENEW_PRICE]

    await slack.do("/sim/submit", user=OWNER, view_id=modal["id"], values=_renew_form("8", "180"))

    async def answered() -> str | None:
        return next((t for t in await slack.ephemerals_to(OWNER) if "needs approval: REQ-" in t), None)

    await eventually(answered, what="the private answer")
    text = await answered()
    assert isinstance(text, str) and text.startswith("Renewal at 8 seats × $180.00 needs approval: REQ-"), text
    assert "(manager" in text, "the route the policy plans"
    found = re.search(r"REQ-[A-Z0-9]+", text)
    assert found is not None
    request_id = found.group(0)
    # Not renewed: the term stays open while the approvers decide.
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN
    with transaction(slack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None and contract.next_term_seats is None

    # The manager is asked, and told it is a renewal of this contract: now and then.
    async def asked() -> dict[str, Any] | None:
        messages = (await slack.state(MANAGER))["dm"]["messages"]
        return next((m for m in messages if f"Approval needed: renewal of Asana ({request_id})" in str(m)), None)

    await eventually(asked, what="the manager's approval DM")
    message = await asked()
    assert message is not None
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert f"asks to renew *Asana* (contract #{contract_id})" in shown
    assert "5 seats at $180.00 per seat = $900.00 a year" in shown
    assert "8 seats at $180.00 per seat = $1,440.00 a year" in shown and "$540.00 more a year" in shown

    # A second Renew of the term is refused at the button, naming the request.
    await slack.do("/sim/action", user=OWNER, message_ts=dm["ts"], action_id=ids.RENEW)

    async def refused() -> bool:
        return any(f"already waiting for approval: {request_id}" in t for t in await slack.ephemerals_to(OWNER))

    await eventually(refused, what="the refusal naming the pending request")


async def test_snooze_refuses_a_snooze_past_the_deadline_and_renegotiate_keeps_reminders(slack: Slack) -> None:
    contract_id = await _contract_with_reminder(slack, "Notion")
    dm = await slack.reminder_dm(OWNER, contract_id)
    assert dm is not None
    await slack.do("/sim/action", user=OWNER, message_ts=dm["ts"], action_id=ids.SNOOZE)
    await eventually(lambda: slack.modal(OWNER), what="the snooze modal")
    modal = await slack.modal(OWNER)
    assert modal is not None

    def choose(days: int) -> dict[str, Any]:
        selected = {"text": {"type": "plain_text", "text": f"{days} days"}, "value": str(days)}
        return {ids.B_SNOOZE_DAYS: {ids.A_SNOOZE_DAYS: {"type": "static_select", "selected_option": selected}}}

    answer = await slack.do("/sim/submit", user=OWNER, view_id=modal["id"], values=choose(30))
    errors = answer.get("errors") or ((await slack.modal(OWNER)) or {}).get("errors", {})
    assert "pass the deadline" in errors.get(ids.B_SNOOZE_DAYS, "")
    await slack.do("/sim/submit", user=OWNER, view_id=modal["id"], values=choose(3))

    async def snoozed() -> bool:
        mine = await slack.reminder_dm(OWNER, contract_id)
        return bool(mine and "Snoozed until" in str(mine["blocks"]))

    await eventually(snoozed, what="the DM showing the snooze")

    posted = await slack.reminder_in_channel(ITAM, contract_id)
    assert posted is not None
    await slack.do(
        "/sim/action",
        user=ITAM,
        channel=posted[0],
        message_ts=posted[1]["ts"],
        action_id=ids.RENEGOTIATE,
    )

    async def renegotiating() -> bool:
        mine = await slack.reminder_dm(OWNER, contract_id)
        return bool(mine and "Renegotiation owned by" in str(mine["blocks"]))

    await eventually(renegotiating, what="the DM showing the ITAM owner")
    mine = await slack.reminder_dm(OWNER, contract_id)
    assert mine is not None and ids.RENEW in str(mine["blocks"]), "reminders and buttons continue"
    assert _term_status(slack, contract_id) == RenewalStatus.OPEN


async def test_itam_sees_upcoming_renewals_on_the_app_home_and_others_do_not(slack: Slack) -> None:
    await _contract_with_reminder(slack, "Airtable")

    async def listed() -> bool:
        await slack.do("/sim/home", user=ITAM)
        home = (await slack.state(ITAM))["home"]
        return bool(home) and "Upcoming renewals" in str(home["blocks"]) and "Airtable" in str(home["blocks"])

    await eventually(listed, what="the ITAM App Home")
    await slack.do("/sim/home", user=MANAGER)

    async def manager_home() -> bool:
        return bool((await slack.state(MANAGER))["home"])

    await eventually(manager_home, what="the manager's App Home")
    assert "Upcoming renewals" not in str((await slack.state(MANAGER))["home"]["blocks"])


async def test_the_app_home_shows_each_terms_decision(slack: Slack) -> None:
    """Issue 18 §7: renegotiating / snoozed terms say so; a cancelled one leaves "Upcoming" for
    "Not renewing", with who cancelled it."""
    talks = await _contract_with_reminder(slack, "Zeplin")
    ending = await _contract_with_reminder(slack, "Lucidchart")
    with transaction(slack.engine) as session:
        for contract_id, action in ((talks, "renegotiate"), (ending, "cancel")):
            contract = session.get(Contract, contract_id)
            assert contract is not None
            outcome = reminders_repo.decide_renewal(
                session,
                contract_id=contract_id,
                renewal_date=contract.renewal_date,
                action=action,  # type: ignore[arg-type]
                actor_email="itam@example.com",
                at=datetime.now(UTC),
                idem_key=f"home-{contract_id}",
                calendar=Settings().holiday_calendar(),
                itam_owner_email="itam@example.com",
            )
            assert outcome.accepted, outcome.message

    async def shown() -> str:
        await slack.do("/sim/home", user=ITAM)
        home = (await slack.state(ITAM))["home"]
        return json.dumps(home["blocks"]) if home else ""

    async def both_shown() -> bool:
        return "Lucidchart" in await shown()

    await eventually(both_shown, what="the App Home with both decisions")
    blocks = json.loads(await shown())
    upcoming = next(b for b in blocks if b.get("block_id") == ids.B_HOME_RENEWALS)["text"]["text"]
    ending_text = next(b for b in blocks if b.get("block_id") == ids.B_HOME_ENDING)["text"]["text"]
    zeplin = next(line for line in upcoming.splitlines() if "Zeplin" in line)
    assert "renegotiating (owner itam@example.com)" in zeplin and "cancel by" in zeplin
    assert "Lucidchart" not in upcoming, "a cancelled renewal is no longer upcoming"
    lucid = next(line for line in ending_text.splitlines() if "Lucidchart" in line)
    assert "cancelled by itam@example.com on" in lucid and "(not renewing)" in lucid


# --- Block Kit of every renewal surface, with hostile text --------------------------------------


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


def _card(**overrides: Any) -> RenewalCard:
    fields: dict[str, Any] = {
        "contract_id": 7,
        "asset_id": 3,
        "product_name": HOSTILE,
        "vendor": HOSTILE,
        "owner_email": "emma@example.com",
        "owner_slack_id": "U0EMPLOYEE",
        "annual_cost_cents": 90_000,
        "unit_price_cents": 18_000,
        "currency": "USD",
        "seats_bought": 5,
        "seats_assigned": 4,
        "seats_active_30d": 2,
        "renewal_date": date(2027, 1, 5),
        "deadline": date(2026, 12, 4),
        "cancel_by": date(2026, 12, 4),
        "auto_renew": True,
        "days_left": 12,
        "status": "open",
    }
    fields.update(overrides)
    return RenewalCard(**fields)


@pytest.mark.parametrize(
    "card",
    [
        _card(),
        _card(status="renewed", decided_by="itam@example.com", decided_at="2026-11-23T10:00:00", renew_seats=8),
        _card(status="cancelled", decided_by_slack_id="U0EMPLOYEE", decided_at="2026-11-23T10:00:00"),
        _card(itam_owner_email="itam@example.com", snoozed_until=date(2026, 11, 30), days_left=0),
        _card(pending_request_id="REQ-<!channel>", pending_seats=8, pending_unit_price_cents=15_000),
    ],
)
def test_reminder_messages_validate_and_escape_user_text(schema: dict[str, Any], card: RenewalCard) -> None:
    text, blocks = rb.renewal_message(card)
    validate(schema, blocks)
    mrkdwn = _mrkdwn_texts(blocks)
    assert not any("<!channel>" in t or "<http://evil" in t for t in mrkdwn)
    assert any("&lt;!channel&gt;" in t for t in mrkdwn)
    assert len(text) <= 3000
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == (list(ids.RENEWAL_BUTTONS) if card.status == "open" else [])


def test_renewal_modals_digest_and_home_validate(schema: dict[str, Any]) -> None:
    ref = RenewalRef.of(_card())
    assert RenewalRef.from_value(ref.to_value()) == ref
    assert RenewalRef.from_value('{"c": "x"}') is None and RenewalRef.from_value("<forged>") is None
    validate(schema, rb.renew_modal(_card(), ref, private_metadata="{}"), "modal_view")
    validate(schema, rb.snooze_modal(ref, private_metadata="{}"), "modal_view")
    cancel = rb.cancel_modal(_card(days_left=-3), private_metadata="{}")
    validate(schema, cancel, "modal_view")
    assert "&lt;!channel&gt;" in json.dumps(cancel) and "notice deadline passed on 2026-12-04" in json.dumps(cancel)
    upcoming = tuple(
        UpcomingRenewal(i, HOSTILE, "o@example.com", 10_000, "USD", date(2027, 1, 5), date(2026, 12, 4), 11, "open")
        for i in range(60)
    )
    reclaim = tuple(ReclaimCandidate(i, HOSTILE, f"p{i}@example.com", None) for i in range(60))
    digest = RenewalDigestSummary(date(2026, 11, 23), 90, upcoming, (("USD", 600_000),), reclaim, 30)
    _, blocks = rb.digest_message(digest)
    validate(schema, blocks)
    passed = UpcomingRenewal(
        1, "Canva", "o@example.com", 300_000, "USD", date(2027, 1, 15), date(2026, 12, 16), -1, "open",
        when="renews 2027-01-15 — notice deadline passed 2026-12-16",
    )  # fmt: skip
    _, passed_blocks = rb.digest_message(RenewalDigestSummary(date(2026, 12, 17), 90, (passed,), (), (), 30))
    assert "renews 2027-01-15 — notice deadline passed 2026-12-16 · o@example.com" in json.dumps(
        passed_blocks, ensure_ascii=False
    )
    assert "$6,000.00" in json.dumps(blocks) and not any("<!channel>" in t for t in _mrkdwn_texts(blocks))
    decision = f"cancelled by {HOSTILE} on 2026-12-01 (not renewing)"
    decided = tuple(
        UpcomingRenewal(
            i, HOSTILE, "o@", 1, "USD", date(2027, 1, 5), date(2026, 12, 4), -3, "cancelled", False, "", decision
        )
        for i in range(20)
    )
    home = {"type": "home", "blocks": rb.upcoming_renewals_blocks(upcoming, horizon_days=90, ending=decided)}
    validate(schema, home, "home_view")
    assert not any("<!channel>" in t for t in _mrkdwn_texts(home["blocks"]))

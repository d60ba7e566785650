"""Renewal decisions from the console run the Slack buttons' `RenewalDecisionWorkflow`: on
Temporal's test server with the real activities, a real (SQLite) database and a recording
notifier, a decision in the console is recorded once per form, refused for someone who is
neither the owner nor ITAM, and updates the term's Slack reminders in place."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from catalog.db import transaction
from catalog.models import AuditEvent
from catalog.rules.renewals import HolidayCalendar
from tests.web.conftest import EMPLOYEE, FINANCE, ITAM, Console, console_settings, open_console
from tests.workflows.fakes import RecordingNotifier
from workflows.renewals.activities import RenewalActivities, ScanInput
from workflows.renewals.workflows import RenewalScanWorkflow
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient
from workflows.worker import build_worker


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine, tmp_path: Path
) -> AsyncIterator[tuple[Console, RecordingNotifier]]:
    queue = f"console-renewals-{uuid.uuid4().hex}"
    notifier = RecordingNotifier()
    settings = console_settings(tmp_path, temporal_task_queue=queue)
    worker = build_worker(
        time_skipping_env.client,
        task_queue=queue,
        activities=ProcurementActivities(sqlite_seeded, notifier),
        renewal_activities=RenewalActivities(
            sqlite_seeded,
            notifier,
            itam_channel="#itam",
            calendar=HolidayCalendar(country="US"),
            timezone=settings.company_timezone,
        ),
    )
    with time_skipping_env.auto_time_skipping_disabled():
        async with worker:
            async for console in open_console(
                sqlite_seeded, settings, temporal=ProcurementClient(time_skipping_env.client, task_queue=queue)
            ):
                today = console.app.state.console.today()
                await time_skipping_env.client.execute_workflow(
                    RenewalScanWorkflow.run,
                    ScanInput(as_of=today.isoformat()),
                    id=f"scan-{uuid.uuid4().hex[:6]}",
                    task_queue=queue,
                )
                yield console, notifier


def _decisions(engine: Engine, contract_id: int) -> list[AuditEvent]:
    with transaction(engine, read_only=True) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(contract_id))).all()
        return [r for r in rows if r.action.startswith("renewal_") and r.action != "renewal_reminder_failed"]


async def test_a_console_decision_is_the_slack_buttons_decision(stack: tuple[Console, RecordingNotifier]) -> None:
    console, notifier = stack
    csrf = console.sign_in(ITAM)
    events = (await console.http.get("/api/v1/renewals")).json()["events"]
    reminded = {card.contract_id for _, card, _ in notifier.renewal_posts}
    target = next(e for e in events if e["kind"] == "deadline" and e["contract_id"] in reminded and e["days_left"] > 3)
    contract_id = target["contract_id"]
    before = len(_decisions(console.engine, contract_id))

    # Finance sees renewals but is neither the owner nor ITAM: the activity refuses, as in Slack.
    finance_csrf = console.sign_in(FINANCE)
    refused = await console.http.post(
        f"/api/v1/renewals/{contract_id}/decisions",
        json={"renewal_date": target["renewal_date"], "action": "renegotiate", "idempotency_key": "e1"},
        headers={"X-CSRF-Token": finance_csrf},
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Only the asset's owner or the ITAM team can decide this renewal."
    assert '/decide"' not in (await console.http.get("/renewals")).text  # no buttons for them
    console.sign_in(EMPLOYEE)
    assert (await console.http.get("/api/v1/renewals")).status_code == 403

    csrf = console.sign_in(ITAM)
    form = {
        "csrf_token": csrf,
        "renewal_date": target["renewal_date"],
        "action": "snooze",
        "snooze_days": "3",
        "form_id": "f-1",
    }
    first = await console.http.post(f"/renewals/{contract_id}/decide", data=form, follow_redirects=False)
    assert first.status_code == 303 and "Snoozed+until" in first.headers["location"]
    again = await console.http.post(f"/renewals/{contract_id}/decide", data=form, follow_redirects=False)
    assert again.status_code == 303  # a double submit joins the first workflow: recorded once
    decisions = _decisions(console.engine, contract_id)
    assert [(d.action, d.actor) for d in decisions[before:]] == [("renewal_snooze", ITAM)]
    snoozed_until = date.fromisoformat(decisions[-1].detail["snoozed_until"])

    # Every Slack reminder of the term was updated in place, showing the snooze.
    # (The second submit finds the decision recorded and refreshes them again: harmless.)
    updated = [(ref, card) for ref, card in notifier.renewal_updates if card.contract_id == contract_id]
    posted = {ref for _, card, ref in notifier.renewal_posts if card.contract_id == contract_id}
    assert posted and {ref for ref, _ in updated} == posted  # the #itam post and the owner's DM
    assert all(card.snoozed_until == snoozed_until for _, card in updated)

    listed = (await console.http.get("/api/v1/renewals")).json()["events"]
    assert f"snoozed until {snoozed_until}" in next(e for e in listed if e["contract_id"] == contract_id)["decision"]

    # A bad form is refused with the reason, before anything runs.
    bad = await console.http.post(
        f"/api/v1/renewals/{contract_id}/decisions",
        json={"renewal_date": target["renewal_date"], "action": "snooze", "snooze_days": 5, "idempotency_key": "k"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "snooze_days"
    # A renew costing more than the term is refused by the renewal-authority rule (409).
    more = await console.http.post(
        f"/api/v1/renewals/{contract_id}/decisions",
        json={"renewal_date": target["renewal_date"], "action": "renew", "seats": 100_000, "idempotency_key": "k2"},
        headers={"X-CSRF-Token": csrf},
    )
    assert more.status_code == 409 and "needs approval" in more.json()["detail"]
    assert len(_decisions(console.engine, contract_id)) == before + 1

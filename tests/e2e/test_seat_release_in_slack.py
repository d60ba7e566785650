"""Ask to release end to end: the console's API (signed in as ITAM) starts the seat release;
Fiona's DM from the ITAM team appears in the Slack simulator; she clicks Release it (a signed
payload to the real Bolt app, routed to the seat release); the seat is freed and audited, and
her DM is updated in place."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from bot import ids
from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent, SeatAssignment
from tests.helpers import eventually
from tests.security.stack import find_button, seeded_sqlite, serve_stack
from tests.web.conftest import ITAM, console_settings, open_console
from workflows.request.client import ProcurementClient

FINANCE = "U0FINANCE"


async def test_ask_from_the_console_release_in_slack(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, reference_dir: Path
) -> None:
    engine = seeded_sqlite(tmp_path / "procure.db")
    with transaction(engine) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email="finance@example.com")
        assert seat is not None and seat.id is not None
        seat_id = seat.id
    async with serve_stack(time_skipping_env.client, engine, reference_dir) as stack:
        procurement = ProcurementClient(time_skipping_env.client, task_queue=stack.task_queue)
        settings = console_settings(tmp_path, temporal_task_queue=stack.task_queue)
        async for console in open_console(engine, settings, temporal=procurement):
            csrf = console.sign_in(ITAM)
            asked = await console.http.post(f"/api/v1/seats/{seat_id}/release-ask", headers={"X-CSRF-Token": csrf})
            assert asked.status_code == 200 and asked.json()["started"] is True, asked.text

        found: dict[str, object] = {}

        async def dm_arrived() -> bool:
            for message in await stack.bot_messages(FINANCE):
                if "ITAM team" in json.dumps(message["blocks"]) and find_button(message, ids.RECLAIM_RELEASE):
                    found.update(message)
                    return True
            return False

        await eventually(dm_arrived, 30, "the ITAM team's question in Fiona's DM")
        await stack.do("/sim/action", user=FINANCE, message_ts=found["ts"], action_id=ids.RECLAIM_RELEASE)

        def freed() -> bool:
            with transaction(engine) as session:
                return session.get(SeatAssignment, seat_id) is None

        await eventually(freed, 30, "the seat freed")

        async def updated_in_place() -> bool:
            for message in await stack.bot_messages(FINANCE):
                if message["ts"] == found["ts"]:
                    shown = json.dumps(message["blocks"])
                    return "released back" in shown and not find_button(message, ids.RECLAIM_RELEASE)
            return False

        await eventually(updated_in_place, 30, "the DM updated in place")
        with transaction(engine) as session:
            rows = session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(seat_id))).all()
            assert [(r.action, r.actor) for r in rows] == [
                ("release_asked", ITAM),
                ("seat_released", "finance@example.com"),
            ]
    engine.dispose()

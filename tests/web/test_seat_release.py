"""`POST /seats/{id}/release-ask` and its API twin: the role matrix (ITAM and admin ask;
finance and FinOps see seats but may not ask; others 403; anonymous 401 / sign-in), CSRF on
the form, a seat that is gone, and a double submit that is one ask. Temporal is a recording
stand-in that refuses a second start of a running workflow id, as the server does; the
workflow itself runs in tests/workflows/test_seat_release_workflow.py and end to end in
tests/e2e/test_seat_release_in_slack.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.exceptions import WorkflowAlreadyStartedError

from catalog import repository
from catalog.db import transaction
from catalog.models import SeatAssignment
from tests.web.conftest import (
    EMPLOYEE,
    FINANCE,
    FINOPS,
    ITAM,
    MANAGER,
    SECURITY,
    Console,
    console_settings,
    open_console,
    seeded,
)
from workflows.seat_release.types import SeatReleaseInput


@dataclass
class RecordingTemporal:
    started: list[tuple[str, SeatReleaseInput]] = field(default_factory=list)

    async def start_workflow(self, run: Any, arg: SeatReleaseInput, *, id: str, task_queue: str) -> None:
        if any(started_id == id for started_id, _ in self.started):
            raise WorkflowAlreadyStartedError(id, "SeatReleaseWorkflow")
        self.started.append((id, arg))


@dataclass
class RecordingProcurement:
    temporal: RecordingTemporal = field(default_factory=RecordingTemporal)


@pytest.fixture(params=["sqlite", "postgres"])
async def asking(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Console, RecordingTemporal]]:
    procurement = RecordingProcurement()
    for engine in seeded(request.param, tmp_path, request):
        async for console in open_console(engine, console_settings(tmp_path), temporal=procurement):
            yield console, procurement.temporal


def _a_seat(console: Console) -> tuple[int, str]:
    with transaction(console.engine) as session:
        seat = session.exec(select(SeatAssignment).order_by(SeatAssignment.id)).first()
        assert seat is not None and seat.id is not None
        return seat.id, seat.person_email


def _make_admin(console: Console, email: str) -> None:
    with transaction(console.engine) as session:
        person = repository.get_person(session, email=email)
        assert person is not None
        person.roles = ["admin"]
        session.add(person)


async def test_itam_asks_once_however_often_it_submits(asking: tuple[Console, RecordingTemporal]) -> None:
    console, temporal = asking
    seat_id, holder = _a_seat(console)
    csrf = console.sign_in(ITAM)
    first = await console.http.post(f"/api/v1/seats/{seat_id}/release-ask", headers={"X-CSRF-Token": csrf})
    again = await console.http.post(f"/api/v1/seats/{seat_id}/release-ask", headers={"X-CSRF-Token": csrf})
    assert first.status_code == 200 and first.json()["started"] is True and first.json()["holder"] == holder
    assert again.status_code == 200 and again.json()["started"] is False
    assert "already asked" in again.json()["message"]
    assert temporal.started == [(f"seat-release-{seat_id}", SeatReleaseInput(seat_id, ITAM, 3))]


async def test_the_form_needs_its_csrf_token_and_redirects_with_a_notice(
    asking: tuple[Console, RecordingTemporal],
) -> None:
    console, temporal = asking
    seat_id, _ = _a_seat(console)
    csrf = console.sign_in(ITAM)
    forged = await console.http.post(f"/seats/{seat_id}/release-ask", data={})
    assert forged.status_code == 403 and temporal.started == []
    answer = await console.http.post(f"/seats/{seat_id}/release-ask", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/seats?notice=")
    assert len(temporal.started) == 1


async def test_the_admin_role_may_ask(asking: tuple[Console, RecordingTemporal]) -> None:
    console, temporal = asking
    seat_id, _ = _a_seat(console)
    _make_admin(console, EMPLOYEE)
    csrf = console.sign_in(EMPLOYEE)
    answer = await console.http.post(f"/api/v1/seats/{seat_id}/release-ask", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and temporal.started[0][1].asked_by == EMPLOYEE


@pytest.mark.parametrize("email", [FINANCE, FINOPS, SECURITY, MANAGER, EMPLOYEE])
async def test_everyone_else_is_refused(asking: tuple[Console, RecordingTemporal], email: str) -> None:
    console, temporal = asking
    seat_id, _ = _a_seat(console)
    csrf = console.sign_in(email)
    api = await console.http.post(f"/api/v1/seats/{seat_id}/release-ask", headers={"X-CSRF-Token": csrf})
    page = await console.http.post(f"/seats/{seat_id}/release-ask", data={"csrf_token": csrf})
    assert api.status_code == 403 and "ITAM" in api.json()["detail"]
    assert page.status_code == 403
    assert temporal.started == []


async def test_anonymous_gets_401_and_the_sign_in(asking: tuple[Console, RecordingTemporal]) -> None:
    console, temporal = asking
    seat_id, _ = _a_seat(console)
    assert (await console.http.post(f"/api/v1/seats/{seat_id}/release-ask")).status_code == 401
    page = await console.http.post(f"/seats/{seat_id}/release-ask")
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=")
    assert temporal.started == []


async def test_a_seat_no_one_holds_is_404_and_nothing_starts(asking: tuple[Console, RecordingTemporal]) -> None:
    console, temporal = asking
    csrf = console.sign_in(ITAM)
    answer = await console.http.post("/api/v1/seats/999999/release-ask", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 404 and "not assigned" in answer.json()["detail"]
    assert temporal.started == []


async def test_the_seats_page_offers_the_button_to_itam_only_and_shows_the_notice(
    asking: tuple[Console, RecordingTemporal],
) -> None:
    console, _ = asking
    seat_id, _ = _a_seat(console)
    console.sign_in(FINANCE)
    assert "Ask to release" not in (await console.http.get("/seats?days=1")).text
    csrf = console.sign_in(ITAM)
    page = (await console.http.get("/seats?days=1")).text
    assert 'action="/seats/' in page and f'name="csrf_token" value="{csrf}"' in page
    answer = await console.http.post(f"/seats/{seat_id}/release-ask", data={"csrf_token": csrf})
    shown = await console.http.get(answer.headers["location"])
    assert "in Slack whether they still use the seat" in shown.text

"""`/requests`, `/requests/{id}` and their API twins: filters, sorting, pagination, the detail,
and decisions sent as the workflow's `decide` Update (a recording stand-in for
`ProcurementClient` here; tests/browser drives the real one through the whole stack)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog import repository
from catalog.db import transaction
from tests.web.conftest import EMPLOYEE, ITAM, MANAGER, Console, console_settings, open_console, seeded
from tests.web.world import add_requests
from workflows.request.client import DecisionOutcome
from workflows.request.types import DecisionInput


@dataclass
class RecordingProcurement:
    """Answers `decide` as the workflow would for an accepted click, and remembers it."""

    decisions: list[tuple[str, DecisionInput]] = field(default_factory=list)
    answer: DecisionOutcome = field(
        default_factory=lambda: DecisionOutcome(True, "Approved by <@U0MANAGER>.", "approved")
    )

    async def decide(self, request_id: str, decision: DecisionInput) -> DecisionOutcome:
        self.decisions.append((request_id, decision))
        return self.answer


@pytest.fixture(params=["sqlite", "postgres"])
async def deciding(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Console, RecordingProcurement]]:
    temporal = RecordingProcurement()
    for engine in seeded(request.param, tmp_path, request):
        add_requests(engine)
        async for console in open_console(engine, console_settings(tmp_path), temporal=temporal):
            yield console, temporal


async def _ids(console: Console, **params: str) -> list[str]:
    answer = await console.http.get("/api/v1/requests", params=params)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def test_filters_sorting_and_age(deciding: tuple[Console, RecordingProcurement]) -> None:
    console, _ = deciding
    console.sign_in(ITAM)
    assert await _ids(console) == ["REQ-FIONA", "REQ-ELI", "REQ-EMMA", "REQ-IAN"]  # newest first
    assert await _ids(console, sort="created") == ["REQ-IAN", "REQ-EMMA", "REQ-ELI", "REQ-FIONA"]
    assert await _ids(console, sort="-cost") == ["REQ-ELI", "REQ-FIONA", "REQ-EMMA", "REQ-IAN"]
    assert await _ids(console, approver=MANAGER) == ["REQ-EMMA"]  # Max's approved step on REQ-ELI is done
    assert await _ids(console, approver=EMPLOYEE) == ["REQ-IAN"]  # as delegate
    assert await _ids(console, stage="2", sort="id") == ["REQ-ELI", "REQ-EMMA"]
    assert await _ids(console, requester=EMPLOYEE) == ["REQ-EMMA"]
    assert await _ids(console, product="jamf") == ["REQ-IAN"]
    assert await _ids(console, cost_center="CC-FIN") == ["REQ-FIONA"]
    assert await _ids(console, min_age_days="9", sort="id") == ["REQ-EMMA", "REQ-IAN"]
    assert await _ids(console, max_age_days="3", sort="id") == ["REQ-ELI", "REQ-FIONA"]
    assert await _ids(console, product="100%_") == []  # LIKE wildcards are text
    listed = (await console.http.get("/api/v1/requests", params={"sort": "id"})).json()
    emma = next(i for i in listed["items"] if i["id"] == "REQ-EMMA")
    assert (emma["stage"], emma["approvers"], emma["age_days"]) == (1, ["manager@example.com"], 9)
    assert emma["annual_cost"] == "1,440.00 USD" and emma["requester_name"] == "Emma Employee"
    # "Waiting on" names the people (from the directory), the email kept for a hover
    assert emma["approver_names"] == ["Max Manager"]
    page = (await console.http.get("/requests", params={"requester": EMPLOYEE})).text
    assert 'stage 1: <span title="manager@example.com">Max Manager</span>' in page


async def test_bad_filters_are_a_clear_400(deciding: tuple[Console, RecordingProcurement]) -> None:
    console, _ = deciding
    console.sign_in(ITAM)
    for params, words in [({"sort": "owner"}, "sort by one of"), ({"stage": "two"}, "stage must be a whole number")]:
        answer = await console.http.get("/api/v1/requests", params=params)
        assert answer.status_code == 400 and words in answer.json()["detail"]
        page = await console.http.get("/requests", params=params)
        assert page.status_code == 400 and words in page.text


async def test_pages_of_the_list_follow_each_other(deciding: tuple[Console, RecordingProcurement]) -> None:
    console, _ = deciding
    from web.pages import requests as page_module

    console.sign_in(ITAM)
    original = page_module.PAGE_SIZE
    page_module.PAGE_SIZE = 3
    try:
        first = (await console.http.get("/api/v1/requests", params={"sort": "id"})).json()
        second = (await console.http.get("/api/v1/requests", params={"sort": "id", "offset": "3"})).json()
        html = (await console.http.get("/requests", params={"sort": "id", "status": "pending_approval"})).text
    finally:
        page_module.PAGE_SIZE = original
    assert [i["id"] for i in first["items"]] == ["REQ-ELI", "REQ-EMMA", "REQ-FIONA"] and first["next_offset"] == 3
    assert [i["id"] for i in second["items"]] == ["REQ-IAN"] and second["next_offset"] is None
    assert first["total"] == second["total"] == 4
    assert 'rel="next"' in html and "offset=3" in html and "status=pending_approval" in html


async def test_the_detail_shows_route_timeline_messages_and_the_workflow(
    deciding: tuple[Console, RecordingProcurement],
) -> None:
    console, _ = deciding
    console.sign_in(ITAM)
    detail = (await console.http.get("/api/v1/requests/REQ-ELI")).json()
    assert [(s["stage"], s["role"], s["status"]) for s in detail["route"]] == [
        (1, "manager", "approved"),
        (2, "security", "pending"),
    ]
    [submitted] = detail["timeline"]
    assert submitted["policy_version"] == "v-test" and submitted["budget"]["cost_center"] == "CC-ENG"
    assert detail["messages"][0]["key"] == "REQ-ELI:requester"
    assert detail["workflow_url"] == "http://127.0.0.1:8233/namespaces/default/workflows/request-REQ-ELI"
    page = (await console.http.get("/requests/REQ-ELI")).text
    # The product name is text, escaped: never markup.
    assert "=HYPERLINK(&#34;http://evil&#34;)" in page or "=HYPERLINK(&quot;http://evil&quot;)" in page
    assert "Temporal UI" in page and "Security" in page and "Your decision" not in page


async def test_a_budget_snapshot_reads_as_money_in_its_currencies(
    deciding: tuple[Console, RecordingProcurement],
) -> None:
    """A routed request's snapshot (as `budget_json` records it) is money, not raw cents."""
    console, _ = deciding
    with transaction(console.engine) as session:
        repository.audit(
            session,
            idem_key="REQ-ELI:routed",
            at=datetime(2026, 12, 1, tzinfo=UTC),
            entity="request",
            entity_id="REQ-ELI",
            action="routed",
            actor="workflow",
            request_id="REQ-ELI",
            policy_version="v-test",
            detail={
                "budget": {
                    "cost_center": "CC-ENG",
                    "currency": "USD",
                    "has_line": True,
                    "annual_cents": 20_000_000,
                    "request_currency": "EUR",
                    "request_amount_cents": 100_000,
                }
            },
        )
    console.sign_in(ITAM)
    page = (await console.http.get("/requests/REQ-ELI")).text
    assert "annual: 200,000.00 USD" in page and "request amount: 1,000.00 EUR" in page
    assert "has line: yes" in page and "20000000" not in page and "_cents" not in page


async def test_an_approver_decides_through_the_workflow_update(deciding: tuple[Console, RecordingProcurement]) -> None:
    console, temporal = deciding
    csrf = console.sign_in(MANAGER)
    listing = (await console.http.get("/requests")).text
    assert 'href="/requests?approver=manager%40example.com&amp;status=pending_approval"' in listing
    page = (await console.http.get("/requests/REQ-EMMA")).text
    assert "Your decision" in page and 'action="/requests/REQ-EMMA/steps/1/decision"' in page
    assert "Your decision" not in (await console.http.get("/requests/REQ-ELI")).text  # his step there is done

    approved = await console.http.post(
        "/requests/REQ-EMMA/steps/1/decision", data={"csrf_token": csrf, "action": "approve", "reason": ""}
    )
    assert approved.status_code == 303 and "Approved+by+Max+Manager" in approved.headers["location"]
    assert temporal.decisions == [
        ("REQ-EMMA", DecisionInput(actor_slack_id="U0MANAGER", approve=True, reason="", seq=1, action="approve"))
    ]

    denied = await console.http.post(
        "/api/v1/requests/REQ-EMMA/steps/1/decision",
        json={"action": "request_changes", "reason": "Use the team plan"},
        headers={"X-CSRF-Token": csrf},
    )
    assert denied.status_code == 200 and denied.json()["accepted"] is True
    assert temporal.decisions[-1][1] == DecisionInput(
        actor_slack_id="U0MANAGER", approve=False, reason="Use the team plan", seq=1, action="request_changes"
    )


async def test_a_decision_is_refused_before_temporal_when_it_cannot_stand(
    deciding: tuple[Console, RecordingProcurement],
) -> None:
    console, temporal = deciding
    csrf = console.sign_in(MANAGER)
    no_token = await console.http.post("/requests/REQ-EMMA/steps/1/decision", data={"action": "approve"})
    assert no_token.status_code == 403
    no_reason = await console.http.post(
        "/requests/REQ-EMMA/steps/1/decision", data={"csrf_token": csrf, "action": "deny", "reason": " x "}
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    unknown = await console.http.post(
        "/api/v1/requests/REQ-EMMA/steps/1/decision", json={"action": "veto"}, headers={"X-CSRF-Token": csrf}
    )
    assert unknown.status_code == 400
    hidden = await console.http.post(
        "/api/v1/requests/REQ-FIONA/steps/1/decision", json={"action": "approve"}, headers={"X-CSRF-Token": csrf}
    )
    assert hidden.status_code == 404  # not his to see, so not his to decide
    assert temporal.decisions == []


async def test_the_workflows_refusal_reads_as_it_does_in_slack(deciding: tuple[Console, RecordingProcurement]) -> None:
    console, temporal = deciding
    temporal.answer = DecisionOutcome(False, "You can't approve your own request.")
    csrf = console.sign_in(EMPLOYEE)
    answer = await console.http.post(
        "/api/v1/requests/REQ-EMMA/steps/1/decision", json={"action": "approve"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.json() == {"accepted": False, "message": "You can't approve your own request."}
    assert "Your decision" not in (await console.http.get("/requests/REQ-EMMA")).text  # her own request

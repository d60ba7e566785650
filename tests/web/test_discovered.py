"""`/discovered` and `/api/v1/discoveries` on SQLite and PostgreSQL, from the demo data and the
shipped sample exports: the list and its filters (spend per currency, never summed), a
product's spend lines, Adopt / Block / Ignore through the Slack digest's functions (ITAM and
admin only, CSRF, each wrong field named, the Slack digest redrawn by a workflow), and the
upload of exports through the CLI's importer. Temporal is a recording stand-in; the redraw
workflow itself runs in tests/workflows/test_discovery_workflow.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Discovery, SpendLine
from catalog.repository import discovery_actions
from catalog.settings import get_settings
from tests.discovery_samples import SAMPLES, discover, import_samples
from tests.web.conftest import EMPLOYEE, FINANCE, FINOPS, ITAM, Console, console_settings, open_console, seeded
from workflows.discovery import DigestRefreshInput

DIGEST = ("C0ITAM", "1765000000.000100")


@dataclass
class RecordingTemporal:
    started: list[tuple[str, DigestRefreshInput]] = field(default_factory=list)

    async def start_workflow(self, run: Any, arg: DigestRefreshInput, *, id: str, task_queue: str) -> None:
        self.started.append((id, arg))


@dataclass
class RecordingProcurement:
    temporal: RecordingTemporal = field(default_factory=RecordingTemporal)


@pytest.fixture(params=["sqlite", "postgres"])
async def discovered(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Console, RecordingTemporal]]:
    procurement = RecordingProcurement()
    for engine in seeded(request.param, tmp_path, request):
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        monkeypatch.delenv("POLICY_FILE", raising=False)
        get_settings.cache_clear()
        import_samples()
        discover()
        with transaction(engine) as session:
            keys = session.exec(select(Discovery.key)).all()
            discovery_actions.mark_digest(session, keys=list(keys), channel=DIGEST[0], ts=DIGEST[1])
        async for console in open_console(engine, console_settings(tmp_path), temporal=procurement):
            yield console, procurement.temporal
        get_settings.cache_clear()


def _id(console: Console, key: str) -> int:
    with transaction(console.engine) as session:
        row = session.exec(select(Discovery).where(Discovery.key == key)).one()
        assert row.id is not None
        return row.id


async def test_the_list_shows_spend_per_currency_and_filters(discovered: tuple[Console, RecordingTemporal]) -> None:
    console, _ = discovered
    console.sign_in(FINANCE)
    listed = (await console.http.get("/api/v1/discoveries")).json()
    items = {i["name"]: i for i in listed["items"]}
    assert listed["total"] == 12 and listed["next_offset"] is None
    assert listed["items"][0]["status"] == "blocked_in_use"  # what needs attention first
    assert items["Figma"]["spend_cents"] == {"USD": 9000} and items["Figma"]["sso_users"] == 2
    assert items["Miro"]["spend_cents"] == {"EUR": 1600} and items["Miro"]["spend"] == "16.00 EUR"
    assert items["ChatGPT"]["payers"] == ["engineer@example.com", "vp@example.com"]
    assert not {"Delta Air", "Marriott Hotel"} & set(items)  # non-SaaS hidden by default

    async def names(**query: str) -> set[str]:
        answer = await console.http.get("/api/v1/discoveries", params=query)
        assert answer.status_code == 200, answer.text
        return {i["name"] for i in answer.json()["items"]}

    assert await names(status="blocked_in_use") == {"LastPass"}
    assert await names(cost_center="CC-EXEC") == {"ChatGPT"}
    assert await names(q="notion") == {"Notion"}
    assert await names(q="vp@example") == {"ChatGPT"}
    non_saas = (await console.http.get("/api/v1/discoveries", params={"status": "non_saas"})).json()["items"]
    assert len(non_saas) == 4 and all(i["id"] is None and i["status"] == "non_saas" for i in non_saas)
    assert (await console.http.get("/api/v1/discoveries", params={"status": "nonsense"})).status_code == 400
    page = await console.http.get("/discovered", params={"status": "unmanaged"})
    assert page.status_code == 200 and "ChatGPT" in page.text and "LastPass" not in page.text
    assert "Upload an export" not in page.text  # finance sees, does not upload
    assert 'href="/discovered"' in page.text  # in the navigation


async def test_a_product_shows_the_spend_lines_behind_it(discovered: tuple[Console, RecordingTemporal]) -> None:
    console, _ = discovered
    console.sign_in(FINOPS)
    figma = (await console.http.get(f"/api/v1/discoveries/{_id(console, 'product:figma')}")).json()
    lines = figma["spend_lines"]
    assert len(lines) == 4 and lines[0]["spent_on"] == "2026-11-15" and lines[0]["amount_cents"] == -4500
    assert {line["descriptor"] for line in lines} == {"FIGMA INC 415-8907765 CA"}
    datadog = (await console.http.get(f"/api/v1/discoveries/{_id(console, 'product:datadog')}")).json()
    assert {line["source"] for line in datadog["spend_lines"]} == {"marketplace"}
    page = await console.http.get(f"/discovered/{_id(console, 'product:figma')}")
    assert page.status_code == 200 and "FIGMA INC 415-8907765 CA" in page.text
    assert 'data-testid="adopt"' not in page.text  # FinOps does not decide
    assert (await console.http.get("/api/v1/discoveries/999999")).status_code == 404


async def test_itam_adopts_from_the_page_and_the_slack_digest_is_redrawn(
    discovered: tuple[Console, RecordingTemporal],
) -> None:
    console, temporal = discovered
    chatgpt = _id(console, "known:chatgpt")
    csrf = console.sign_in(ITAM)
    assert (await console.http.post(f"/discovered/{chatgpt}/adopt", data={})).status_code == 403  # no CSRF token
    answer = await console.http.post(f"/discovered/{chatgpt}/adopt", data={"csrf_token": csrf})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/discovered/{chatgpt}?notice=Adopted+ChatGPT")
    with transaction(console.engine) as session:
        row = session.get(Discovery, chatgpt)
        assert row is not None and row.decision == "adopted" and row.decided_by == ITAM
        asset = session.get(Asset, row.asset_id)
        assert asset is not None and asset.owner_email == "engineer@example.com"
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "discovery_adopted")).all()
        assert [a.actor for a in audits] == [ITAM]
    [(workflow_id, redraw)] = temporal.started
    assert (redraw.channel, redraw.ts) == DIGEST and workflow_id.startswith("discovery-digest-refresh-")
    page = await console.http.get(f"/discovered/{chatgpt}")
    assert f'href="/assets/{row.asset_id}"' in page.text and 'data-testid="adopt"' not in page.text
    # Its lines are now recognised as the catalog product Adopt created: still listed.
    assert len((await console.http.get(f"/api/v1/discoveries/{chatgpt}")).json()["spend_lines"]) == 3
    # Blocking it now is refused, as a click on the digest is, and shown on the page.
    refused = await console.http.post(
        f"/api/v1/discoveries/{chatgpt}/block",
        json={"reason": "too late", "alternatives": ["figma"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 409 and "already adopted" in refused.json()["detail"]


async def test_block_and_ignore_name_each_wrong_field_and_record_nothing(
    discovered: tuple[Console, RecordingTemporal],
) -> None:
    console, temporal = discovered
    someapp = _id(console, "unknown:someapp")
    csrf = console.sign_in(ITAM)
    page = await console.http.post(f"/discovered/{someapp}/block", data={"csrf_token": csrf, "reason": " "})
    assert page.status_code == 422
    assert 'data-testid="block-reason-error"' in page.text and 'data-testid="block-alternatives-error"' in page.text
    api = await console.http.post(
        f"/api/v1/discoveries/{someapp}/ignore", json={"reason": "trial", "days": 400}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status_code == 422 and set(api.json()["detail"]["errors"]) == {"days"}
    with transaction(console.engine) as session:
        row = session.get(Discovery, someapp)
        assert row is not None and row.decision is None
    assert temporal.started == []
    blocked = await console.http.post(
        f"/discovered/{someapp}/block",
        data={"csrf_token": csrf, "reason": "unvetted vendor", "alternatives": ["figma"]},
    )
    assert blocked.status_code == 303
    with transaction(console.engine) as session:
        product = repository.get_product(session, product_id="someapp")
        assert product is not None and product.status == "blocked" and product.alternatives == ["figma"]


async def test_only_itam_and_admin_decide(discovered: tuple[Console, RecordingTemporal]) -> None:
    console, _ = discovered
    notion = _id(console, "product:notion")
    for email in (FINANCE, FINOPS):
        csrf = console.sign_in(email)
        answer = await console.http.post(f"/discovered/{notion}/adopt", data={"csrf_token": csrf})
        assert answer.status_code == 403, email
    with transaction(console.engine) as session:
        person = repository.get_person(session, email=EMPLOYEE)
        assert person is not None
        person.roles = ["admin"]
        session.add(person)
    csrf = console.sign_in(EMPLOYEE)
    answer = await console.http.post(
        f"/api/v1/discoveries/{notion}/ignore", json={"reason": "pilot", "days": 30}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    assert "Ignoring Notion until" in answer.json()["message"]


async def test_an_upload_is_all_or_nothing_with_line_numbers_and_idempotent(
    discovered: tuple[Console, RecordingTemporal],
) -> None:
    console, _ = discovered
    with transaction(console.engine) as session:
        before = len(session.exec(select(SpendLine.id)).all())
    csrf = console.sign_in(FINOPS)
    bad = (
        "date,merchant,amount,currency,employee_email\n2026-11-02,FIGMA,45,USD,a@x.io\n2026-11-03,FIGMA,x,USD,a@x.io\n"
    )
    page = await console.http.post(
        "/discovered/upload",
        data={"csrf_token": csrf, "kind": "card"},
        files={"file": ("card.csv", bad.encode(), "text/csv")},
    )
    assert page.status_code == 422
    assert "card.csv:line 3: amount: &#39;x&#39; is not an amount" in page.text and "nothing was imported" in page.text
    no_file = await console.http.post("/discovered/upload", data={"csrf_token": csrf, "kind": "focus"})
    assert no_file.status_code == 422 and 'id="u-file-error"' in no_file.text
    assert '<option value="focus" selected>' in no_file.text  # what was chosen is kept
    good = "When,Desc,Amount (USD),Who\n2026-11-20,LOOM.COM,12.50,a@x.io\n"
    form = {
        "csrf_token": csrf,
        "kind": "card",
        "column_map": "date=When\nmerchant=Desc\namount=Amount (USD)\nemployee_email=Who",
    }
    first = await console.http.post(
        "/discovered/upload", data=form, files={"file": ("x.csv", good.encode(), "text/csv")}
    )
    assert first.status_code == 303 and "1+lines+added" in first.headers["location"]
    again = await console.http.post(
        "/api/v1/spend-imports",
        data={"kind": "card", "column_map": form["column_map"]},
        files={"file": ("x.csv", good.encode(), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status_code == 200 and "0 lines added, 1 already imported" in again.json()["message"]
    sso = await console.http.post(
        "/api/v1/spend-imports",
        data={"kind": "sso"},
        files={"file": ("sso.csv", (SAMPLES / "sso.csv").read_bytes(), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert sso.status_code == 200 and "sign-ins" in sso.json()["message"]
    wrong = await console.http.post(
        "/api/v1/spend-imports", data={"kind": "ap", "column_map": "merchant=X"}, headers={"X-CSRF-Token": csrf}
    )
    assert wrong.status_code == 422 and set(wrong.json()["detail"]["errors"]) == {"column_map", "file"}
    with transaction(console.engine) as session:
        assert len(session.exec(select(SpendLine.id)).all()) == before + 1
    csrf = console.sign_in(FINANCE)
    refused = await console.http.post(
        "/api/v1/spend-imports",
        data={"kind": "card"},
        files={"file": ("x.csv", good.encode(), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403


async def test_the_overview_links_to_what_waits_for_a_decision(discovered: tuple[Console, RecordingTemporal]) -> None:
    console, _ = discovered
    csrf = console.sign_in(ITAM)
    items = (await console.http.get("/api/v1/discoveries")).json()["items"]
    waiting = sum(i["needs_decision"] for i in items)
    assert waiting >= 4 and (await console.http.get("/api/v1/overview")).json()["discovered"] == {
        "to_decide": waiting,
        "blocked_in_use": 1,
    }
    await console.http.post(f"/discovered/{_id(console, 'known:chatgpt')}/adopt", data={"csrf_token": csrf})
    page = (await console.http.get("/")).text
    assert f'data-testid="discovered-to-decide">{waiting - 1} products</a>' in page
    assert 'href="/discovered?status=blocked_in_use"' in page


async def test_the_api_is_described_in_openapi(discovered: tuple[Console, RecordingTemporal]) -> None:
    console, _ = discovered
    paths = (await console.http.get("/api/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/discoveries",
        "/api/v1/discoveries/{discovery_id}",
        "/api/v1/discoveries/{discovery_id}/{action}",
    ):
        assert path in paths, path
    upload = paths["/api/v1/spend-imports"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]

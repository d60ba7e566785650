"""Discovery as an administrator runs it, on SQLite and PostgreSQL: the card, FOCUS and SSO
imports (all or nothing, idempotent, dry-run), `procure discover run` and its report, and
the migration that adds its tables."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent, Discovery, PurchaseRequest, RequestStatus, SpendLine, SsoAppUsage
from catalog.repository.discovery import commitment_actuals
from procure.budget_cli import spend_app
from procure.discover_cli import discover_app
from procure.usage_cli import usage_app
from tests.cli.conftest import count, runner, write

SAMPLES = Path(__file__).resolve().parents[2] / "catalog" / "data" / "samples"


def _run(app, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_shipped_samples_run_the_whole_flow(db: Engine) -> None:
    card, focus, sso = (str(SAMPLES / name) for name in ("card.csv", "focus.csv", "sso.csv"))
    assert "would import 19 card lines" in _run(spend_app, "import", card, "--format", "card", "--dry-run")
    assert count(db, SpendLine) == 0
    assert "19 lines added, 0 already imported" in _run(spend_app, "import", card, "--format", "card")
    assert "0 lines added, 19 already imported" in _run(spend_app, "import", card, "--format", "card")
    out = _run(spend_app, "import", focus, "--format", "focus")
    assert "6 lines added" in out and "1 tax lines" in out and "1 credit lines" in out
    assert "AWS EDP 2026: actual drawdown 6,950.00 USD" in out  # Datadog 3000 + 3000 − 250, Snowflake 1200
    assert "10 sign-ins recorded" in _run(usage_app, "import", sso, "--format", "sso")
    assert "0 sign-ins recorded, 10 unchanged" in _run(usage_app, "import", sso, "--format", "sso")
    assert count(db, SsoAppUsage) == 10

    assert "would discover on 2026-12-04: 12 products seen" in _run(
        discover_app, "run", "--as-of", "2026-12-04", "--dry-run"
    )
    assert count(db, Discovery) == 0
    first = _run(discover_app, "run", "--as-of", "2026-12-04", "--no-notify")
    assert "12 new" in first and "6 marketplace lines with no approved request" in first
    assert "0 new, 0 updated, 12 unchanged" in _run(discover_app, "run", "--as-of", "2026-12-04", "--no-notify")
    audits = count(db, AuditEvent)
    _run(discover_app, "run", "--as-of", "2026-12-04", "--no-notify")
    assert count(db, AuditEvent) == audits

    report = {r["name"]: r for r in map(json.loads, _run(discover_app, "report", "--json").splitlines())}
    assert list(report["Figma"]) == [
        "product_id",
        "name",
        "vendor",
        "status",
        "spend_cents",
        "lines",
        "payers",
        "cost_centers",
        "first_seen",
        "last_seen",
        "sso_users",
    ]
    assert report["Figma"] == {
        "product_id": "figma",
        "name": "Figma",
        "vendor": "Figma, Inc.",
        "status": "managed",
        "spend_cents": {"USD": 9000},
        "lines": 4,
        "payers": ["employee@example.com"],
        "cost_centers": ["CC-DESIGN"],
        "first_seen": "2026-06-03",
        "last_seen": "2026-12-01",
        "sso_users": 2,
    }
    assert report["LastPass"]["status"] == "blocked_in_use"
    assert report["Notion"]["status"] == "unmanaged" and report["Notion"]["sso_users"] == 3
    assert report["Datadog"]["spend_cents"] == {"USD": 575000}  # the tax line left out, the correction counted
    assert report["Someapp"]["status"] == "unknown"
    # The card's "OPENAI *CHATGPT SUBSCR" and the IdP's "ChatGPT" are one product.
    assert (report["ChatGPT"]["lines"], report["ChatGPT"]["sso_users"]) == (3, 2)
    assert not {"Delta Air", "Marriott Hotel", "Uber Trip", "Staples"} & set(report)  # non-SaaS left alone


def test_marketplace_lines_draw_the_commitment_and_reconcile_with_approved_requests(db: Engine) -> None:
    _run(spend_app, "import", str(SAMPLES / "focus.csv"), "--format", "focus")
    at = datetime(2026, 10, 1, tzinfo=UTC)
    with transaction(db) as session:
        edp = repository.get_commitment(session, name="AWS EDP 2026")
        assert edp is not None and edp.id is not None
        assert commitment_actuals(session)[edp.id] == {"USD": 300000 + 300000 - 25000 + 120000}
        session.add(
            PurchaseRequest(
                id="R-DD",
                workflow_id="wf-R-DD",
                requester_email="engineer@example.com",
                requester_slack_id="U1",
                product_id="datadog",
                product_name="Datadog",
                vendor="Datadog, Inc.",
                seats=1,
                unit_price_cents=3_600_000,
                annual_cost_cents=3_600_000,
                currency="USD",
                cost_center="CC-ENG",
                channel="aws_marketplace",
                status=RequestStatus.APPROVED,
                created_at=at,
                updated_at=at,
            )
        )
    assert "3 marketplace lines with no approved request" in _run(
        discover_app, "run", "--as-of", "2026-12-04", "--no-notify"
    )
    with transaction(db) as session:
        lines = session.exec(select(SpendLine).where(SpendLine.descriptor == "Datadog, Inc.")).all()
        assert {line.request_id for line in lines} == {"R-DD"}
        datadog = session.exec(select(Discovery).where(Discovery.key == "product:datadog")).one()
        assert (datadog.marketplace_lines, datadog.unreconciled_lines) == (3, 0)
        snowflake = session.exec(select(SpendLine).where(SpendLine.descriptor == "Snowflake Inc.")).one()
        assert snowflake.request_id is None


def test_a_bad_card_file_imports_nothing_and_says_where(db: Engine, tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "card.csv",
        "date,merchant,amount,currency,employee_email\n2026-11-02,FIGMA,45,USD,a@x.io\n2026-11-03,FIGMA,x,USD,a@x.io\n",
    )
    result = runner.invoke(spend_app, ["import", bad, "--format", "card"])
    assert result.exit_code == 1
    assert "card.csv:line 3: amount: 'x' is not an amount" in result.stderr
    assert "nothing was imported" in result.stderr
    assert count(db, SpendLine) == 0
    unmapped = write(tmp_path, "export.csv", 'When,Desc,"Amount (USD)",Who\n2026-01-01,FIGMA,1,a@b.co\n')
    result = runner.invoke(
        spend_app,
        [
            "import",
            unmapped,
            "--format",
            "card",
            "--map",
            "date=When",
            "--map",
            "merchant=Desc",
            "--map",
            "amount=Amount (USD)",
            "--map",
            "employee_email=Who",
        ],
    )
    assert result.exit_code == 0, result.output
    assert count(db, SpendLine) == 1


def test_the_discovery_migration_matches_the_models_and_downgrades(engine: Engine) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from catalog.db import alembic_config, upgrade

    tables = {"spend_line", "sso_app_usage", "discovery"}
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in drift if any(t in repr(d) for t in tables)] == []
    command.downgrade(alembic_config(engine), "0010_request_expands_asset")
    assert not tables & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert tables <= set(inspect(engine).get_table_names())
    with transaction(engine) as session:
        assert session.exec(select(Discovery)).all() == []


def test_commitments_show_actual_drawdown_next_to_approved(db: Engine) -> None:
    _run(spend_app, "import", str(SAMPLES / "focus.csv"), "--format", "focus")
    rows = {r["name"]: r for r in map(json.loads, _run(discover_app, "marketplace", "--json").splitlines())}
    assert rows["AWS EDP 2026"]["actual_cents"] == {"USD": 695000}
    assert rows["AWS EDP 2026"]["approved_cents"] == 0
    assert rows["GCP commit 2026"]["actual_cents"] == {"USD": 7500}
    assert "6 billed marketplace lines have no approved request" in _run(discover_app, "marketplace")


def test_an_entra_sign_in_export_moves_seat_activity_forward(db: Engine, tmp_path: Path) -> None:
    """Entra ID's sign-in download: one line per sign-in, failures included; the latest
    successful sign-in of a seat holder becomes the seat's last activity."""
    export = write(
        tmp_path,
        "InteractiveSignIns.csv",
        "Date (UTC),Request ID,User,Username,Application,Status\n"
        "2026-12-01T09:12:44Z,r1,Fiona Finance,finance@example.com,Figma,Success\n"
        "2026-12-03T10:00:00Z,r2,Fiona Finance,finance@example.com,Figma,Failure\n"
        "2026-11-20T08:00:00Z,r3,Fiona Finance,finance@example.com,Figma,Success\n"
        "2026-12-02T08:00:00Z,r4,Eli Engineer,engineer@example.com,Grammarly,Success\n",
    )
    out = _run(usage_app, "import", export, "--format", "sso")
    assert "2 apps, 2 sign-ins recorded" in out and "1 seats' activity updated" in out
    with transaction(db) as session:
        seat = repository.find_product_seat(session, product_id="figma", person_email="finance@example.com")
        assert seat is not None and str(seat.last_active) == "2026-12-01"
    assert "0 sign-ins recorded, 2 unchanged; 0 seats' activity updated" in _run(
        usage_app, "import", export, "--format", "sso"
    )
    future = write(
        tmp_path, "sso.csv", "app,user_email,last_login\nFigma,x@example.com,2099-01-01\nFigma,,2026-01-01\n"
    )
    result = runner.invoke(usage_app, ["import", future, "--format", "sso"])
    assert result.exit_code == 1
    assert "sso.csv:line 2: last_login 2099-01-01 is in the future" in result.stderr
    assert "sso.csv:line 3: user_email 'empty' is not an email address" in result.stderr


class _RefusingSlack(BaseHTTPRequestHandler):
    """A Slack Web API that refuses every call as a revoked token is refused."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"ok": False, "error": "invalid_auth"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _refusing_slack() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingSlack)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("slack", ["unreachable", "refuses the token"])
def test_run_notifies_by_default_and_a_slack_failure_says_the_discovery_was_saved(
    db: Engine, monkeypatch: pytest.MonkeyPatch, slack: str
) -> None:
    from catalog.settings import get_settings

    _run(spend_app, "import", str(SAMPLES / "card.csv"), "--format", "card")
    with ExitStack() as stack:
        url = (
            f"http://127.0.0.1:{_closed_port()}/api/"
            if slack == "unreachable"
            else stack.enter_context(_refusing_slack())
        )
        monkeypatch.setenv("SLACK_API_URL", url)
        get_settings.cache_clear()
        result = runner.invoke(discover_app, ["run", "--as-of", "2026-12-04"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    [said] = result.stderr.strip().splitlines()  # one line, no traceback
    assert said.startswith("discovery on 2026-12-04 was saved, but Slack could not be told")
    assert "procure discover run --as-of 2026-12-04" in said
    assert ("invalid_auth" in said) == (slack == "refuses the token")
    assert ("Slack is unreachable" in said) == (slack == "unreachable")
    assert "discovered on 2026-12-04" in result.stdout and count(db, Discovery) > 0

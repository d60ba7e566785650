"""The ITAM and finance console at 100,000 contracts: the App Home's ITAM view and the
console's read models (catalog/reports), on SQLite and PostgreSQL.

The dataset is `procure demo generate` at its default size (50,000 people, 100,000 contracts,
100,000 requests, seed 7, as of today), generated once and kept: SQLite in
`.data/bench/console-100k-<today>.sqlite`, PostgreSQL in the database
`procure_bench_console_<today>` next to TEST_POSTGRES_URL's (drop it to regenerate).

Each measurement is the p95 of RUNS calls after WARMUP calls, each in its own transaction, as
a page would make it. `PAGES` are the console's pages and API lists, requested in-process
(Starlette TestClient) as the signed-in ITAM; the worst p95 is `web_page_p95_ms_100k`.

Every figure has its median (`_p50_`) and the median CPU time of this process (`_cpu`): on
SQLite that is the work itself, apart from waiting for a CPU on a shared machine; on
PostgreSQL the server's own CPU is not in it. `app_home_itam_ms_100k`, `web_overview_ms_100k`
and `web_page_p95_ms_100k` are the worse of SQLite and PostgreSQL.

Run: `.venv/bin/python -m bench.bench_console` (generating takes a few minutes the first time);
it merges its figures into bench/results.json, as `make bench` writes them."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from catalog.db import make_engine, transaction, upgrade
from catalog.demo import DemoSize, existing_rows, generate
from catalog.reports import budgets, commitments, overview, renewals, seats
from catalog.rules.renewals import HolidayCalendar

SIZE = DemoSize()
RUNS = 20
WARMUP = 2
ITAM_SLACK_ID = "U0ITAM"  # Ian ITAM of the shipped demo directory
DATA = Path(__file__).resolve().parent.parent / ".data" / "bench"
RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
CALENDAR = HolidayCalendar(country="US")


@dataclass(frozen=True)
class Clock:
    today: date
    now: datetime


Query = Callable[[Session, Clock], object]

#: One entry per read model the console's pages call; `overview` is the whole Overview page.
QUERIES: dict[str, Query] = {
    "overview": lambda s, c: overview.overview(
        s, as_of=c.today, at=c.now, calendar=CALENDAR, fy_start_month=1, inactive_days=30
    ),
    "overview_spend": lambda s, c: overview.spend_by_cost_center(s, as_of=c.today, fy_start_month=1),
    "overview_renewals_due": lambda s, c: overview.renewals_due(s, as_of=c.today, calendar=CALENDAR),
    "overview_deadlines": lambda s, c: overview.deadlines_this_month(s, as_of=c.today, calendar=CALENDAR),
    "overview_pending": lambda s, c: overview.pending_approvals(s, at=c.now),
    "overview_idle": lambda s, c: seats.idle_totals(s, as_of=c.today, inactive_days=30),
    "overview_commitments": lambda s, c: overview.commitment_drawdown(s),
    "renewals_calendar_month": lambda s, c: renewals.calendar_rows(
        s, as_of=c.today, calendar=CALENDAR, start=c.today.replace(day=1), end=c.today + timedelta(days=31), limit=100
    ),
    "renewals_ics_90d": lambda s, c: renewals.ical_feed(
        renewals.calendar_rows(
            s, as_of=c.today, calendar=CALENDAR, start=c.today, end=c.today + timedelta(days=90), limit=1000
        ).rows,
        name="Renewals",
        stamp=c.now,
    ),
    "budgets_series": lambda s, c: budgets.budget_series(s, as_of=c.today, fy_start_month=1, rates=RATES),
    "commitments_series": lambda s, c: commitments.commitment_series(s, as_of=c.today),
    "seats_reclaim_page": lambda s, c: seats.reclaim_candidates(s, as_of=c.today, inactive_days=30, limit=50),
}

#: Console pages and their /api/v1 twins, requested in-process as the signed-in ITAM.
#: `{request}` and `{asset}` are filled with the newest request and asset of the dataset.
PAGE_PATHS = ["/", "/requests", "/assets", "/renewals", "/budgets", "/commitments", "/seats", "/catalog"]
PAGE_PATHS += ["/policy", "/requests/{request}", "/assets/{asset}", "/discovered"]
API_PATHS = ["/api/v1/overview"] + [f"/api/v1{path}" for path in PAGE_PATHS[1:-1]] + ["/api/v1/discoveries"]
PAGES: list[str] = PAGE_PATHS + API_PATHS


def console_client(engine: Engine) -> tuple[Any, dict[str, str]]:
    """A TestClient on the real console app, signed in as the demo ITAM (as tests/web does),
    and the ids the detail pages need."""
    from fastapi.testclient import TestClient
    from sqlmodel import col, select

    from catalog.models import Asset, PurchaseRequest
    from catalog.settings import Settings
    from web.app import create_app
    from web.deps import SESSION_COOKIE

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=DATA, web_session_secret="bench", holiday_country="US", company_timezone="UTC"
    )
    app = create_app(settings, engine=engine)
    client = TestClient(app, base_url="http://127.0.0.1:3002")
    cookie = app.state.console.serializer.dumps({"e": "itam@example.com", "c": "bench"}, salt="session")
    client.cookies.set(SESSION_COOKIE, cookie)
    with transaction(engine) as session:
        request = session.exec(select(PurchaseRequest.id).order_by(col(PurchaseRequest.created_at).desc())).first()
        asset = session.exec(select(Asset.id).order_by(col(Asset.id).desc())).first()
    return client, {"request": str(request), "asset": str(asset)}


def quantile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def timed(call: Callable[[], object], medians: dict[str, float] | None = None, name: str = "") -> float:
    """The p95 in ms of RUNS calls after WARMUP. Asked for, the median goes in `medians[name]`
    and this process's median CPU time in `medians[name + "_cpu"]`: on SQLite, which runs in
    the process, that is the work itself, without the waits of a machine shared with others."""
    for _ in range(WARMUP):
        call()
    samples, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    if medians is not None:
        medians[name] = quantile_ms(samples, 0.5)
        medians[f"{name}_cpu"] = quantile_ms(cpu, 0.5)
    return quantile_ms(samples, 0.95)


def _complete(engine: Engine) -> bool:
    with transaction(engine) as session:
        found = existing_rows(session)
    return found["assets"] >= SIZE.contracts and found["requests"] >= SIZE.requests


def dataset(engine: Engine, today: date, results: dict[str, float], kind: str) -> None:
    """Generate the 100k company into `engine` unless it is there already."""
    upgrade(engine)
    if _complete(engine):
        return
    with transaction(engine) as session:
        replace = any(existing_rows(session).values())
    summary = generate(
        engine, size=SIZE, today=today, calendar=CALENDAR, fy_start_month=1, rates=RATES, replace=replace
    )
    results[f"demo_generate_100k_s_{kind}"] = round(summary.seconds, 1)


def app_home(engine: Engine) -> Callable[[], object]:
    """The ITAM's App Home as the bot builds it (their requests, their approvals, renewals)."""
    from bot.blocks.home import home_view
    from bot.home import _home_rows, itam_home_blocks
    from catalog.settings import Settings

    deps: Any = SimpleNamespace(
        engine=engine,
        settings=Settings(holiday_country="US", company_timezone="UTC"),
        today=lambda: datetime.now(UTC).date(),
    )

    def build() -> object:
        mine, waiting = _home_rows(deps, ITAM_SLACK_ID)
        return home_view(mine, waiting, extra=itam_home_blocks(deps, ITAM_SLACK_ID))

    return build


def measure(engine: Engine, kind: str, clock: Clock) -> dict[str, float]:
    found: dict[str, float] = {}
    found[f"app_home_itam_ms_100k_{kind}"] = timed(app_home(engine), found, f"app_home_itam_p50_ms_100k_{kind}")
    for name, query in QUERIES.items():

        def call(query: Query = query) -> object:
            with transaction(engine) as session:
                return query(session, clock)

        found[f"console_{name}_p95_ms_{kind}"] = timed(call, found, f"console_{name}_p50_ms_{kind}")
    client, ids = console_client(engine)
    for template in PAGES:
        path = template.format(**ids)

        def get(path: str = path) -> object:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        name = template.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "overview"
        found[f"web_page_{name}_p95_ms_{kind}"] = timed(get, found, f"web_page_{name}_p50_ms_{kind}")
    client.close()
    print({k: v for k, v in found.items()}, flush=True)
    return found


def _postgres(today: date) -> Engine | None:
    server = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"procure_bench_console_{today:%Y%m%d}"
    try:
        import psycopg

        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # PostgreSQL is optional for the benchmark
        print(f"(PostgreSQL skipped: {exc})")
        return None
    return make_engine(server.rsplit("/", 1)[0] + "/" + name)


def run() -> dict[str, float]:
    today = datetime.now(UTC).date()
    clock = Clock(today, datetime.now(UTC))
    results: dict[str, float] = {}
    engines = {"sqlite": make_engine(f"sqlite:///{DATA / f'console-100k-{today:%Y%m%d}.sqlite'}")}
    pg = _postgres(today)
    if pg is not None:
        engines["postgres"] = pg
    for kind, engine in engines.items():
        dataset(engine, today, results, kind)
        results.update(measure(engine, kind, clock))
        engine.dispose()
    kinds = list(engines)
    results["app_home_itam_ms_100k"] = max(results[f"app_home_itam_ms_100k_{k}"] for k in kinds)
    # The Overview as served: its read model, the page and its API, the worst on either database.
    overview_keys = ("console_overview_p95_ms", "web_page_overview_p95_ms", "web_page_api_v1_overview_p95_ms")
    results["web_overview_ms_100k"] = max(results[f"{name}_{k}"] for name in overview_keys for k in kinds)
    if PAGES:
        results["web_page_p95_ms_100k"] = max(
            v for k, v in results.items() if k.startswith("web_page_") and "_p95_ms_" in k
        )
    return results


def save(found: dict[str, float]) -> Path:
    """Merge `found` into bench/results.json (what `make bench` writes), keeping the other
    benchmarks' figures, so a run of this benchmark alone lands there too."""
    out = Path(__file__).resolve().parent / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results.update(found)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return out


if __name__ == "__main__":
    figures = run()
    for key, value in figures.items():
        print(f"{key:52} {value}")
    print(f"\nwritten to {save(figures)}")

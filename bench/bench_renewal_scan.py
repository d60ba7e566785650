"""Which design for durable renewal reminders at 100,000 contracts: a daily scan, or one
long-lived workflow per contract? Measured here, reported in the README ("Why renewals use a
daily scan").

* **Scan**: 100,000 contracts in SQLite (and PostgreSQL when reachable), then the real
  `find_due_reminders` for one day (load every contract, plan it, pick what is due) and the
  claim of what is due. Plus the Temporal history of one day's `RenewalScanWorkflow`.
* **Per contract**: a faithful prototype of the alternative — a workflow that sleeps until
  each reminder date of one contract-year and runs one activity per reminder, continuing as
  new at the term's end — run for one contract-year on the time-skipping server; we count its
  history events and bytes and multiply out.

Run: `.venv/bin/python -m bench.bench_renewal_scan` (about a minute)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from catalog.db import make_engine, transaction, upgrade
from catalog.models import Asset, Contract
from catalog.repository import reminders as reminders_repo
from catalog.rules.renewals import HolidayCalendar

CONTRACTS = 100_000

logging.getLogger("workflows.renewals.activities").setLevel(logging.ERROR)
AS_OF = date(2026, 11, 23)
US = HolidayCalendar(country="US")


def populate(engine: Engine, contracts: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with transaction(engine) as session:
        assets = [
            {
                "id": i,
                "product_name": f"Product {i % 500}",
                "owner_email": f"owner{i % 2000}@example.com",
                "cost_center": "CC-1",
                "channel": "direct",
                "seats": 10,
                "unit_price_cents": 12_000,
                "annual_cost_cents": 120_000,
                "currency": "USD",
                "created_at": now,
            }
            for i in range(1, contracts + 1)
        ]
        rows = []
        for i in range(1, contracts + 1):
            start = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 2500))
            term = rng.choice((1, 3, 12, 12, 12, 24, 36))
            index = start.year * 12 + start.month - 1 + term
            renewal = date(index // 12, index % 12 + 1, min(start.day, 28))
            rows.append(
                {
                    "id": i,
                    "asset_id": i,
                    "start_date": start,
                    "term_months": term,
                    "billing_period": "annual",
                    "auto_renew": rng.random() < 0.8,
                    "notice_days": rng.choice((0, 7, 30, 30, 60, 90)),
                    "notice_basis": rng.choice(("calendar", "calendar", "business")),
                    "renewal_date": renewal,
                }
            )
        for chunk in range(0, contracts, 10_000):
            session.execute(insert(Asset), assets[chunk : chunk + 10_000])
            session.execute(insert(Contract), rows[chunk : chunk + 10_000])


def measure_scan(engine: Engine) -> dict[str, float]:
    started = time.perf_counter()
    with transaction(engine) as session:
        due = reminders_repo.find_due_reminders(session, as_of=AS_OF, calendar=US)
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(engine) as session:
        reminders_repo.claim_reminders(session, due=due, at=datetime.now(UTC))
    claim_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(engine) as session:
        again = reminders_repo.find_due_reminders(session, as_of=AS_OF + timedelta(days=1), calendar=US)
    return {
        "scan_100k_s": round(scan_s, 2),
        "scan_100k_next_day_s": round(time.perf_counter() - started, 2),
        "due_reminders_that_day": len(due),
        "due_reminders_next_day": len(again),
        "claim_s": round(claim_s, 2),
    }


# --- the per-contract alternative, as a prototype ------------------------------------------


@dataclass
class ContractYear:
    contract_id: int
    reminder_offsets_days: list[int]  # days from the start of the run
    term_days: int


@activity.defn
async def send_one_reminder(contract_id: int) -> None:
    """Stands in for posting to the channel and the owner (one activity per reminder)."""


@workflow.defn
class PerContractRenewalPrototype:
    """One contract's renewal lifecycle as a long-lived workflow: a timer per reminder, an
    activity per reminder, a signal handler for decisions and date edits (not exercised)."""

    def __init__(self) -> None:
        self._edited = False

    @workflow.signal
    def dates_changed(self) -> None:
        self._edited = True

    @workflow.run
    async def run(self, year: ContractYear) -> int:
        elapsed = 0
        for offset in year.reminder_offsets_days:
            try:
                await workflow.wait_condition(lambda: self._edited, timeout=timedelta(days=offset - elapsed))
            except TimeoutError:
                pass  # the reminder date came (the usual case)
            elapsed = offset
            await workflow.execute_activity(
                send_one_reminder, year.contract_id, start_to_close_timeout=timedelta(seconds=30)
            )
        await workflow.sleep(timedelta(days=year.term_days - elapsed))
        return len(year.reminder_offsets_days)


async def measure_workflows() -> dict[str, float]:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server))
    try:
        queue = f"bench-{uuid.uuid4().hex}"
        client: Client = env.client
        from workflows.renewals.activities import RenewalActivities
        from workflows.renewals.types import ScanInput
        from workflows.renewals.workflows import RENEWAL_WORKFLOWS, RenewalScanWorkflow
        from workflows.worker import activity_methods

        # Unsandboxed: this module imports the database layer, which the sandbox refuses;
        # the prototype itself is deterministic.
        async with Worker(
            client,
            task_queue=queue,
            workflows=[PerContractRenewalPrototype],
            activities=[send_one_reminder],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await client.start_workflow(
                PerContractRenewalPrototype.run,
                ContractYear(1, [90, 120, 150, 173], 365),  # 4 reminders, then the term ends
                id=f"renewal-proto-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )
            await handle.result()
            history = await handle.fetch_history()
        proto_events = len(history.events)
        proto_bytes = len(history.to_json().encode())

        # One day of the scan design, with 25 reminders due (≈ a busy day at 10,000 contracts;
        # at 100,000 it is ≈1,600, i.e. 64 batches of 25).
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'scan.db'}")
            upgrade(engine)
            populate(engine, 2_000)
            with transaction(engine) as session:
                due = reminders_repo.find_due_reminders(session, as_of=AS_OF, calendar=US)

            class _Quiet:
                async def lookup_user_id(self, email: str) -> str | None:
                    return None

                async def post_renewal_reminder(self, *, channel: str, card: object) -> object:
                    from catalog.ports import MessageRef

                    return MessageRef(channel, "1.0")

                async def update_renewal_reminder(self, *, ref: object, card: object) -> None:
                    return None

                async def post_renewal_digest(self, *, channel: str, digest: object) -> object:
                    from catalog.ports import MessageRef

                    return MessageRef(channel, "1.0")

            acts = RenewalActivities(engine, _Quiet(), itam_channel="#itam", calendar=US)  # type: ignore[arg-type]
            async with Worker(
                client, task_queue=queue, workflows=RENEWAL_WORKFLOWS, activities=activity_methods(None, acts)
            ):
                # The first scan of a fresh register sends the catch-ups; measure a later day.
                for day in (AS_OF, AS_OF + timedelta(days=1)):
                    scan = await client.start_workflow(
                        RenewalScanWorkflow.run,
                        ScanInput(as_of=day.isoformat()),
                        id=f"renewal-scan-bench-{uuid.uuid4().hex[:6]}",
                        task_queue=queue,
                    )
                    result = await scan.result()
                    scan_history = await scan.fetch_history()
            engine.dispose()
        return {
            "per_contract_events_per_contract_year": proto_events,
            "per_contract_history_bytes_per_contract_year": proto_bytes,
            "per_contract_events_per_year_100k": proto_events * CONTRACTS,
            "per_contract_open_workflows_100k": CONTRACTS,
            "per_contract_pending_timers_100k": CONTRACTS,
            "scan_workflow_events_one_day_2k": len(scan_history.events),
            "scan_workflow_reminders_that_day_2k": result.claimed,
            "scan_first_day_catch_ups_2k": len(due),
        }
    finally:
        await env.shutdown()


def run(contracts: int = CONTRACTS) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        started = time.perf_counter()
        populate(engine, contracts)
        results["populate_100k_s"] = round(time.perf_counter() - started, 1)
        results.update({f"sqlite_{k}": v for k, v in measure_scan(engine).items()})
        engine.dispose()
    print(results, flush=True)
    pg = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(pg, autocommit=True, connect_timeout=3) as conn:
            name = f"procure_bench_{uuid.uuid4().hex[:8]}"
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(pg.rsplit("/", 1)[0] + "/" + name)
        try:
            upgrade(engine)
            populate(engine, contracts)
            results.update({f"postgres_{k}": v for k, v in measure_scan(engine).items()})
        finally:
            engine.dispose()
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # PostgreSQL is optional for the benchmark
        print(f"(PostgreSQL skipped: {exc})")
    results.update(asyncio.run(measure_workflows()))
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:48} {value}")

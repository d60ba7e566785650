"""The daily discovery on the time-skipping server: `DiscoveryWorkflow` discovers, posts the
ITAM digest once a day and DMs each payer once per product and term, whatever runs it again
(a second run, a retry after a lost audit row); a payer Slack refuses does not stop the rest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import delete
from temporalio.testing import WorkflowEnvironment

from catalog.db import transaction
from catalog.models import AuditEvent
from catalog.ports import Undeliverable
from catalog.settings import get_settings
from tests.discovery_samples import AS_OF, import_samples
from tests.workflows.fakes import RecordingNotifier
from workflows.discovery import DiscoveryActivities, DiscoveryInput, DiscoveryResult, DiscoveryWorkflow
from workflows.request.activities.procurement import ProcurementActivities
from workflows.worker import build_worker

ITAM_CHANNEL = "#itam"


@pytest.fixture
def samples(sqlite_seeded: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    monkeypatch.setenv("DATABASE_URL", str(sqlite_seeded.url))
    get_settings.cache_clear()
    import_samples()
    yield sqlite_seeded
    get_settings.cache_clear()


async def _run(env: WorkflowEnvironment, engine: Engine, notifier: RecordingNotifier) -> DiscoveryResult:
    queue = f"discovery-{uuid.uuid4().hex}"
    activities = DiscoveryActivities(engine, notifier, itam_channel=ITAM_CHANNEL, inactive_days=30)
    async with build_worker(
        env.client,
        task_queue=queue,
        activities=ProcurementActivities(engine, notifier),
        discovery_activities=activities,
    ):
        return await env.client.execute_workflow(
            DiscoveryWorkflow.run, DiscoveryInput(as_of=AS_OF), id=f"discovery-{uuid.uuid4().hex}", task_queue=queue
        )


async def test_a_day_posts_one_digest_and_one_dm_per_payer_and_term(
    time_skipping_env: WorkflowEnvironment, samples: Engine
) -> None:
    notifier = RecordingNotifier(
        refusals={"U0VP": Undeliverable(target="U0VP", error="user_disabled", hint="fix the directory")}
    )
    first = await _run(time_skipping_env, samples, notifier)
    assert first.products == 12 and first.digest_posted
    [(channel, view)] = notifier.discovery_digests
    assert channel == ITAM_CHANNEL and "product:notion" in [c.key for c in view.cards]
    assert view.unreconciled_lines == 6  # marketplace lines with no approved request, for FinOps
    payers = sorted(n.payer_email for n, _ in notifier.payer_notices)
    assert first.dms_sent == len(payers) and "employee@example.com" in payers
    assert "vp@example.com" not in payers and first.failed and "user_disabled" in first.failed[0]

    # The same day again: nothing posted twice, and only the refused DM is tried again.
    second = await _run(time_skipping_env, samples, notifier)
    assert (second.digest_posted, second.dms_sent, len(notifier.discovery_digests)) == (False, 0, 1)
    assert notifier.refused.count("U0VP") == 2

    # A retry that lost its audit rows finds the DMs it sent (by their key) and sends none again.
    with transaction(samples) as session:
        session.exec(delete(AuditEvent).where(AuditEvent.action == "discovery_payer_notified"))  # type: ignore[call-overload]
    third = await _run(time_skipping_env, samples, notifier)
    assert third.dms_sent == 0 and len(notifier.payer_notices) == len(payers)


async def test_the_daily_schedule_is_created_once_and_updated_on_every_worker_start(
    dev_server_env: WorkflowEnvironment,
) -> None:
    from temporalio.client import ScheduleActionStartWorkflow

    from workflows.discovery import DISCOVERY_SCHEDULE_ID, ensure_discovery_schedule

    client = dev_server_env.client
    assert await ensure_discovery_schedule(client, task_queue="q-old", timezone="UTC") == DISCOVERY_SCHEDULE_ID
    await ensure_discovery_schedule(client, task_queue="q-new", timezone="Europe/Paris")
    described = await client.get_schedule_handle(DISCOVERY_SCHEDULE_ID).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("DiscoveryWorkflow", "q-new")
    assert described.schedule.spec.time_zone_name == "Europe/Paris"
    await client.get_schedule_handle(DISCOVERY_SCHEDULE_ID).delete()


async def test_a_decision_taken_in_the_console_redraws_the_digest_in_place(
    time_skipping_env: WorkflowEnvironment, samples: Engine
) -> None:
    from datetime import UTC, date, datetime

    from catalog.repository import discovery_actions
    from workflows.discovery import start_digest_refresh

    notifier = RecordingNotifier()
    await _run(time_skipping_env, samples, notifier)
    [(channel, posted)] = notifier.discovery_digests
    assert next(c for c in posted.cards if c.key == "known:chatgpt").decision is None
    with transaction(samples) as session:
        outcome = discovery_actions.adopt(
            session, key="known:chatgpt", actor_slack_id="U0ITAM", as_of=date(2026, 12, 4), at=datetime.now(UTC)
        )
    assert outcome.ok and outcome.digest is not None and outcome.digest[0] == channel
    queue = f"discovery-{uuid.uuid4().hex}"
    activities = DiscoveryActivities(samples, notifier, itam_channel=ITAM_CHANNEL, inactive_days=30)
    async with build_worker(
        time_skipping_env.client,
        task_queue=queue,
        activities=ProcurementActivities(samples, notifier),
        discovery_activities=activities,
    ):
        workflow_id = await start_digest_refresh(
            time_skipping_env.client, task_queue=queue, channel=channel, ts=outcome.digest[1], as_of=date(2026, 12, 4)
        )
        await time_skipping_env.client.get_workflow_handle(workflow_id).result()
    [(ref, view)] = notifier.discovery_updates
    assert (ref.channel, ref.ts) == outcome.digest
    assert next(c for c in view.cards if c.key == "known:chatgpt").decision == "adopted"

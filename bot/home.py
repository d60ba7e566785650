"""Publishing a person's App Home: their requests, the steps waiting for them, ITAM's upcoming
renewals, and (after a click on the Home) the answer to what they just did. The Home listener
publishes it when the tab opens; the approval listeners publish it again after a click there."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import MyRequestRow, WaitingRow, home_view
from bot.blocks.renewals import HOME_RENEWAL_ROWS, upcoming_renewals_blocks
from bot.deps import BotDeps
from catalog import repository
from catalog.db import transaction
from catalog.money import format_money_symbol
from catalog.projection import copy_fields
from catalog.repository import reminders as reminders_repo
from catalog.repository import renewal_plans
from catalog.text import escape_mrkdwn
from workflows.request.activities.messaging import budget_view


@dataclass(frozen=True)
class HomeNotice:
    """What the viewer just did from their Home, and the workflow's answer: shown at the top of
    the Home, which is published again (a click there is answered there, not in a DM)."""

    request_id: str
    seq: int | None  # the step clicked; None: any of the request's steps
    text: str  # the answer, as the workflow (or the bot's early check) gave it
    accepted: bool

    def covers(self, row: WaitingRow) -> bool:
        return row.request_id == self.request_id and (self.seq is None or row.seq == self.seq)


def _home_rows(deps: BotDeps, slack_id: str) -> tuple[list[MyRequestRow], list[WaitingRow]]:
    with transaction(deps.engine, read_only=True) as session:
        mine = [
            copy_fields(
                MyRequestRow,
                r,
                request_id=r.id,
                annual_cost=format_money_symbol(r.annual_cost_cents, r.currency),
                step_role=step.role if step else None,
                step_approver_slack_id=step.approver_slack_id if step else None,
                since=step.opened_at if step else None,
            )
            for r, step in repository.requests_of(session, requester_slack_id=slack_id)
        ]
        waiting = [
            copy_fields(
                WaitingRow,
                r,
                request_id=r.id,
                seq=step.seq,
                annual_cost=format_money_symbol(r.annual_cost_cents, r.currency),
                role=step.role,
                approver_slack_id=step.approver_slack_id,
                delegated=step.approver_slack_id != slack_id,
                since=step.opened_at,
                budget=budget_view(session, r, None),
            )
            for r, step in repository.pending_steps_for(session, slack_id=slack_id)
            # Never offer someone their own request, whatever the directory says.
            if r.requester_slack_id != slack_id
        ]
    return mine, waiting


def itam_home_blocks(deps: BotDeps, slack_id: str) -> list[dict[str, Any]]:
    """The App Home's "Upcoming renewals" section, for people with the ITAM role only."""
    with transaction(deps.engine) as session:
        person = repository.get_person_by_slack_id(session, slack_id=slack_id)
        if not reminders_repo.is_itam(person):
            return []
        home = renewal_plans.renewals_home(
            session,
            as_of=deps.today(),
            calendar=deps.settings.holiday_calendar(),
            limit=HOME_RENEWAL_ROWS,
            horizon_days=reminders_repo.DIGEST_HORIZON_DAYS,
        )
    return upcoming_renewals_blocks(
        home.upcoming,
        horizon_days=reminders_repo.DIGEST_HORIZON_DAYS,
        ending=home.ending,
        upcoming_total=home.upcoming_total,
        ending_total=home.ending_total,
    )


def _notice_text(notice: HomeNotice, mine: list[MyRequestRow], waiting: list[WaitingRow]) -> str:
    name = next((row.product_name for row in waiting if notice.covers(row)), None)
    name = name or next((row.product_name for row in mine if row.request_id == notice.request_id), None)
    icon = ":white_check_mark:" if notice.accepted else ":warning:"
    what = f"*{escape_mrkdwn(name)}* ({escape_mrkdwn(notice.request_id)})" if name else escape_mrkdwn(notice.request_id)
    return f"{icon} {what}: {notice.text}"


async def publish_home(deps: BotDeps, client: AsyncWebClient, user_id: str, notice: HomeNotice | None = None) -> None:
    mine, waiting = await asyncio.to_thread(_home_rows, deps, user_id)
    itam = await asyncio.to_thread(itam_home_blocks, deps, user_id)
    shown = None
    if notice is not None:
        shown = _notice_text(notice, mine, waiting)
        if notice.accepted:
            # Decided (or handed over): the step's row may still read as pending for a moment.
            waiting = [row for row in waiting if not notice.covers(row)]
    await client.views_publish(user_id=user_id, view=home_view(mine, waiting, extra=itam, notice=shown))

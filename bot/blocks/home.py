"""The App Home: a New request button, "Waiting for my approval" (the same four buttons as the
approval DM) and "My requests" (status, current step, waiting since, Withdraw while pending)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import ids
from bot.blocks.common import Block, actions, button, context, header, section
from bot.blocks.request_messages import WITHDRAWABLE, decision_buttons, over_budget_block, withdraw_button
from bot.payloads import Prefill
from catalog.ports import BudgetView
from catalog.text import render, role_label

MAX_WAITING = 10  # 2 blocks each, 3 over budget
MAX_MINE = 20  # 1 block each
MAX_VIEW_BLOCKS = 100


@dataclass(frozen=True)
class WaitingRow:
    """An open step the viewer may decide, as its approver or as the approver's delegate."""

    request_id: str
    seq: int
    product_name: str
    seats: int
    annual_cost: str  # formatted money
    requester_slack_id: str | None
    role: str
    approver_slack_id: str
    delegated: bool = False  # the viewer is the approver's delegate
    since: datetime | None = None
    budget: BudgetView | None = None  # the budget line before and after it (a warning when over)


@dataclass(frozen=True)
class MyRequestRow:
    request_id: str
    product_name: str
    seats: int
    annual_cost: str
    status: str
    step_role: str | None = None  # the current step, while one is open
    step_approver_slack_id: str | None = None
    since: datetime | None = None


def _decision_block(row: WaitingRow) -> Block:
    block_id = f"{ids.B_HOME_DECIDE_PREFIX}{row.request_id}_{row.seq}"[:255]
    return actions(block_id, decision_buttons(row.request_id, row.seq))


def _mine_block(row: MyRequestRow) -> Block:
    step_role = role_label(row.step_role) if row.step_role else None
    shown = vars(row) | {"status_label": row.status.replace("_", " "), "step_role": step_role}
    block = section(render("home_mine.j2", **shown), block_id=f"{ids.B_HOME_MINE_PREFIX}{row.request_id}"[:255])
    if row.status in WITHDRAWABLE:
        block["accessory"] = withdraw_button(row.request_id)
    return block


def home_view(
    mine: Sequence[MyRequestRow],
    waiting: Sequence[WaitingRow],
    *,
    extra: Sequence[Block] = (),
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab; `notice` (mrkdwn) answers what the viewer just did on it, at the top."""
    blocks: list[Block] = [header("Procurement")]
    if notice:
        blocks.append(section(notice, block_id=ids.B_HOME_NOTICE))
    blocks += [
        actions(ids.B_HOME_ACTIONS, [button("New request", ids.OPEN_REQUEST, Prefill().to_value(), "primary")]),
        {"type": "divider"},
        header("Waiting for my approval"),
    ]
    if not waiting:
        blocks.append(context("Nothing waiting for you."))
    for row in waiting[:MAX_WAITING]:
        text = render("home_waiting.j2", **vars(row), role_label=role_label(row.role))
        blocks.append(section(text))
        warning = over_budget_block(row.budget, f"{ids.B_HOME_OVER_BUDGET_PREFIX}{row.request_id}_{row.seq}")
        if warning is not None:
            blocks.append(warning)
        blocks.append(_decision_block(row))
    if len(waiting) > MAX_WAITING:
        blocks.append(context(f"… and {len(waiting) - MAX_WAITING} more: the oldest are shown first."))
    blocks += [{"type": "divider"}, header("My requests")]
    if not mine:
        blocks.append(context("You have no requests yet. Type /request in any channel to start one."))
    blocks += [_mine_block(row) for row in mine[:MAX_MINE]]
    return {"type": "home", "blocks": (blocks + list(extra))[:MAX_VIEW_BLOCKS]}

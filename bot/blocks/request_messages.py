"""Block Kit for the messages about a request: the approver's DM (and its reminder), the
requester's status message, "changes requested", notices and the outcome. Pure functions
that return dicts; text comes from the Jinja2 templates in catalog/templates (mrkdwn-escaped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot import ids
from bot.blocks.common import Block, actions, button, confirm_dialog, context, header, section
from bot.blocks.request import CLASSIFICATION_LABELS
from bot.payloads import step_value
from catalog.money import format_money_symbol
from catalog.ports import BudgetView, MessageKind, RequestSummary, StepView
from catalog.projection import copy_fields
from catalog.rules.requests import CHANNEL_LABELS, Quote
from catalog.text import escape_mrkdwn, render, role_label, truncate

FALLBACK_LIMIT = 3000
MAX_REASONS = 10

#: Request statuses in which the requester may still withdraw (the workflow has the last word).
WITHDRAWABLE = ("pending_approval", "changes_requested")

_STEP_LOOK = {  # status → (icon, words)
    "approved": (":white_check_mark:", "approved"),
    "denied": (":x:", "denied"),
    "changes_requested": (":pencil2:", "changes requested"),
    "expired": (":hourglass:", "expired"),
    "withdrawn": (":wastebasket:", "withdrawn"),
    "superseded": (":heavy_minus_sign:", "replaced by an edit"),
    "waiting": (":white_small_square:", "up next"),  # not opened yet, if a workflow says so
}


# --- the route ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    """A step as the templates show it."""

    seq: int
    stage: int
    role_label: str
    approver_slack_id: str
    approver_name: str
    status: str
    is_current: bool  # pending, and no earlier stage is still pending
    icon: str
    state: str
    actor_slack_id: str | None  # who decided, when not the approver
    since: datetime | None  # the step waits since (open steps only)
    reason: str | None
    assigned_because: str | None
    delegate_slack_id: str | None


def step_rows(steps: tuple[StepView, ...]) -> list[StepRow]:
    pending_stages = [s.stage for s in steps if s.status == "pending"]
    first_open = min(pending_stages, default=None)
    rows = []
    for step in steps:
        current = step.status == "pending" and step.stage == first_open
        if step.status == "pending":
            icon, state = (":hourglass_flowing_sand:", "waiting") if current else (":white_small_square:", "up next")
        else:
            icon, state = _STEP_LOOK.get(step.status, (":grey_question:", step.status.replace("_", " ")))
        # "approved by X" only when someone other than the assigned approver decided.
        decided_by = step.decided_by_slack_id if step.status != "pending" else None
        if decided_by == step.approver_slack_id:
            decided_by = None
        rows.append(
            copy_fields(
                StepRow,
                step,
                role_label=role_label(step.role),
                is_current=current,
                icon=icon,
                state=state,
                actor_slack_id=decided_by,
                since=step.opened_at if current else None,
                reason=step.reason if step.status in ("denied", "changes_requested") else None,
                delegate_slack_id=step.delegate_slack_id if step.status == "pending" else None,
            )
        )
    return rows


def _stages(rows: list[StepRow]) -> list[list[StepRow]]:
    stages: dict[int, list[StepRow]] = {}
    for row in rows:
        stages.setdefault(row.stage, []).append(row)
    return [stages[k] for k in sorted(stages)]


def viewer_step(summary: RequestSummary) -> StepView | None:
    if summary.viewer_seq is None:
        return None
    return next((s for s in summary.steps if s.seq == summary.viewer_seq), None)


def viewer_may_act(summary: RequestSummary) -> bool:
    """Buttons only while the viewer's step is open (the old single-step summaries: while the
    request waits for approval)."""
    if summary.status != "pending_approval":
        return False
    step = viewer_step(summary)
    if step is not None:
        return step.status == "pending" and any(r.is_current and r.seq == step.seq for r in step_rows(summary.steps))
    return not summary.steps


# --- messages ------------------------------------------------------------------------------


def _context(summary: RequestSummary) -> dict[str, Any]:
    rows = step_rows(summary.steps)
    step = viewer_step(summary)
    viewer = next((r for r in rows if step is not None and r.seq == step.seq), None)
    drawdown = summary.drawdown
    return {
        **vars(summary),  # every field as recorded; below, those shown otherwise and what is derived
        "channel_label": CHANNEL_LABELS.get(summary.channel, summary.channel),
        "classification": CLASSIFICATION_LABELS.get(summary.data_classification, summary.data_classification),
        "needed_by": summary.needed_by.isoformat() if isinstance(summary.needed_by, date) else None,
        "renewal_date": summary.renewal_date.isoformat() if summary.renewal_date else None,
        "drawdown": {
            "commitment": drawdown.commitment,
            "currency": drawdown.currency,
            "amount_cents": drawdown.remaining_before_cents - drawdown.remaining_after_cents + drawdown.overflow_cents,
            "remaining_before_cents": drawdown.remaining_before_cents,
            "remaining_after_cents": drawdown.remaining_after_cents,
            "overflow_cents": drawdown.overflow_cents,
            "end_date": drawdown.end_date.isoformat(),
        }
        if drawdown
        else None,
        "steps": rows,
        "stages": _stages(rows),
        "current": [r for r in rows if r.is_current],
        "viewer": viewer,
        "step_reasons": list(step.reasons[:MAX_REASONS]) if step else [],
        # The route's reasons the viewer's own ("Why you are asked") do not already give.
        "policy_reasons": [r for r in summary.policy_reasons if not step or r not in step.reasons][:MAX_REASONS],
        "to_requester": False,  # the message is the requester's own (status_line.j2 says "you")
        "price_notice": _price_notice(summary),
    }


def _price_notice(summary: RequestSummary) -> str | None:
    """Which price the request is approved at, and why, when an estimate was typed for a
    catalog product (the rule and its words: `catalog.rules.requests.Quote.notice`)."""
    price = summary.price
    if price is None:
        return None
    # The view is the request's `Quote` as recorded: ask the quote itself, as the CLI does.
    quote = copy_fields(
        Quote,
        price,
        unit_price_cents=summary.unit_price_cents,
        annual_cost_cents=summary.annual_cost_cents,
        currency=summary.currency,
    )
    return quote.notice(format_money_symbol)


def _footer(summary: RequestSummary) -> Block:
    version = f"  ·  policy {escape_mrkdwn(summary.policy_version[:12])}" if summary.policy_version else ""
    return context(f"Request {escape_mrkdwn(summary.request_id)}{version}")


def _subject(summary: RequestSummary) -> str:
    """What a message is about: the product, or the renewal of a contract's product."""
    if summary.renewal is not None:
        return f"renewal of {summary.product_name} ({summary.request_id})"
    return f"{summary.product_name} ({summary.request_id})"


def _facts(summary: RequestSummary, ctx: dict[str, Any]) -> list[Block]:
    facts = "renewal_request_facts.j2" if summary.renewal is not None else "request_facts.j2"
    blocks = [section(render(facts, **ctx))]
    if summary.justification.strip():
        blocks.append(section(render("justification.j2", **ctx)))
    return blocks


def over_budget_block(budget: BudgetView | None, block_id: str = "over_budget") -> Block | None:
    """A warning an approver cannot miss when the request takes its budget line below zero:
    the amount over in red (Slack shows code-styled rich text in red), or None within budget.
    Rich text is plain text, never mrkdwn: nothing in it can become markup."""
    if budget is None or budget.after_cents >= 0:
        return None
    over = format_money_symbol(-budget.after_cents, budget.currency)
    available = format_money_symbol(budget.available_cents, budget.currency)
    line = f"{truncate(budget.cost_center, 64)} FY{budget.fiscal_year}"
    return {
        "type": "rich_text",
        "block_id": block_id[:255],
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "emoji", "name": "warning"},
                    {"type": "text", "text": " Over budget by ", "style": {"bold": True}},
                    {"type": "text", "text": over, "style": {"bold": True, "code": True}},
                    {"type": "text", "text": f": {line} has {available} available before this request."},
                ],
            }
        ],
    }


def _money_lines(ctx: dict[str, Any]) -> list[Block]:
    blocks = []
    if ctx["price_notice"]:
        blocks.append(section(f":information_source: {escape_mrkdwn(ctx['price_notice'])}", block_id="price"))
    if ctx["expansion"] is not None:
        blocks.append(section(render("expansion_line.j2", **ctx), block_id="contract"))
    elif ctx["own_contract_reason"]:
        blocks.append(section(render("own_contract_line.j2", **ctx), block_id="contract"))
    if ctx["budget"] is not None:
        blocks.append(section(render("budget_line.j2", **ctx), block_id="budget"))
    if ctx["drawdown"] is not None:
        blocks.append(section(render("drawdown_line.j2", **ctx), block_id="drawdown"))
    return blocks


def _route(summary: RequestSummary, ctx: dict[str, Any]) -> list[Block]:
    return [section(render("route_progress.j2", **ctx), block_id="route")] if summary.steps else []


def decision_buttons(request_id: str, seq: int | None) -> list[dict[str, Any]]:
    """Approve, Deny, Request changes, Delegate on a step: in its DM and on the App Home."""
    value = step_value(request_id, seq)
    return [
        button("Approve", ids.APPROVE, value, "primary"),
        button("Deny", ids.DENY, value, "danger"),
        button("Request changes", ids.REQUEST_CHANGES, value),
        button("Delegate", ids.DELEGATE, value),
    ]


def withdraw_button(request_id: str) -> dict[str, Any]:
    return button(
        "Withdraw request",
        ids.WITHDRAW,
        request_id,
        confirm=confirm_dialog(
            "Withdraw this request?",
            "Approvers stop being asked and nothing is bought. You can submit a new request later.",
            "Withdraw",
            "Keep it",
            danger=True,
        ),
    )


def _approval_message(kind: MessageKind, summary: RequestSummary, ctx: dict[str, Any]) -> list[Block]:
    reminder = kind is MessageKind.APPROVAL_REMINDER
    title = "Reminder: approval needed" if reminder else "Approval needed"
    blocks: list[Block] = [header(f"{title}: {_subject(summary)}")]
    if summary.event:
        blocks.append(section(f":bell: {escape_mrkdwn(summary.event)}", block_id="event"))
    blocks += _facts(summary, ctx)
    if summary.alternative_reason:
        text = render(
            "alternative_reason.j2",
            declined=list(summary.declined_alternatives),
            reason=" ".join(summary.alternative_reason.split()),
            requester_slack_id=summary.requester_slack_id,
        )
        blocks.append(section(text, block_id="alternative_reason"))
    warning = over_budget_block(summary.budget)
    if warning is not None:
        blocks.append(warning)
    blocks += _money_lines(ctx)
    reasons = render("approval_reasons.j2", **ctx)
    if reasons:
        blocks.append(section(reasons, block_id="reasons"))
    blocks.append({"type": "divider"})
    blocks += _route(summary, ctx)
    if viewer_may_act(summary):
        if not summary.steps:
            blocks.append(context("You are asked as the requester's manager. Only you can decide."))
        blocks.append(actions(ids.B_DECISION, decision_buttons(summary.request_id, summary.viewer_seq)))
    else:
        if ctx["viewer"] is not None:
            blocks.append(section(render("viewer_step.j2", **ctx), block_id="your_step"))
        blocks.append(section(render("status_line.j2", **ctx), block_id="status"))
    return blocks


#: The requester's message is titled by the request's state (it is one message, updated in place).
_REQUESTER_TITLES = {
    "submitted": "Your request",
    "pending_approval": "Waiting for approval",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "denied": "Denied",
    "expired": "Expired",
    "withdrawn": "Withdrawn",
    "rejected": "Not submitted",
}


def _requester_message(kind: MessageKind, summary: RequestSummary, ctx: dict[str, Any]) -> list[Block]:
    # A changes-requested message of a request from before the status message carried the
    # comment (MessageKind.CHANGES_REQUESTED) is updated in place like the status message.
    title = _REQUESTER_TITLES.get(summary.status, "Your request")
    blocks: list[Block] = [header(f"{title}: {_subject(summary)}")]
    if summary.changes_comment and summary.status == "changes_requested":
        blocks.append(section(render("changes_requested.j2", **ctx), block_id="changes"))
    blocks += _facts(summary, ctx) + _money_lines(ctx)
    blocks.append({"type": "divider"})
    blocks += _route(summary, ctx)
    blocks.append(section(render("status_line.j2", **{**ctx, "to_requester": True}), block_id="status"))
    elements = []
    if summary.status == "changes_requested":
        elements.append(button("Edit request", ids.EDIT_REQUEST, summary.request_id, "primary"))
    if summary.status in WITHDRAWABLE:
        elements.append(withdraw_button(summary.request_id))
    if elements:
        blocks.append(actions(ids.B_REQUESTER_ACTIONS, elements))
    return blocks


def _notice(summary: RequestSummary, ctx: dict[str, Any]) -> tuple[str, list[Block]]:
    """A fresh DM to the requester: what happened (plain text from the workflow), then the route."""
    text = f":bell: {escape_mrkdwn(summary.event)}" if summary.event else render("status_line.j2", **ctx)
    blocks = [section(text, block_id="event")]
    blocks += _route(summary, ctx)
    blocks.append(_footer(summary))
    subject = f"{truncate(summary.product_name, 120)} ({summary.request_id})"
    fallback = f"{summary.event} · {subject}" if summary.event else f"{subject}: {summary.status.replace('_', ' ')}"
    return truncate(escape_mrkdwn(fallback), FALLBACK_LIMIT), blocks


def _fallback(kind: MessageKind, summary: RequestSummary) -> str:
    subject = _subject(summary)
    if kind is MessageKind.APPROVAL_REMINDER:
        text = f"Reminder: approval needed for {subject}"
    elif kind is MessageKind.APPROVAL_REQUEST and viewer_may_act(summary):
        over = summary.budget.after_cents if summary.budget is not None else 0
        if summary.budget is not None and over < 0:
            text = f"Approval needed, over budget by {format_money_symbol(-over, summary.budget.currency)}: {subject}"
        else:
            text = f"Approval needed: {subject}"
    elif kind is MessageKind.CHANGES_REQUESTED and summary.status == "changes_requested":
        text = f"Changes requested on {subject}"
    else:
        text = f"{subject}: {summary.status.replace('_', ' ')}"
    return truncate(escape_mrkdwn(text), FALLBACK_LIMIT)


def request_message(kind: MessageKind, summary: RequestSummary) -> tuple[str, list[Block]]:
    """The fallback text and the blocks of a message about a request."""
    ctx = _context(summary)
    if kind is MessageKind.OUTCOME_NOTICE:
        text = render("outcome_notice.j2", **ctx)
        return text, [section(text)]
    if kind is MessageKind.REQUESTER_NOTICE:
        return _notice(summary, ctx)
    if kind in (MessageKind.APPROVAL_REQUEST, MessageKind.APPROVAL_REMINDER):
        blocks = _approval_message(kind, summary, ctx)
    else:
        blocks = _requester_message(kind, summary, ctx)
    blocks.append(_footer(summary))
    return _fallback(kind, summary), blocks

"""What every activity class of the request shares (`Messenger`, passed to each): the database,
Slack and the settings; the request snapshot messages show, and sending each message once
(keyed) or updating it in place.

Over 400 lines because the snapshot (`request_summary` and its views) and the messages that
show it belong together: a change to one is a change to the other."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar, get_type_hints

from sqlalchemy import Engine, Row
from sqlmodel import Session
from temporalio import activity

from catalog import repository
from catalog.db import transaction
from catalog.models import ProductStatus, RequestStatus, SlackMessage
from catalog.ports import (
    BudgetView,
    DrawdownView,
    ExpansionView,
    MessageKind,
    MessageRef,
    Notifier,
    PriceView,
    RenewalRequestView,
    RequestSummary,
    StepView,
    Undeliverable,
)
from catalog.projection import copy_fields
from catalog.routing import (
    load_active_policy,
)
from catalog.rules.budget import BudgetError, available_cents, convert, fiscal_year_of
from catalog.rules.business_time import add_business_days, local_date
from catalog.rules.policy import PolicyError
from catalog.settings import Settings, get_settings
from workflows import faults
from workflows.request import keys
from workflows.request.activities.audit import audit_request

log = logging.getLogger(__name__)

V = TypeVar("V")


#: What every message about a request shows, and (key, where) of the approvers' and the
#: changes-requested messages to update in place.
Progress = tuple[RequestSummary, list[tuple[str, MessageRef]]]


def _ref(row: SlackMessage) -> MessageRef:
    return MessageRef(row.channel, row.ts)


def _now() -> datetime:
    return datetime.now(UTC)


def _retrying() -> bool:
    """Whether this is a retry of the activity (outside an activity: no)."""
    try:
        return activity.info().attempt > 1
    except RuntimeError:
        return False


def request_summary(session: Session, *, request_id: str) -> RequestSummary:
    """Everything a message about the request shows, read fresh from the database (as plain
    rows: `repository.request_rows`)."""
    rows = repository.request_rows(session, request_id=request_id)
    if rows is None:
        raise LookupError(f"request {request_id} does not exist")
    request, steps = rows.request, rows.steps

    def person(email: str | None) -> Row[Any] | None:
        return rows.people.get(email.strip().lower()) if email else None

    requester = person(request.requester_email)
    pending = [s for s in steps if s.status == "pending"]
    step = pending[0] if pending else (steps[-1] if steps else None)
    approver = person(step.approver_email) if step else None
    decider = person(request.decided_by)
    asset, contract, product = rows.asset, rows.contract, rows.product
    alternatives: tuple[str, ...] = ()
    if product is not None:
        alternatives = tuple(
            alt.name
            for alt in (rows.alternatives.get(alt_id) for alt_id in product.alternatives)
            if alt is not None and alt.status != ProductStatus.BLOCKED
        )
    return copy_fields(
        RequestSummary,
        request,
        request_id=request.id,
        requester_name=requester.name if requester else request.requester_email,
        approver_slack_id=step.approver_slack_id if step else None,
        approver_name=approver.name if approver else None,
        decided_by_slack_id=decider.slack_id if decider and decider.slack_id else None,
        asset_id=asset.id if asset else None,
        renewal_date=contract.renewal_date if contract else None,
        alternatives=alternatives,
        **_chain_fields(session, rows, person),
    )


def _chain_fields(
    session: Session, rows: repository.RequestRows, person: Callable[[str | None], Row[Any] | None]
) -> dict[str, Any]:
    """What the approval chain adds to a message: the steps of the current round, the budget
    line, the commitment drawdown and the policy's reasons (from the plan's audit row)."""
    request, steps = rows.request, rows.steps
    views = []
    for row in steps:
        if row.round != request.round:
            continue
        approver = person(row.approver_email)
        decider = person(row.decided_by)
        views.append(
            copy_fields(
                StepView,
                row,
                approver_name=approver.name if approver else row.approver_email,
                reasons=tuple(row.reasons),
                decided_by_slack_id=decider.slack_id if decider and decider.slack_id else None,
            )
        )
    plan = _latest_plan(rows.plans)
    contract = plan.get("contract")
    contract = contract if isinstance(contract, dict) else {}
    expansion = _expansion_view(contract.get("expansion"))
    if rows.asset is not None and rows.asset.request_id == request.id:
        expansion = None  # its contract had stopped running by the approval: the seats got their own
    budget = (
        budget_view(session, request, rows.reservation, plan.get("budget"), expansion)
        if request.policy_version
        else None
    )
    if request.status in (RequestStatus.SUBMITTED, RequestStatus.PENDING_APPROVAL):
        views = _with_planned(views, plan, request.round, person)
    changes_by = None
    if request.status == RequestStatus.CHANGES_REQUESTED:
        asking = [s for s in steps if s.status == "changes_requested"]
        decider = person(asking[-1].decided_by) if asking else None
        changes_by = decider.slack_id if decider else None
    reason, declined = _alternative_reason(rows.choices)
    return {
        "alternative_reason": reason,
        "declined_alternatives": declined,
        "data_classification": request.data_classification,
        "steps": tuple(views),
        "policy_reasons": tuple(str(r) for r in plan.get("reasons") or ()),
        "policy_version": request.policy_version,
        "budget": budget,
        "drawdown": _drawdown_view(plan.get("drawdown")),
        "changes_comment": request.changes_comment if request.status == RequestStatus.CHANGES_REQUESTED else None,
        "changes_by_slack_id": changes_by,
        "renewal": _renewal_view(plan.get("renewal")),
        "price": _price_view(plan.get("price")),
        "expansion": expansion,
        "own_contract_reason": str(contract.get("reason")) if contract.get("chosen") else None,
    }


def _with_planned(
    views: list[StepView], plan: dict[str, Any], round_: int, person: Callable[[str | None], Row[Any] | None]
) -> list[StepView]:
    """The opened steps of the round, and the steps its plan has not opened yet ("waiting"):
    every message shows the whole route from the start, not the stages reached so far."""
    if int(plan.get("round") or 1) != round_:
        return views
    opened = {view.seq for view in views}
    for planned in plan.get("route") or ():
        if not isinstance(planned, dict) or planned.get("seq") in opened:
            continue
        try:
            seq, stage, role = int(planned["seq"]), int(planned["stage"]), str(planned["role"])
        except (KeyError, TypeError, ValueError):
            continue
        approver = person(planned.get("approver"))
        views.append(
            StepView(
                seq=seq,
                stage=stage,
                role=role,
                approver_slack_id=str(planned.get("slack_id") or (approver.slack_id if approver else "") or ""),
                approver_name=approver.name if approver else str(planned.get("approver") or ""),
                status="waiting",
            )
        )
    return sorted(views, key=lambda view: view.seq)


def _alternative_reason(choices: Sequence[Row[Any]]) -> tuple[str | None, tuple[str, ...]]:
    """Why the requester went on to buy although approved alternatives fit, and their names
    (from the latest such answer to reuse first); (None, ()) when they did not have to say."""
    for choice in reversed(choices):
        detail = choice.detail or {}
        if detail.get("choice") == "buy" and str(detail.get("justification") or "").strip():
            names = tuple(str(name) for name in detail.get("instead_of") or () if name)
            return str(detail["justification"]).strip(), names
    return None, ()


def _renewal_view(raw: Any) -> RenewalRequestView | None:
    """A renewal request's terms, as its plan recorded them (`workflows.request.activities.renewal_requests`)."""
    return _read_view(RenewalRequestView, raw)


# How a plan's JSON value is read back as a view's field, by the field's declared type.
_READ_AS: dict[Any, Callable[[Any], Any]] = {
    int: int,
    str: str,
    date: lambda value: date.fromisoformat(str(value)),
}


def _or_none(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read_optional(value: Any) -> Any:
        return None if value is None else read(value)

    return read_optional


# An optional field (`int | None`: a usage-based contract's seats) keeps a recorded None.
_READ_AS |= {kind | None: _or_none(read) for kind, read in list(_READ_AS.items())}


def _read_view(view: type[V], raw: Any) -> V | None:
    """`view` from a plan's JSON object that names every one of its fields (ints, strings,
    ISO dates); None when `raw` is not such an object."""
    if not isinstance(raw, dict):
        return None
    readers = {name: _READ_AS[type_] for name, type_ in get_type_hints(view).items()}  # a new type: add it above
    try:
        return view(**{name: read(raw[name]) for name, read in readers.items()})
    except (KeyError, TypeError, ValueError):
        return None


def _latest_plan(plans: Sequence[Row[Any]]) -> dict[str, Any]:
    planned = [event.detail for event in plans if "reasons" in event.detail]
    return planned[-1] if planned else {}


def budget_view(
    session: Session,
    request: Any,
    reservation: Row[Any] | None,
    planned: Any = None,
    expansion: ExpansionView | None = None,
) -> BudgetView | None:
    """The budget line `request` (a request row or model object) is checked against, before
    and after it; None when its cost center has no line for the year. `planned`: the plan's
    budget check, whose converted amount is used while the request is pending; `expansion`:
    added seats joining a contract we have, which cost their prorated part."""
    if reservation is not None:
        cost_center, fiscal_year = reservation.cost_center, reservation.fiscal_year
    else:
        cost_center = request.cost_center
        # A renewal is reserved on the budget of its renewal date's fiscal year.
        settings = get_settings()
        day = request.renewal_date or local_date(request.created_at, settings.company_timezone)
        fiscal_year = fiscal_year_of(day, settings.fiscal_year_start_month)
    line = repository.budget_row(session, cost_center=cost_center, fiscal_year=fiscal_year)
    if line is None:
        return None
    available = available_cents(
        annual_cents=line.annual_cents, committed_cents=line.committed_cents, actual_cents=line.actual_cents
    )
    # What approval reserves (or reserved): added seats joining a contract cost their prorated part.
    base = expansion.prorated_cents if expansion is not None else request.annual_cost_cents
    amount = _amount_in_line_currency(request, reservation, planned, line.currency, base)
    # Once approved the request is part of `committed`: show the line before and after it.
    before, after = (available + amount, available) if reservation is not None else (available, available - amount)
    return copy_fields(BudgetView, line, available_cents=before, after_cents=after)


def _amount_in_line_currency(
    request: Any, reservation: Row[Any] | None, planned: Any, currency: str, base_cents: int
) -> int:
    """The request's annual cost in its budget line's currency: what approval added to
    `committed`, else what the plan converted it to, else converted with the policy's rates
    now (0 when no rate can: the DM then shows the line as it is)."""
    if reservation is not None:
        return int(reservation.budget_cents if reservation.budget_cents is not None else reservation.amount_cents)
    if isinstance(planned, dict) and planned.get("has_line") and planned.get("currency") == currency:
        return int(planned.get("amount_cents") or 0)
    try:
        return convert(base_cents, request.currency, currency, load_active_policy().rates)
    except (BudgetError, PolicyError, OSError):
        return 0


#: What `note_or_ref` answers: the message's reference if it was posted, and whether a note
#: without one was already there.
Noted = tuple[MessageRef | None, bool]


def note_or_ref(session: Session, *, key: str, request_id: str) -> Noted:
    """The reference of the message under `key` if it was posted; otherwise note, in this
    transaction, that it is about to be. The flag says whether a note was already there: an
    earlier run of the activity may have posted the message and died before storing its
    reference. The transaction must commit before the message is posted (an activity that
    writes before it posts notes its messages in that transaction: no transaction of their
    own, docs/decisions.md §23)."""
    if repository.note_message(session, key=key, request_id=request_id, at=_now()):
        return None, False  # the common case: nothing there, noted in one statement
    row = repository.get_message(session, key=key)
    if row is not None and row.ts:
        return MessageRef(row.channel, row.ts), False
    return None, True


def _price_view(raw: Any) -> PriceView | None:
    if not isinstance(raw, dict) or not raw.get("basis"):
        return None
    catalog, estimate = raw.get("catalog_annual_cents"), raw.get("estimate_cents")
    return PriceView(
        basis=str(raw["basis"]),
        catalog_annual_cents=catalog if isinstance(catalog, int) else None,
        estimate_cents=estimate if isinstance(estimate, int) else None,
    )


def _expansion_view(raw: Any) -> ExpansionView | None:
    return _read_view(ExpansionView, raw)


def _drawdown_view(raw: Any) -> DrawdownView | None:
    if not isinstance(raw, dict) or not raw.get("commitment"):
        return None
    try:
        end_date = date.fromisoformat(str(raw.get("end_date")))
    except ValueError:
        return None
    return DrawdownView(
        commitment=str(raw["commitment"]),
        provider=str(raw.get("provider") or ""),
        currency=str(raw.get("currency") or "USD"),
        remaining_before_cents=int(raw.get("remaining_before_cents") or 0),
        remaining_after_cents=int(raw.get("remaining_after_cents") or 0),
        overflow_cents=int(raw.get("overflow_cents") or 0),
        end_date=end_date,
    )


class Messenger:
    """What every activity class of the request shares, passed in (not inherited): the
    database, Slack, the settings, and the helpers that post each message once and update
    every message about a request in place."""

    settings: Settings | None = None  # tests inject one; else the process settings

    def __init__(self, engine: Engine, notifier: Notifier) -> None:
        self.engine = engine
        self.notifier = notifier
        self._engine = engine
        self._notifier = notifier

    def summary(self, request_id: str) -> RequestSummary:
        with transaction(self._engine) as session:
            return request_summary(session, request_id=request_id)

    def message_ref(self, key: str) -> MessageRef | None:
        """Where the message under `key` was posted; None if it was not (or only noted)."""
        with transaction(self._engine, read_only=True) as session:
            row = repository.get_message(session, key=key)
            return MessageRef(row.channel, row.ts) if row and row.ts else None

    def note_or_ref(self, key: str, request_id: str) -> Noted:
        with transaction(self._engine) as session:
            return note_or_ref(session, key=key, request_id=request_id)

    def save_ref(self, key: str, request_id: str, ref: MessageRef) -> None:
        with transaction(self._engine) as session:
            repository.save_message(session, key=key, request_id=request_id, channel=ref.channel, ts=ref.ts, at=_now())

    async def send_once(
        self, key: str, user_id: str, kind: MessageKind, summary: RequestSummary, noted: Noted | None = None
    ) -> MessageRef | None:
        ref, _ = await self.post_once(key, user_id, kind, summary, noted)
        return ref

    async def post_once(
        self, key: str, user_id: str, kind: MessageKind, summary: RequestSummary, noted: Noted | None = None
    ) -> tuple[MessageRef | None, bool]:
        """The message under `key`, posted unless it already was; and whether this call posted it.

        Exactly once, even when the activity runs again after a crash (a local activity starts
        again from attempt 1): a note is stored before posting, and a note without a reference
        means an earlier run may have died after Slack took the post, so the message is looked
        for by its key (in its metadata) before posting again. `noted` is what `note_or_ref`
        answered in a transaction of the caller's that has committed; without it the note
        takes a transaction of its own.

        A message Slack will never take (`Undeliverable`) gives (None, False): it is audited and
        logged, and the request goes on without it (see `_refused`)."""
        existing, noted_before = (
            noted if noted is not None else await asyncio.to_thread(self.note_or_ref, key, summary.request_id)
        )
        try:
            if existing is None and (noted_before or _retrying()):
                existing = await self._notifier.find_sent(user_id=user_id, key=key)
                if existing is not None:
                    await asyncio.to_thread(self.save_ref, key, summary.request_id, existing)
            if existing is not None:
                return existing, False
            ref = await self._notifier.send(user_id=user_id, kind=kind, summary=summary, key=key)
        except Undeliverable as refused:
            await self.refused(refused, summary.request_id, key)
            return None, False
        faults.crash_point(f"after_dm_sent:{kind.value}")
        await asyncio.to_thread(self.save_ref, key, summary.request_id, ref)
        return ref, True

    async def send_or_update(
        self, key: str, user_id: str, kind: MessageKind, summary: RequestSummary, noted: Noted | None = None
    ) -> None:
        ref, posted = await self.post_once(key, user_id, kind, summary, noted)
        if ref is not None and not posted:
            await self.update(ref, kind, summary)

    async def update(self, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None:
        """Update a message in place; one Slack will not let us change is audited and skipped."""
        try:
            await self._notifier.update(ref=ref, kind=kind, summary=summary)
        except Undeliverable as refused:
            await self.refused(refused, summary.request_id, f"{kind.value} {ref.channel}/{ref.ts}")

    async def refused(self, refused: Undeliverable, request_id: str, what: str) -> None:
        """Slack refused a message for good (docs/decisions.md, 33). Retrying would only
        hold the request up, so it goes on without the message: the approver still finds
        the request in the App Home, and the audit trail and the log say what was lost
        and how to fix it."""
        log.error(
            "%s: message %s not delivered to %s (%s): %s", request_id, what, refused.target, refused.error, refused.hint
        )
        await asyncio.to_thread(self.audit_refused, refused, request_id, what)

    def audit_refused(self, refused: Undeliverable, request_id: str, what: str) -> None:
        with transaction(self._engine) as session:
            audit_request(
                session,
                idem_key=keys.undeliverable_audit_key(request_id, what, refused.error),
                at=_now(),
                action="message_undeliverable",
                actor="slack",
                request_id=request_id,
                detail={"message": what, "target": refused.target, "error": refused.error, "hint": refused.hint},
            )

    async def announce(
        self,
        request_id: str,
        *,
        posted: Mapping[str, RequestSummary] | None = None,
        progress: Progress | None = None,
        requester: Noted | None = None,
    ) -> RequestSummary:
        """Update every message about the request in place, read fresh (or `progress`, read by
        the transaction that just closed the request); returns what was read. A message this
        activity has just posted (`posted`: key → what it showed) keeps its notice (`event`:
        "… delegated this approval to you") and is left alone when it already shows what it
        would be updated to. `requester`: the requester's message as noted by the activity's
        own transaction (see `note_or_ref`)."""
        if progress is None:
            progress = await asyncio.to_thread(self.progress, request_id)
        summary, refs = progress
        for key, ref in refs:
            seq = keys.step_of_key(key)
            if seq is not None:
                viewer = self.for_viewer(summary, key, seq)
                if posted and key in posted:
                    viewer = dataclasses.replace(viewer, event=posted[key].event)
                    if posted[key] == viewer:
                        continue
                await self.update(ref, MessageKind.APPROVAL_REQUEST, viewer)
            elif keys.is_changes_key(request_id, key):
                # The Edit button goes away once the request has moved on.
                await self.update(ref, MessageKind.CHANGES_REQUESTED, summary)
        await self.send_or_update(
            keys.requester_key(request_id), summary.requester_slack_id, MessageKind.REQUESTER_STATUS, summary, requester
        )
        return summary

    @staticmethod
    def for_viewer(summary: RequestSummary, key: str, seq: int) -> RequestSummary:
        """An approver's message shows the buttons only while it is still theirs to decide."""
        slack_id = key.rsplit(":", 1)[-1]
        step = next((s for s in summary.steps if s.seq == seq), None)
        mine = step is not None and slack_id in (step.approver_slack_id, step.delegate_slack_id)
        return dataclasses.replace(summary, viewer_seq=seq if mine else None)

    def progress(self, request_id: str) -> Progress:
        with transaction(self._engine, read_only=True) as session:
            return self.progress_in(session, request_id)

    @staticmethod
    def progress_in(session: Session, request_id: str) -> Progress:
        """What every message about the request shows, and where the messages to update are."""
        summary = request_summary(session, request_id=request_id)
        refs = [
            (row.key, _ref(row))
            for row in repository.list_messages(session, request_id=request_id)
            if keys.is_approver_key(request_id, row.key) or keys.is_changes_key(request_id, row.key)
        ]
        return summary, refs

    def conf(self) -> Settings:
        return self.settings or get_settings()

    def local_date(self, at: datetime) -> date:
        return local_date(at, self.conf().company_timezone)

    def add_business_days(self, at: datetime, days: int) -> datetime:
        conf = self.conf()
        return add_business_days(at, days, tz=conf.company_timezone, calendar=conf.holiday_calendar())


class ActivityConcern:
    """The base of one activity class per concern: the shared dependencies, passed in."""

    def __init__(self, messenger: Messenger) -> None:
        self._messenger = messenger
        self._engine = messenger.engine
        self._notifier = messenger.notifier

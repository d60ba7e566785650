"""The look-ups every request runs, built once, with their values bound at execution.

Building a select (and its cache key) on each call cost more than running it on these small
rows: a budget line read in ~220 µs when built per call and ~90 µs built once
(docs/decisions.md §22). They sit together because several domains read the same rows
(a request's message view reads people, steps, the asset and the budget reservation)."""

from __future__ import annotations

from sqlalchemy import Text, bindparam
from sqlalchemy import cast as sql_cast
from sqlmodel import col, select

from catalog.models import (
    ApprovalStep,
    Asset,
    AuditEvent,
    Budget,
    BudgetReservation,
    Contract,
    Person,
    Product,
    PurchaseRequest,
    SeatAssignment,
    SlackMessage,
)

PERSON = select(Person).where(col(Person.email) == bindparam("pk"))
PRODUCT = select(Product).where(col(Product.id) == bindparam("pk"))
REQUEST = select(PurchaseRequest).where(col(PurchaseRequest.id) == bindparam("pk"))
MESSAGE = select(SlackMessage).where(col(SlackMessage.key) == bindparam("pk"))
PERSON_BY_SLACK_ID = select(Person).where(col(Person.slack_id) == bindparam("slack_id"))
PEOPLE = select(Person).where(col(Person.email).in_(bindparam("emails", expanding=True)))
# Everyone whose roles are not the empty list as stored: a superset of the role holders
# (`[ ]` written by hand would be read too), never fewer.
ROLE_HOLDERS = select(Person).where(sql_cast(col(Person.roles), Text) != "[]").order_by(col(Person.email))
PRODUCTS = select(Product).where(col(Product.id).in_(bindparam("ids", expanding=True)))
STEP = select(ApprovalStep).where(
    col(ApprovalStep.request_id) == bindparam("request_id"), col(ApprovalStep.seq) == bindparam("seq")
)
STEPS = (
    select(ApprovalStep).where(col(ApprovalStep.request_id) == bindparam("request_id")).order_by(col(ApprovalStep.seq))
)
ASSET_OF_REQUEST = select(Asset).where(col(Asset.request_id) == bindparam("request_id"))
ASSET = select(Asset).where(col(Asset.id) == bindparam("pk"))
CONTRACT_OF_ASSET = select(Contract).where(col(Contract.asset_id) == bindparam("asset_id"))
SEAT = select(SeatAssignment).where(
    col(SeatAssignment.asset_id) == bindparam("asset_id"), col(SeatAssignment.person_email) == bindparam("email")
)
MESSAGES_OF = (
    select(SlackMessage)
    .where(col(SlackMessage.request_id) == bindparam("request_id"), col(SlackMessage.ts) != "")
    .order_by(col(SlackMessage.created_at), col(SlackMessage.key))
)
AUDIT_ROW = select(AuditEvent).where(col(AuditEvent.idem_key) == bindparam("idem_key"))
AUDIT_OF = select(AuditEvent).where(col(AuditEvent.request_id) == bindparam("request_id")).order_by(col(AuditEvent.id))
AUDIT_OF_ACTIONS = (
    select(AuditEvent)
    .where(
        col(AuditEvent.request_id) == bindparam("request_id"),
        col(AuditEvent.action).in_(bindparam("actions", expanding=True)),
    )
    .order_by(col(AuditEvent.id))
)
BUDGET_LINE = select(Budget).where(
    col(Budget.cost_center) == bindparam("cost_center"), col(Budget.fiscal_year) == bindparam("fiscal_year")
)
RESERVATION = select(BudgetReservation).where(col(BudgetReservation.request_id) == bindparam("request_id"))

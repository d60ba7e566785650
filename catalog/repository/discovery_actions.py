"""ITAM's decisions on discovered products (Adopt, Block, Ignore), the digest they are shown
in, and the payers' reuse-first DMs. `catalog.rules.discovery_actions` decides; this module
reads and writes. Every decision is idempotent (the same click twice changes nothing more)
and audited; only people with the ITAM role (or the console's admins) may take one. The
Slack digest's buttons and the console's `/discovered` page both call these functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from catalog import repository
from catalog.discovery import recogniser
from catalog.models import Asset, Contract, Discovery, Product, ProductStatus, SeatAssignment, SpendLine
from catalog.money import format_amounts, format_money
from catalog.projection import copy_fields
from catalog.repository.reminders import is_itam
from catalog.repository.seat_pools import owner_mention, reuse_decision
from catalog.rules.discovery_actions import (
    ADOPTED,
    BLOCKED,
    IGNORED,
    DigestCard,
    DigestView,
    PayerNotice,
    infer_term,
    looks_usage_based,
    main_currency,
    needs_decision,
    notice_key,
    product_slug,
    rank_payers,
)
from catalog.rules.renewals import add_months
from catalog.rules.reuse import ReuseKind

__all__ = [
    "MAX_SUPPRESS_DAYS",
    "Outcome",
    "adopt",
    "block",
    "digest_view",
    "ignore",
    "mark_digest",
    "payer_notices",
]

MAX_SUPPRESS_DAYS = 365
_ENTITY = "discovery"
#: The console's admins decide as ITAM does (web/access.py, REGISTER_EDITOR_ROLES).
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    digest: tuple[str, str] | None = None  # (channel, ts) of the digest to refresh


def _spend_text(spend: dict[str, int]) -> str:
    return format_amounts(spend) or "no spend"


def _card(row: Discovery) -> DigestCard:
    return copy_fields(DigestCard, row, spend=_spend_text(row.spend_cents), payers=tuple(row.payers))


def _alternatives(session: Session) -> tuple[tuple[str, str], ...]:
    approved = select(Product).where(col(Product.status) == ProductStatus.APPROVED).order_by(col(Product.name))
    return tuple((p.id, p.name) for p in session.exec(approved))


def digest_view(session: Session, *, as_of: date, digest_ts: str | None = None) -> DigestView:
    """The products of a new digest (those needing a decision on `as_of`), or of the digest
    posted at `digest_ts` as they stand now (decided ones included)."""
    if digest_ts is not None:
        rows = list(
            session.exec(select(Discovery).where(col(Discovery.digest_ts) == digest_ts).order_by(Discovery.name))
        )
    else:
        everything = session.exec(select(Discovery).where(col(Discovery.lines) + col(Discovery.sso_users) > 0))
        rows = sorted(
            (
                r
                for r in everything
                if needs_decision(
                    status=r.status, decision=r.decision, suppressed_until=r.suppressed_until, as_of=as_of
                )
            ),
            key=lambda r: r.name.casefold(),
        )
    unreconciled = sum(r.unreconciled_lines for r in session.exec(select(Discovery)))
    return DigestView(as_of, tuple(_card(r) for r in rows), unreconciled, _alternatives(session))


def mark_digest(session: Session, *, keys: Sequence[str], channel: str, ts: str) -> None:
    """Record that the digest at (`channel`, `ts`) shows the products `keys`."""
    for row in session.exec(select(Discovery).where(col(Discovery.key).in_(list(keys)))):
        row.digest_channel, row.digest_ts = channel, ts
        session.add(row)


def _decidable(session: Session, *, key: str, actor_slack_id: str, wanted: str) -> tuple[Discovery | None, str, str]:
    """The row and the actor's email, or None and why not."""
    person = repository.get_person_by_slack_id(session, slack_id=actor_slack_id)
    if not (is_itam(person) or (person is not None and ADMIN_ROLE in (person.roles or []))):
        return None, "", "Only people with the ITAM role (or admins) can decide on discovered products."
    assert person is not None
    row = session.exec(select(Discovery).where(col(Discovery.key) == key)).first()
    if row is None:
        return None, person.email, "That product is no longer in the discovery results; run discovery again."
    if row.decision in (ADOPTED, BLOCKED) and row.decision != wanted:
        return None, person.email, f"{row.name} was already {row.decision} by {row.decided_by}."
    return row, person.email, ""


def _record(
    session: Session, row: Discovery, *, decision: str, actor: str, at: datetime, detail: dict[str, object]
) -> None:
    row.decision, row.decided_by = decision, actor
    session.add(row)
    repository.audit(
        session,
        idem_key=f"discovery:{row.key}:{decision}:{at.date().isoformat()}"[:200],
        at=at,
        entity=_ENTITY,
        entity_id=str(row.id),
        action=f"discovery_{decision}",
        actor=actor,
        detail={"key": row.key, "name": row.name, **detail},
    )


def _digest_of(row: Discovery) -> tuple[str, str] | None:
    return (row.digest_channel, row.digest_ts) if row.digest_channel and row.digest_ts else None


def _catalog_entry(session: Session, row: Discovery, *, status: str) -> Product:
    """The catalog product of `row`, created (linked by id) when the catalog lacks it."""
    if row.product_id:
        product = repository.get_product(session, product_id=row.product_id)
        if product is not None:
            return product
    product_id, n = product_slug(row.name), 1
    while repository.get_product(session, product_id=product_id) is not None:
        n += 1
        product_id = f"{product_slug(row.name)[:60]}-{n}"
    product = Product(
        id=product_id,
        name=row.name[:200],
        vendor=(row.vendor or row.name)[:200],
        category=row.category or "other",
        status=status,
    )
    session.add(product)
    row.product_id = product.id
    return product


def _charges(session: Session, row: Discovery) -> list[tuple[str, date, int, str]]:
    """The card and marketplace charges behind `row` (payer, day, cents, currency): its
    payers' lines whose descriptor is recognised as this product (a payer's lines are few;
    the recogniser is the one `procure discover run` uses)."""
    recognise_one, _ = recogniser(session)
    lines = session.exec(select(SpendLine).where(col(SpendLine.payer_email).in_(row.payers)))
    return [
        (line.payer_email or "", line.spent_on, line.amount_cents, line.currency)
        for line in lines
        if recognise_one(line.descriptor).key == row.key
    ]


def _owner(session: Session, row: Discovery, ranked: Sequence[str]) -> tuple[str, str | None]:
    """The owner Adopt names and their cost center: the top payer the directory knows (else
    the top payer), on their directory cost center (else one the spend was booked to)."""
    payers = [*ranked, *(p for p in row.payers if p not in ranked)]
    people = [repository.get_person(session, email=p) for p in payers]
    owner = next((p for p in people if p is not None), None)
    owner_email = owner.email if owner is not None else payers[0]
    return owner_email, (owner.cost_center if owner is not None else None) or next(iter(row.cost_centers), None)


def adopt(session: Session, *, key: str, actor_slack_id: str, as_of: date, at: datetime) -> Outcome:
    """Bring a discovered product into the register: an asset and its contract from the spend,
    owned by the top payer on their cost center, the catalog entry created or linked."""
    row, actor, refusal = _decidable(session, key=key, actor_slack_id=actor_slack_id, wanted=ADOPTED)
    if row is None:
        return Outcome(False, refusal)
    if row.decision == ADOPTED:
        return Outcome(True, f"{row.name} is already in the register (asset #{row.asset_id}).", _digest_of(row))
    if not row.payers or not row.first_seen or not row.last_seen:
        return Outcome(
            False, f"{row.name} has no card or marketplace spend to adopt; add it with `procure assets import`."
        )
    charges = _charges(session, row)
    currency = main_currency(charges, as_of=as_of) or (
        "USD" if "USD" in row.spend_cents else next(iter(sorted(row.spend_cents)), "USD")
    )
    in_currency = [(payer, day, cents) for payer, day, cents, cur in charges if cur == currency]
    owner_email, cost_center = _owner(session, row, rank_payers(in_currency, as_of=as_of))
    if not cost_center:
        return Outcome(False, f"No cost center is known for {owner_email}: add one in the directory, then Adopt again.")
    term = infer_term(in_currency, as_of=as_of)
    product = _catalog_entry(session, row, status=ProductStatus.APPROVED)
    usage_based = looks_usage_based(row.category or product.category, in_currency, as_of=as_of)
    seats: int | None = len(row.payers)
    annual = term.annual_cost_cents
    unit = annual // len(row.payers)
    if usage_based:
        # No seat count: the contract value is what was spent in the last 12 months (docs/decisions.md, 52).
        seats, annual = None, max(row.spend_cents.get(currency, 0), 0)
        unit = annual
    asset = Asset(
        product_id=product.id,
        product_name=product.name,
        vendor=product.vendor,
        owner_email=owner_email,
        cost_center=cost_center,
        channel="discovered",
        seats=seats,
        unit_price_cents=unit,
        annual_cost_cents=annual,
        currency=currency,
        created_at=at,
        external_id=f"discovery:{row.id}",
    )
    session.add(asset)
    session.flush()
    assert asset.id is not None
    renewal = add_months(row.first_seen, term.term_months)
    while renewal <= as_of:
        renewal = add_months(renewal, term.term_months)
    session.add(
        Contract(
            asset_id=asset.id,
            start_date=add_months(renewal, -term.term_months),
            term_months=term.term_months,
            billing_period=term.billing_period,
            renewal_date=renewal,
        )
    )
    for payer in row.payers if seats is not None else ():  # usage-based: no seats to hand out
        session.add(SeatAssignment(asset_id=asset.id, person_email=payer, assigned_at=at))
    row.asset_id = asset.id
    _record(
        session,
        row,
        decision=ADOPTED,
        actor=actor,
        at=at,
        detail={
            "asset_id": asset.id,
            "product_id": product.id,
            "billing_period": term.billing_period,
            "usage_based": usage_based,
        },
    )
    cost = format_money(annual, currency)
    counted = "usage-based" if seats is None else f"{seats} seat(s)"
    return Outcome(
        True,
        f"Adopted {row.name}: asset #{asset.id}, {counted}, {term.billing_period}, {cost} a year, "
        f"owner {owner_email} ({cost_center}).",
        _digest_of(row),
    )


def block(
    session: Session, *, key: str, actor_slack_id: str, reason: str, alternatives: Sequence[str], at: datetime
) -> Outcome:
    """Block a discovered product (its catalog entry created when missing), naming why and
    the approved catalog products to use instead."""
    row, actor, refusal = _decidable(session, key=key, actor_slack_id=actor_slack_id, wanted=BLOCKED)
    if row is None:
        return Outcome(False, refusal)
    known = {
        p.id
        for p in session.exec(select(Product).where(col(Product.id).in_(list(alternatives))))
        if p.status == ProductStatus.APPROVED
    }
    if set(alternatives) - known:
        return Outcome(False, "Pick alternatives from the approved catalog products.")
    product = _catalog_entry(session, row, status=ProductStatus.BLOCKED)
    product.status, product.block_reason, product.alternatives = ProductStatus.BLOCKED, reason, list(alternatives)
    session.add(product)
    row.decision_reason = reason
    _record(
        session,
        row,
        decision=BLOCKED,
        actor=actor,
        at=at,
        detail={"reason": reason, "alternatives": list(alternatives)},
    )
    return Outcome(True, f"Blocked {row.name}.", _digest_of(row))


def ignore(
    session: Session, *, key: str, actor_slack_id: str, reason: str, days: int, as_of: date, at: datetime
) -> Outcome:
    """Leave a discovered product alone for `days` days (out of digests and payer DMs)."""
    row, actor, refusal = _decidable(session, key=key, actor_slack_id=actor_slack_id, wanted=IGNORED)
    if row is None:
        return Outcome(False, refusal)
    if not 1 <= days <= MAX_SUPPRESS_DAYS:
        return Outcome(False, f"Suppress for 1 to {MAX_SUPPRESS_DAYS} days.")
    row.decision_reason, row.suppressed_until = reason, as_of + timedelta(days=days)
    _record(session, row, decision=IGNORED, actor=actor, at=at, detail={"reason": reason, "days": days})
    return Outcome(True, f"Ignoring {row.name} until {row.suppressed_until}.", _digest_of(row))


def _notice(
    session: Session, row: Discovery, payer: str, slack_id: str, as_of: date, inactive_days: int
) -> PayerNotice | None:
    product = repository.get_product(session, product_id=row.product_id) if row.product_id else None
    decision = reuse_decision(
        session,
        product=product,
        category=row.category,
        seats=1,
        requester_email=payer,
        as_of=as_of,
        inactive_days=inactive_days,
    )
    assert row.last_seen is not None
    base = PayerNotice(
        notice_key(row.key, payer, row.last_seen), payer, slack_id, row.name, row.product_id, row.last_seen
    )
    if decision.kind == ReuseKind.ALREADY_HELD:
        return None
    if decision.kind == ReuseKind.BLOCKED:
        names = tuple(a.name for a in decision.alternatives)
        return replace(base, blocked_reason=decision.reason or "blocked", alternatives=names)
    if decision.kind in (ReuseKind.SPARE_SEAT, ReuseKind.RECLAIM) and product is not None:
        return replace(base, owned_product=product.name, owned_product_id=product.id, free_seats=decision.spare)
    if decision.kind == ReuseKind.ASK_OWNER and product is not None and decision.owner_email not in (None, payer):
        owner = owner_mention(session, decision.owner_email)
        return replace(base, owned_product=product.name, owned_product_id=product.id, owner=owner)
    if decision.kind == ReuseKind.ALTERNATIVE and decision.alternatives:
        best = decision.alternatives[0]
        ask = owner_mention(session, best.owner_email) if best.owner_email else None
        return replace(
            base, owned_product=best.name, owned_product_id=best.product_id, free_seats=best.spare, owner=ask
        )
    return base


def payer_notices(session: Session, *, as_of: date, inactive_days: int) -> list[PayerNotice]:
    """The DMs owed to the people who paid for a product outside the process: on products in
    the digest, on blocked ones and on ones we own (a seat may be free). Each is one per
    product, payer and term (`PayerNotice.key`); the sender skips those already sent."""
    notices: list[PayerNotice] = []
    for row in session.exec(select(Discovery).where(col(Discovery.lines) > 0).order_by(Discovery.key)):
        if row.last_seen is None or row.decision == ADOPTED:
            continue
        if row.status != "managed" and not needs_decision(
            status=row.status,
            decision=None if row.decision == BLOCKED else row.decision,
            suppressed_until=row.suppressed_until,
            as_of=as_of,
        ):
            continue
        for payer in row.payers:
            person = repository.get_person(session, email=payer)
            if person is None or not person.slack_id:
                continue
            notice = _notice(session, row, payer, person.slack_id, as_of, inactive_days)
            if notice is not None:
                notices.append(notice)
    return notices

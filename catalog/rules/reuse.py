"""Reuse first: before anything is bought, what the company already owns that fits the request.

Pure: plain values in, a `ReuseDecision` out, `as_of` explicit. The order of the rules is the
order of the branches the requester sees:

1. **blocked** — the product may not be bought; the approved alternatives are named.
2. **already held** — the requester asks for one seat of a product they already hold a seat
   of: they are told so (and since when); nothing is bought or assigned. A request for
   several seats is for teammates too, and goes on below.
3. **spare seat** — the product is owned (it has seats in the asset register) and enough of
   them are unassigned: the requester can take one now, nothing is bought.
4. **ask the owner** — the product is owned on a usage-based contract only (no seat count:
   cloud, observability, data, API credits; docs/decisions.md, 52): there are no seats to
   count, so the requester is pointed to the contract's owner for access; buying is still
   possible, as a request of its own.
5. **reclaim** — owned but full: seats whose holders were inactive for `inactive_days` or more
   (or never active since they got the seat that long ago) can be reclaimed, or more bought.
6. **alternative** — the product is not owned, but an approved product of the same category
   is: use it, or continue with a justification.
7. **new purchase** — nothing owned fits: the request goes on to approval.

"Owned" means the asset register holds seats for the product (`capacity > 0`) or a usage-based
contract for it (`usage_owners`); a catalog entry alone only says the product may be bought.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class ReuseKind(StrEnum):
    BLOCKED = "blocked"
    ALREADY_HELD = "already_held"
    SPARE_SEAT = "spare_seat"
    ASK_OWNER = "ask_owner"
    RECLAIM = "reclaim"
    ALTERNATIVE = "alternative"
    NEW_PURCHASE = "new_purchase"


@dataclass(frozen=True)
class SeatHolder:
    email: str
    assigned_on: date
    last_active: date | None = None

    def idle_days(self, as_of: date) -> int:
        """Days since the holder last used the seat (since it was assigned when never used)."""
        return max(0, (as_of - (self.last_active or self.assigned_on)).days)


@dataclass(frozen=True)
class ProductPool:
    """One catalog product and its seats in the asset register."""

    id: str
    name: str
    category: str
    status: str  # approved | restricted | blocked
    block_reason: str | None = None
    alternatives: tuple[str, ...] = ()
    capacity: int = 0  # seats owned (sum over the product's seat-counted assets)
    holders: tuple[SeatHolder, ...] = ()
    #: Owners (emails) of the product's usage-based contracts, oldest contract first.
    usage_owners: tuple[str, ...] = ()

    @property
    def assigned(self) -> int:
        return len(self.holders)

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.assigned)

    @property
    def owned(self) -> bool:
        return self.capacity > 0 or bool(self.usage_owners)

    @property
    def usage_based(self) -> bool:
        """Owned on usage-based contracts only: no seats to count, an owner to ask."""
        return self.capacity == 0 and bool(self.usage_owners)


@dataclass(frozen=True)
class Alternative:
    product_id: str
    name: str
    spare: int
    owner_email: str | None = None  # a usage-based alternative: its contract's owner, to ask for access


@dataclass(frozen=True)
class ReuseDecision:
    kind: ReuseKind
    product_id: str | None
    seats: int
    spare: int = 0
    #: Holders idle for at least the threshold, most idle first (RECLAIM only).
    reclaimable: tuple[SeatHolder, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    reason: str | None = None
    already_holds: bool = False
    held_since: date | None = None  # ALREADY_HELD: when the requester got their seat
    owner_email: str | None = None  # ASK_OWNER: who to ask for access


def idle_cutoff(as_of: date, inactive_days: int) -> date:
    """The last day a seat may have been used (or, never used, assigned) and count as idle: a
    holder is idle when `last_active or assigned_on` is on or before it."""
    return as_of - timedelta(days=inactive_days)


def decide_reuse(
    *,
    product: ProductPool | None,
    category: str | None,
    seats: int,
    requester_email: str,
    catalog: Sequence[ProductPool],
    as_of: date,
    inactive_days: int,
) -> ReuseDecision:
    """What to offer someone who asks for `seats` seats of `product` (None: not in the
    catalog, with `category` inferred from the request text when possible)."""
    if seats < 1:
        raise ValueError("seats must be at least 1")
    if inactive_days < 1:
        raise ValueError("inactive_days must be at least 1")
    by_id = {p.id: p for p in catalog}
    product_id = product.id if product else None

    if product is not None and product.status == "blocked":
        alts = tuple(
            Alternative(a.id, a.name, a.spare)
            for a in (by_id.get(i) for i in product.alternatives)
            if a is not None and a.status == "approved"
        )
        return ReuseDecision(ReuseKind.BLOCKED, product_id, seats, alternatives=alts, reason=product.block_reason)

    if product is not None and product.usage_based:
        # The requester may own a contract of it themselves: then they are the one to ask.
        requester = requester_email.strip().lower()
        owner = requester if requester in product.usage_owners else product.usage_owners[0]
        return ReuseDecision(
            ReuseKind.ASK_OWNER, product_id, seats, owner_email=owner, already_holds=owner == requester
        )

    if product is not None and product.owned:
        requester = requester_email.strip().lower()
        mine = next((h for h in product.holders if h.email == requester), None)
        holds = mine is not None
        if mine is not None and seats == 1:
            return ReuseDecision(
                ReuseKind.ALREADY_HELD,
                product_id,
                seats,
                spare=product.spare,
                already_holds=True,
                held_since=mine.assigned_on,
            )
        if product.spare >= seats:
            return ReuseDecision(ReuseKind.SPARE_SEAT, product_id, seats, spare=product.spare, already_holds=holds)
        cutoff = idle_cutoff(as_of, inactive_days)
        idle = sorted(
            (h for h in product.holders if (h.last_active or h.assigned_on) <= cutoff and h.email != requester),
            key=lambda h: (h.last_active or h.assigned_on, h.email),
        )
        return ReuseDecision(
            ReuseKind.RECLAIM, product_id, seats, spare=product.spare, reclaimable=tuple(idle), already_holds=holds
        )

    wanted = product.category if product is not None else category
    if wanted:
        same = sorted(
            (p for p in catalog if p.category == wanted and p.id != product_id and p.status == "approved" and p.owned),
            key=lambda p: (-p.spare, p.name.casefold()),
        )
        if same:
            alts = tuple(
                Alternative(p.id, p.name, p.spare, p.usage_owners[0] if p.usage_based else None) for p in same[:5]
            )
            return ReuseDecision(ReuseKind.ALTERNATIVE, product_id, seats, alternatives=alts)
    return ReuseDecision(ReuseKind.NEW_PURCHASE, product_id, seats)


def holders_to_ask(decision: ReuseDecision) -> tuple[SeatHolder, ...]:
    """The idle holders to ask for their seat: as many as the request still lacks, most idle first."""
    if decision.kind is not ReuseKind.RECLAIM:
        return ()
    missing = max(0, decision.seats - decision.spare)
    return decision.reclaimable[:missing]

"""The reuse-first rule (catalog.rules.reuse): which branch a request takes, in the documented order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from catalog.rules.reuse import ProductPool, ReuseKind, SeatHolder, decide_reuse, holders_to_ask

AS_OF = date(2026, 11, 23)


def holder(email: str, idle_days: int, assigned_days: int = 400) -> SeatHolder:
    return SeatHolder(email, AS_OF - timedelta(days=assigned_days), AS_OF - timedelta(days=idle_days))


def pool(pid: str, *, capacity: int = 0, holders: tuple[SeatHolder, ...] = (), **kw: object) -> ProductPool:
    fields: dict[str, object] = {"name": pid.title(), "category": "design", "status": "approved"}
    fields.update(kw)
    return ProductPool(id=pid, capacity=capacity, holders=holders, **fields)  # type: ignore[arg-type]


FULL = (*tuple(holder(f"d{n}@x.com", 2) for n in range(8)), holder("idle1@x.com", 90), holder("idle2@x.com", 45))
FIGMA = pool("figma", capacity=10, holders=FULL)
CANVA = pool("canva", capacity=5, holders=(holder("a@x.com", 1),))
LASTPASS = pool("lastpass", category="passwords", status="blocked", block_reason="breach", alternatives=("onepass",))
ONEPASS = pool("onepass", category="passwords", capacity=100)
CATALOG = (FIGMA, CANVA, LASTPASS, ONEPASS, pool("sketchy", status="restricted", capacity=3))


def decide(product: ProductPool | None, seats: int = 1, category: str | None = None, who: str = "me@x.com"):  # type: ignore[no-untyped-def]
    return decide_reuse(
        product=product,
        category=category,
        seats=seats,
        requester_email=who,
        catalog=CATALOG,
        as_of=AS_OF,
        inactive_days=30,
    )


def test_blocked_comes_first_with_only_approved_alternatives() -> None:
    decision = decide(LASTPASS)
    assert decision.kind is ReuseKind.BLOCKED and decision.reason == "breach"
    assert [a.product_id for a in decision.alternatives] == ["onepass"]


def test_spare_seats_must_cover_the_whole_request() -> None:
    assert decide(CANVA, seats=4).kind is ReuseKind.SPARE_SEAT
    assert decide(CANVA, seats=5).kind is ReuseKind.RECLAIM  # 4 free of 5


def test_full_pool_offers_the_idle_holders_most_idle_first_and_never_the_requester() -> None:
    decision = decide(FIGMA, seats=2)
    assert decision.kind is ReuseKind.RECLAIM and decision.spare == 0
    assert [h.email for h in decision.reclaimable] == ["idle1@x.com", "idle2@x.com"]
    assert [h.email for h in holders_to_ask(decision)] == ["idle1@x.com", "idle2@x.com"]
    assert [h.email for h in holders_to_ask(decide(FIGMA, seats=1))] == ["idle1@x.com"]
    # Seats for the team, asked by someone who holds one: their own seat is never reclaimed.
    assert [h.email for h in decide(FIGMA, seats=2, who="IDLE1@x.com").reclaimable] == ["idle2@x.com"]
    assert decide(FIGMA, seats=2, who="idle1@x.com").already_holds


def test_one_seat_for_someone_who_holds_one_is_already_held_since_they_got_it() -> None:
    mine = holder("me@x.com", idle_days=3, assigned_days=200)
    miro = pool("miro", capacity=30, holders=(mine, holder("a@x.com", 1)))
    decision = decide(miro)
    assert decision.kind is ReuseKind.ALREADY_HELD and decision.already_holds
    assert decision.held_since == AS_OF - timedelta(days=200)
    # Full or not: the seat they hold is theirs, nothing to reclaim or buy.
    assert decide(FIGMA, who="idle1@x.com").kind is ReuseKind.ALREADY_HELD
    # Several seats are for teammates too: the pool is offered as before.
    assert decide(miro, seats=3).kind is ReuseKind.SPARE_SEAT


def test_a_holder_never_active_counts_from_the_day_they_got_the_seat() -> None:
    never = SeatHolder("new@x.com", AS_OF - timedelta(days=10))
    old = SeatHolder("old@x.com", AS_OF - timedelta(days=31))
    full = pool("tool", capacity=2, holders=(never, old))
    assert [h.email for h in decide(full).reclaimable] == ["old@x.com"]


def test_exactly_the_threshold_is_idle_enough() -> None:
    full = pool("tool", capacity=2, holders=(holder("a@x.com", 30), holder("b@x.com", 29)))
    assert [h.email for h in decide(full).reclaimable] == ["a@x.com"]


def test_unowned_product_gets_owned_approved_products_of_its_category() -> None:
    decision = decide(None, category="design")
    assert decision.kind is ReuseKind.ALTERNATIVE
    # restricted and unowned products are not offered; most spare seats first
    assert [a.product_id for a in decision.alternatives] == ["canva", "figma"]
    assert decide(pool("sketch", capacity=0)).kind is ReuseKind.ALTERNATIVE


def test_nothing_owned_fits_means_a_new_purchase() -> None:
    assert decide(None, category=None).kind is ReuseKind.NEW_PURCHASE
    assert decide(None, category="observability").kind is ReuseKind.NEW_PURCHASE
    assert decide(pool("zoom", category="video", capacity=0)).kind is ReuseKind.NEW_PURCHASE


@pytest.mark.parametrize(("seats", "days"), [(0, 30), (1, 0)])
def test_nonsense_input_is_refused(seats: int, days: int) -> None:
    with pytest.raises(ValueError):
        decide_reuse(
            product=None, category=None, seats=seats, requester_email="x", catalog=(), as_of=AS_OF, inactive_days=days
        )

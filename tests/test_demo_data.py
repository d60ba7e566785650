"""The demo data does what the README says it does: who is asked in the demo's reuse offer, and
that everyone the demo contracts name can be reached in the local Slack."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, Product
from catalog.rules.reuse import decide_reuse, holders_to_ask
from catalog.settings import Settings
from procure.runtime import simulator_config
from workflows.request.activities.reuse import seat_pool

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_as_many_idle_holders_as_the_demo_offer_asks(sqlite_seeded: Engine) -> None:
    inactive_days = Settings().reclaim_inactive_days
    with transaction(sqlite_seeded) as session:
        figma = repository.get_product(session, product_id="figma")
        assert figma is not None
        pool = seat_pool(session, figma)
        people = {p.email: p.name for p in repository.list_people(session)}
    # The demo: Emma asks for 2 Figma seats; every seat is taken.
    decision = decide_reuse(
        product=pool,
        category=None,
        seats=2,
        requester_email="employee@example.com",
        catalog=[pool],
        as_of=date.today(),
        inactive_days=inactive_days,
    )
    asked = holders_to_ask(decision)
    names = " and ".join(people[h.email] for h in asked)
    assert (len(asked), names) == (2, "Fiona Finance and Eli Engineer")
    assert f"({len(asked)} holders idle for {inactive_days}+ days: {names}" in README
    assert f"{len(decision.reclaimable)} holders idle" not in README  # all the idle ones are not asked


def test_every_owner_the_demo_data_names_is_a_person_in_the_local_slack(sqlite_seeded: Engine) -> None:
    with transaction(sqlite_seeded) as session:
        owners = {a.owner_email for a in session.exec(select(Asset)).all()}
        owners |= {p.owner_email for p in session.exec(select(Product)).all() if p.owner_email}
    users = {u.email for u in simulator_config(Settings(database_url=str(sqlite_seeded.url))).users}
    assert owners and owners <= users, f"owners with no Slack user: {sorted(owners - users)}"


def test_the_readme_reclaim_walkthrough_is_the_one_that_works_after_the_main_demo() -> None:
    """After the main demo Emma holds a Figma seat and one of the 2 she bought is free, so her
    `/request figma` no longer reaches Reclaim; someone without a seat asking for 2 still does
    (tests/workflows/test_reuse_workflow.py runs exactly that, after the main demo)."""
    flat = " ".join(README.split())
    assert "switch to **Sam Security** (who holds no Figma seat) and `/request figma 2 seats` → **Reclaim" in flat
    assert "`/request figma` → **Reclaim an idle seat**" not in flat

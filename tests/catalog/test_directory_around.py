"""`repository.directory_around` reads only the people a route or an escalation can reach, and
routing on it decides exactly what routing on the whole directory decides: on SQLite and on
PostgreSQL, for random directories (managers, delegates, roles, out-of-office, unknown emails)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from catalog import repository
from catalog.models import Person
from catalog.rules.policy import (
    DirectoryEntry,
    PolicyDecision,
    RouteStep,
    default_policy_path,
    delegation_refusal,
    escalation_approver,
    load_policy,
    resolve_route,
)

POLICY = load_policy(default_policy_path().read_text(encoding="utf-8"))
ON = date(2026, 12, 3)
ROLE_NAMES = ("finance", "security", "it", "finops", "itam")
EMAILS = tuple(f"p{n}@example.com" for n in range(10))
SOMEONE = st.one_of(st.none(), st.sampled_from(EMAILS), st.just("gone@example.com"))  # gone: not in the directory


@st.composite
def directories(draw: st.DrawFn) -> list[Person]:
    people = []
    for email in EMAILS[: draw(st.integers(2, len(EMAILS)))]:
        away = draw(st.sampled_from(["no", "now", "past", "open-ended"]))
        ooo_from, ooo_to = {
            "no": (None, None),
            "now": (ON - timedelta(days=1), ON + timedelta(days=1)),
            "past": (ON - timedelta(days=9), ON - timedelta(days=2)),
            "open-ended": (ON - timedelta(days=1), None),
        }[away]
        people.append(
            Person(
                email=email,
                slack_id=f"U{email[1]}",
                name=email.split("@")[0].upper(),
                manager_email=draw(SOMEONE),
                department=draw(st.sampled_from(["eng", "design", None])),
                roles=draw(st.lists(st.sampled_from(ROLE_NAMES), unique=True, max_size=2)),
                delegate_email=draw(SOMEONE),
                ooo_from=ooo_from,
                ooo_to=ooo_to,
            )
        )
    return people


def _decision(roles: list[str]) -> PolicyDecision:
    steps = tuple(RouteStep(role, stage, (f"because {role}",), 2) for stage, role in enumerate(roles, start=1))
    return PolicyDecision("route", steps, (), POLICY.version, 10, 2, "manager")


def _load(session: Session, people: list[Person]) -> None:
    session.connection().execute(text("DELETE FROM person"))
    for person in people:
        session.add(person)
    session.flush()
    session.expunge_all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=directories(),
    requester_index=st.integers(0, len(EMAILS) - 1),
    roles=st.lists(st.sampled_from(("manager", *ROLE_NAMES)), unique=True, min_size=1, max_size=4),
    fallback=st.dictionaries(st.sampled_from(["*", "eng", "design"]), st.sampled_from([*EMAILS, "gone@example.com"])),
)
def test_routes_on_the_part_read_are_the_routes_on_everyone(
    engine: Engine, people: list[Person], requester_index: int, roles: list[str], fallback: dict[str, str]
) -> None:
    policy = replace(POLICY, fallback_approvers=fallback)
    with Session(engine) as session:
        _load(session, people)
        everyone = repository.directory_snapshot(session)
        requester_email = people[requester_index % len(people)].email
        around = repository.directory_around(
            session, emails=[requester_email, *fallback.values()], managers_of=[requester_email]
        )
        session.rollback()
    assert set(around) <= set(everyone)
    assert all(around[e] == everyone[e] for e in around)
    decision = _decision(roles)
    assert resolve_route(policy, decision, requester=around[requester_email], directory=around, on=ON) == (
        resolve_route(policy, decision, requester=everyone[requester_email], directory=everyone, on=ON)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=directories(),
    indexes=st.tuples(st.integers(0, len(EMAILS) - 1), st.integers(0, len(EMAILS) - 1)),
    target=st.sampled_from(["manager", *EMAILS[:4], "gone@example.com"]),
    fallback=st.sampled_from([*EMAILS[:4], "gone@example.com"]),
)
def test_escalations_on_the_part_read_are_those_on_everyone(
    engine: Engine, people: list[Person], indexes: tuple[int, int], target: str, fallback: str
) -> None:
    requester_email, approver_email = (people[i % len(people)].email for i in indexes)
    with Session(engine) as session:
        _load(session, people)
        everyone = repository.directory_snapshot(session)
        named = [requester_email, None if target == "manager" else target, fallback]
        around = repository.directory_around(session, emails=named, managers_of=[approver_email])
        session.rollback()

    def escalate(directory: Mapping[str, DirectoryEntry]) -> DirectoryEntry | None:
        return escalation_approver(
            target,
            approver=everyone[approver_email],
            requester=everyone[requester_email],
            directory=directory,
            on=ON,
            fallback_approvers={"*": fallback},
        )

    assert escalate(around) == escalate(everyone)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=directories(),
    indexes=st.tuples(st.integers(0, len(EMAILS) - 1), st.integers(0, len(EMAILS) - 1), st.integers(0, 9)),
    role=st.sampled_from(("manager", *ROLE_NAMES)),
)
def test_delegations_on_the_part_read_are_those_on_everyone(
    engine: Engine, people: list[Person], indexes: tuple[int, int, int], role: str
) -> None:
    approver_email, actor_email, candidate_email = (people[i % len(people)].email for i in indexes)
    with Session(engine) as session:
        _load(session, people)
        everyone = repository.directory_snapshot(session)
        around = repository.directory_with_chains(session, emails=[approver_email, actor_email, candidate_email])
        session.rollback()
    approvers = [everyone[e] for e in dict.fromkeys([approver_email, actor_email])]

    def refusal(directory: Mapping[str, DirectoryEntry]) -> str | None:
        return delegation_refusal(role, approvers=approvers, candidate=everyone[candidate_email], directory=directory)

    assert refusal(around) == refusal(everyone)


def test_a_big_directory_is_not_read_to_route_one_request(seeded_engine: Engine) -> None:
    rows: list[int] = []

    def count(*_: object) -> None:
        rows.append(1)

    with Session(seeded_engine) as session:
        for n in range(500):
            session.add(Person(email=f"staff{n}@example.com", name=f"Staff {n}", manager_email="manager@example.com"))
        session.flush()
        session.connection()
        event.listen(seeded_engine, "before_cursor_execute", count)
        try:
            around = repository.directory_around(
                session,
                emails=["employee@example.com", *POLICY.fallback_approvers.values()],
                managers_of=["employee@example.com"],
            )
        finally:
            event.remove(seeded_engine, "before_cursor_execute", count)
        session.rollback()
    # The requester, their manager, the role holders and the fallback approvers (with their
    # delegates): none of the 500 who only report to the manager.
    assert "employee@example.com" in around and "manager@example.com" in around
    assert not any(email.startswith("staff") for email in around)
    assert len(rows) <= 4


def test_role_holders_are_read_without_the_rest_of_the_directory(seeded_engine: Engine) -> None:
    with Session(seeded_engine) as session:
        for email, roles in [("zed@example.com", ["itam"]), ("abe@example.com", ["finance", "itam"])]:
            session.add(Person(email=email, name=email.split("@")[0], roles=roles))
        for n in range(50):
            session.add(Person(email=f"staff{n}@example.com", name=f"Staff {n}"))
        session.flush()
        everyone = [p.email for p in repository.list_people(session) if "itam" in p.roles]
        holders = [p.email for p in repository.role_holders(session, role="itam")]
        session.rollback()
    assert holders == everyone
    assert {"abe@example.com", "zed@example.com"} <= set(holders)

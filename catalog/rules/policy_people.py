"""Who the approvers of a route are: `resolve_route` picks the people for an evaluated route from
a directory snapshot (`DirectoryEntry` by email); delegation, out-of-office and escalation
follow the manager chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from catalog.rules.policy_evaluate import PolicyDecision, RouteStep
from catalog.rules.policy_model import (
    Policy,
)

__all__ = [
    "AssignedStep",
    "DirectoryEntry",
    "ResolvedRoute",
    "delegation_refusal",
    "escalation_approver",
    "managers_above",
    "resolve_route",
]

# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    email: str
    name: str
    slack_id: str | None = None
    manager_email: str | None = None
    department: str | None = None
    cost_center: str | None = None
    roles: tuple[str, ...] = ()
    delegate_email: str | None = None
    ooo_from: date | None = None
    ooo_to: date | None = None

    def out_of_office(self, on: date) -> bool:
        """Away on ``on``: inside [ooo_from, ooo_to]; a missing end is open-ended on that side."""
        if self.ooo_from is None and self.ooo_to is None:
            return False
        return (self.ooo_from is None or self.ooo_from <= on) and (self.ooo_to is None or on <= self.ooo_to)

    def away_text(self) -> str:
        return f"out of office until {self.ooo_to.isoformat()}" if self.ooo_to else "out of office"


@dataclass(frozen=True)
class AssignedStep:
    step: RouteStep
    approver: DirectoryEntry
    delegate: DirectoryEntry | None  # the approver's own delegate, who may decide too
    assigned_because: str | None  # None: the natural approver for the role


@dataclass(frozen=True)
class ResolvedRoute:
    steps: tuple[AssignedStep, ...]  # the steps someone can approve, in the decision's order
    problems: tuple[str, ...] = field(default=())  # steps nobody can approve (left out of `steps`)


class _People:
    def __init__(self, directory: Mapping[str, DirectoryEntry], requester: DirectoryEntry, on: date) -> None:
        self.by_email = {e.email.lower(): e for e in directory.values()}
        self.requester = requester
        self.on = on

    def get(self, email: str | None) -> DirectoryEntry | None:
        return self.by_email.get(email.lower()) if email else None

    def is_requester(self, person: DirectoryEntry) -> bool:
        return person.email.lower() == self.requester.email.lower()

    def delegate_of(self, person: DirectoryEntry) -> DirectoryEntry | None:
        """``person``'s delegate when they can act: known, not the requester, not away themselves."""
        d = self.get(person.delegate_email)
        if d is None or self.is_requester(d) or d.email.lower() == person.email.lower() or d.out_of_office(self.on):
            return None
        return d

    def assign(self, step: RouteStep, person: DirectoryEntry, because: str | None) -> AssignedStep | None:
        """``person`` on ``step``, or their delegate while they are away; None when neither can act."""
        if self.is_requester(person):
            return None
        if not person.out_of_office(self.on):
            return AssignedStep(step, person, self.delegate_of(person), because)
        stand_in = self.delegate_of(person)
        if stand_in is None:
            return None
        text = f"delegate of {person.name}, {person.away_text()}"
        return AssignedStep(step, stand_in, self.delegate_of(stand_in), f"{text}; {because}" if because else text)

    def fallback(self, policy: Policy, step: RouteStep, why: str) -> AssignedStep | None:
        department = self.requester.department
        emails = [policy.fallback_approvers.get(department) if department else None, policy.fallback_approvers.get("*")]
        for email in dict.fromkeys(e for e in emails if e):
            person = self.get(email)
            if person is None:
                continue
            assigned = self.assign(step, person, f"fallback approver for {department or 'everyone'}: {why}")
            if assigned is not None:
                return assigned
        return None


def _named_step(
    policy: Policy, people: _People, step: RouteStep, email: str | None, *, whose: str, none: str, own: str, nobody: str
) -> AssignedStep | str:
    """A step for one named person (`whose` is how the reasons name them: "Emma's manager"),
    their delegate while they are away, or the fallback approver; else why nobody can take it.
    `none`: why when no one is named; `own`: why when the requester is the one named."""
    person = people.get(email)
    if not email:
        why = none
    elif person is None:
        why = f"{whose} {email} is not in the directory"
    elif people.is_requester(person):
        why = own
    else:
        assigned = people.assign(step, person, None)
        if assigned is not None:
            return assigned
        why = f"{whose} {person.name} is {person.away_text()} with no available delegate"
    return people.fallback(policy, step, why) or (
        f"nobody can approve {nobody}: {why}, and no fallback approver is available"
    )


def _manager_step(policy: Policy, people: _People, step: RouteStep) -> AssignedStep | str:
    name = people.requester.name
    return _named_step(
        policy,
        people,
        step,
        people.requester.manager_email,
        whose=f"{name}'s manager",
        none=f"{name} has no manager in the directory",
        own=f"{name} is listed as their own manager",
        nobody="the manager step",
    )


def _role_step(policy: Policy, people: _People, step: RouteStep) -> AssignedStep | str:
    holders = sorted(
        (p for p in people.by_email.values() if step.role in p.roles and not people.is_requester(p)),
        key=lambda p: p.email.lower(),
    )
    present = [p for p in holders if not p.out_of_office(people.on)]
    for person in present[:1] + holders:
        assigned = people.assign(step, person, None)
        if assigned is not None:
            return assigned
    if holders:
        why = f"everyone holding the {step.role} role is out of office"
    elif step.role in people.requester.roles:
        why = f"nobody but {people.requester.name}, the requester, holds the {step.role} role"
    else:
        why = f"nobody holds the {step.role} role"
    return people.fallback(policy, step, why) or (
        f"nobody holds the {step.role} role who can approve this request ({why}), and no fallback approver is available"
    )


def _owner_step(
    policy: Policy, people: _People, step: RouteStep, cost_center: str | None, owner_email: str | None
) -> AssignedStep | str:
    where = cost_center or "the cost center"
    return _named_step(
        policy,
        people,
        step,
        owner_email,
        whose=f"{where}'s owner",
        none=f"{where} has no owner in the budget file",
        own=f"{people.requester.name}, the requester, owns {where}",
        nobody=f"for the owner of {where}",
    )


def resolve_route(
    policy: Policy,
    decision: PolicyDecision,
    *,
    requester: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
    on: date,
    cost_center: str | None = None,
    cost_center_owner: str | None = None,
) -> ResolvedRoute:
    """The people for each step of ``decision``; never the requester, never someone away on ``on``.

    A `cost_center_owner` step goes to ``cost_center_owner`` (an email), and is left out when
    that person already approves an earlier or the same stage of this route."""
    people = _People(directory, requester, on)
    assigned: list[AssignedStep] = []
    problems: list[str] = []
    for step in decision.steps:
        if step.role == "cost_center_owner":
            result = _owner_step(policy, people, step, cost_center, cost_center_owner)
            if not isinstance(result, str) and any(
                a.approver.email.lower() == result.approver.email.lower() and a.step.stage <= step.stage
                for a in assigned
            ):
                continue
        elif step.role == "manager":
            result = _manager_step(policy, people, step)
        else:
            result = _role_step(policy, people, step)
        if isinstance(result, str):
            problems.append(result)
        else:
            assigned.append(result)
    return ResolvedRoute(tuple(assigned), tuple(problems))


def managers_above(person: DirectoryEntry, directory: Mapping[str, DirectoryEntry]) -> list[DirectoryEntry]:
    """``person``'s manager, that manager's manager, … as far as ``directory`` knows them
    (a loop in the reporting lines ends the walk)."""
    by_email = {e.email.lower(): e for e in directory.values()}
    chain: list[DirectoryEntry] = []
    seen = {person.email.lower()}
    boss = by_email.get((person.manager_email or "").lower())
    while boss is not None and boss.email.lower() not in seen:
        chain.append(boss)
        seen.add(boss.email.lower())
        boss = by_email.get((boss.manager_email or "").lower())
    return chain


def delegation_refusal(
    role: str,
    *,
    approvers: Sequence[DirectoryEntry],
    candidate: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
) -> str | None:
    """Why ``candidate`` may not take over a ``role`` step from ``approvers`` (the step's
    approver, and the person delegating when that is someone else, e.g. the approver's
    delegate); None when they may.

    A step goes only to someone who could have been asked for it: a holder of the same role
    (nobody holds ``manager``: a manager step follows the reporting line), someone above one
    of ``approvers`` in the manager chain, or the configured delegate of one of them."""
    if role != "manager" and role in candidate.roles:
        return None
    by_email = {e.email.lower(): e for e in directory.values()}
    above = {b.email.lower(): b for a in approvers for b in managers_above(a, by_email)}
    delegates = {
        a.delegate_email.lower(): by_email.get(a.delegate_email.lower()) for a in approvers if a.delegate_email
    }
    wanted = candidate.email.lower()
    if wanted in above or wanted in delegates:
        return None
    options = []
    if role != "manager":
        options.append(f"someone who holds the {role} role")
    if above:
        names = ", ".join(b.name for b in list(above.values())[:3])
        options.append(f"someone above {approvers[0].name} in the reporting line ({names})")
    named = [d.name for d in delegates.values() if d is not None]
    if named:
        options.append(f"the configured delegate ({', '.join(named)})")
    step = "a manager step" if role == "manager" else f"a {role} step"
    pick = f"; it can go to {', or '.join(options)}" if options else ""
    return f"{candidate.name} can't take over {step}{pick}."


def escalation_approver(
    policy_target: str | Policy,
    *,
    approver: DirectoryEntry,
    requester: DirectoryEntry,
    directory: Mapping[str, DirectoryEntry],
    on: date,
    fallback_approvers: Mapping[str, str] | None = None,
) -> DirectoryEntry | None:
    """Who a step that waited too long goes to; None when nobody suitable is left.

    ``"manager"``: the approver's manager (or that manager's delegate while they are away);
    otherwise the ``"*"`` fallback approver. An email: that person. Never the requester or the
    approver. Pass the ``Policy`` itself (or ``fallback_approvers``) to allow the fallback.
    """
    if isinstance(policy_target, Policy):
        fallback_approvers = fallback_approvers or policy_target.fallback_approvers
        target = policy_target.escalation_target
    else:
        target = policy_target
    people = _People(directory, requester, on)

    def usable(person: DirectoryEntry | None) -> DirectoryEntry | None:
        if person is None or people.is_requester(person) or person.email.lower() == approver.email.lower():
            return None
        if not person.out_of_office(on):
            return person
        stand_in = people.delegate_of(person)
        if stand_in is None or stand_in.email.lower() == approver.email.lower():
            return None
        return stand_in

    first = usable(people.get(approver.manager_email if target == "manager" else target))
    if first is not None:
        return first
    return usable(people.get((fallback_approvers or {}).get("*")))

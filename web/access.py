"""Who sees what in the console: the role matrix, as pure functions and as SQL filters.

| role | sees |
|---|---|
| `itam`, `finance`, `finops`, `admin` | everything |
| `security` | requests with a security step |
| a manager | their reports' requests |
| anyone | their own requests, requests they approve (or decide as delegate), and the catalog |
| anonymous | nothing: 401 on the API, a redirect to sign-in on pages |

Costs of contracts (the register, renewals, budgets, seats, discovered spend) are for the
first row only; among them, ITAM and admins decide on discovered products, and ITAM, FinOps
and admins upload the spend and sign-in exports discovery reads. An employee never sees what
someone else's contract costs. Pages and API call the same functions, so the two surfaces
cannot disagree (docs/decisions.md, "The web console").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import col

from catalog.models import ApprovalStep, Person, PurchaseRequest

#: Directory roles that see everything, costs included.
EVERYTHING_ROLES = frozenset({"itam", "finance", "finops", "admin"})
#: Roles that may change the register (contract terms, owners) from the console.
REGISTER_EDITOR_ROLES = frozenset({"itam", "admin"})
SECURITY_ROLE = "security"
#: Roles that may upload spend and sign-in exports for discovery from the console.
SPEND_UPLOAD_ROLES = frozenset({"itam", "finops", "admin"})


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the directory knows them now (not as when they signed in)."""

    email: str
    name: str
    slack_user_id: str | None
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_person(cls, person: Person) -> Viewer:
        return cls(
            email=person.email, name=person.name, slack_user_id=person.slack_id, roles=frozenset(person.roles or ())
        )


def sees_everything(viewer: Viewer) -> bool:
    return bool(viewer.roles & EVERYTHING_ROLES)


def may_see_register(viewer: Viewer) -> bool:
    """The asset register, renewals, budgets, commitments and seats: contract costs."""
    return sees_everything(viewer)


def may_edit_register(viewer: Viewer) -> bool:
    return bool(viewer.roles & REGISTER_EDITOR_ROLES)


def may_upload_spend(viewer: Viewer) -> bool:
    """Card, AP, FOCUS and SSO exports, uploaded on `/discovered`."""
    return bool(viewer.roles & SPEND_UPLOAD_ROLES)


def may_see_request(
    viewer: Viewer,
    *,
    requester_email: str,
    requester_manager_email: str | None,
    step_roles: Collection[str],
    step_people: Collection[str],
) -> bool:
    """Whether `viewer` may see one request: the matrix above, row by row.

    `step_people` are the approvers and delegates of its steps (every round)."""
    if sees_everything(viewer) or requester_email == viewer.email:
        return True
    if requester_manager_email is not None and requester_manager_email == viewer.email:
        return True
    if SECURITY_ROLE in viewer.roles and SECURITY_ROLE in step_roles:
        return True
    return viewer.email in step_people


def request_filter(viewer: Viewer) -> ColumnElement[bool]:
    """`may_see_request` as a WHERE clause on `purchase_request` (same rows, by construction of
    the tests in tests/web/test_access.py)."""
    if sees_everything(viewer):
        return true()
    step = ApprovalStep
    reports = select(col(Person.email)).where(col(Person.manager_email) == viewer.email)
    mine_to_decide = select(col(step.request_id)).where(
        or_(col(step.approver_email) == viewer.email, col(step.delegate_email) == viewer.email)
    )
    clauses: list[ColumnElement[bool]] = [
        col(PurchaseRequest.requester_email) == viewer.email,
        col(PurchaseRequest.requester_email).in_(reports),
        col(PurchaseRequest.id).in_(mine_to_decide),
    ]
    if SECURITY_ROLE in viewer.roles:
        clauses.append(col(PurchaseRequest.id).in_(select(col(step.request_id)).where(col(step.role) == SECURITY_ROLE)))
    return or_(*clauses)


def nothing() -> ColumnElement[bool]:
    """A filter no row passes (for lists a viewer may not see at all)."""
    return false()


@dataclass(frozen=True)
class Page:
    path: str
    label: str
    needs_register: bool  # shows contract costs: only for EVERYTHING_ROLES


#: Every page of the console, in navigation order.
PAGES = (
    Page("/", "Overview", True),
    Page("/requests", "Requests", False),
    Page("/assets", "Assets", True),
    Page("/renewals", "Renewals", True),
    Page("/budgets", "Budgets", True),
    Page("/commitments", "Commitments", True),
    Page("/seats", "Seats", True),
    Page("/discovered", "Discovered", True),
    Page("/catalog", "Catalog", False),
    Page("/policy", "Policy", False),
)


def visible_pages(viewer: Viewer) -> list[Page]:
    return [page for page in PAGES if not page.needs_register or may_see_register(viewer)]


def describe(viewer: Viewer) -> dict[str, Any]:
    """The viewer as `/api/v1/me` shows it."""
    return {
        "email": viewer.email,
        "name": viewer.name,
        "slack_user_id": viewer.slack_user_id,
        "roles": sorted(viewer.roles),
        "sees_everything": sees_everything(viewer),
        "may_edit_register": may_edit_register(viewer),
    }

"""Generated people and cost centers: a manager tree under the shipped demo's VP, departments
with their cost centers (each with its budget currency), and the console's roles."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

DEPARTMENTS = (
    "engineering",
    "sales",
    "marketing",
    "finance",
    "operations",
    "design",
    "support",
    "legal",
    "people",
    "data",
)
FIRST = (
    "Ada Alan Amir Ana Ben Bea Carl Chen Dana Dev Eli Emma Femi Gia Hugo Ines Ivan Jada Joel Kai Kim Lars Lea "
    "Luca Maya Mei Nia Noah Olga Omar Pia Raj Rosa Sami Sara Tao Uma Vik Wen Yara Zoe"
).split()
LAST = (
    "Adams Baker Chen Diaz Evans Fischer Garcia Haddad Ito Jensen Khan Lopez Moreau Nakamura Okafor Patel "
    "Quinn Rossi Silva Tanaka Usman Varga Weber Xu Yilmaz Zhang"
).split()
#: Most cost centers budget in USD; a few in the currencies the shipped policy converts.
CURRENCY_WEIGHTS = (("USD", 8), ("EUR", 2), ("GBP", 1))
TOP_EMAIL = "vp@example.com"


@dataclass(frozen=True)
class CostCenter:
    code: str
    department: str
    currency: str
    owner_email: str


@dataclass
class Directory:
    people: list[dict[str, Any]]
    cost_centers: list[CostCenter]
    #: People by role, for approval steps and contract owners.
    by_role: dict[str, list[str]]
    managers: list[str]
    #: email -> (manager email, cost center code, slack id)
    index: dict[str, tuple[str | None, str, str]]


def _weighted(rng: random.Random, weights: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]


def build_directory(rng: random.Random, *, people: int, existing: set[str]) -> Directory:
    """`people` generated people: one director per department under the VP, then managers of
    about eight reports each, then employees. Roles go to a few people of the right departments."""
    n_cc = max(len(DEPARTMENTS), people // 250)
    cost_centers: list[CostCenter] = []
    rows: list[dict[str, Any]] = []
    index: dict[str, tuple[str | None, str, str]] = {}
    by_role: dict[str, list[str]] = {r: [] for r in ("itam", "finance", "finops", "security", "it", "executive")}
    managers: list[str] = []

    def add(i: int, manager: str | None, cc: CostCenter, roles: list[str]) -> str:
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}.{i}@demo.example.com"
        if email in existing:
            email = f"demo{i}@demo.example.com"
        slack_id = f"UD{i:08d}"
        rows.append(
            {
                "email": email,
                "slack_id": slack_id,
                "name": f"{first} {last}",
                "manager_email": manager,
                "department": cc.department,
                "cost_center": cc.code,
                "roles": roles,
                "delegate_email": None,
                "ooo_from": None,
                "ooo_to": None,
            }
        )
        index[email] = (manager, cc.code, slack_id)
        for role in roles:
            by_role[role].append(email)
        return email

    directors: dict[str, str] = {}
    for d, dept in enumerate(DEPARTMENTS):
        placeholder = CostCenter(f"CC-{dept.upper()[:4]}-{0:03d}", dept, "USD", TOP_EMAIL)
        directors[dept] = add(d, TOP_EMAIL, placeholder, ["executive"] if dept == "finance" else [])
    for c in range(n_cc):
        dept = DEPARTMENTS[c % len(DEPARTMENTS)]
        code = f"CC-{dept.upper()[:4]}-{c // len(DEPARTMENTS):03d}"
        cost_centers.append(CostCenter(code, dept, _weighted(rng, CURRENCY_WEIGHTS), directors[dept]))
    # Directors belong to their department's first cost center.
    for row in rows:
        row["cost_center"] = f"CC-{str(row['department']).upper()[:4]}-000"
        manager, _, slack = index[row["email"]]
        index[row["email"]] = (manager, row["cost_center"], slack)

    role_quota = {"itam": 12, "finance": 10, "finops": 6, "security": 10, "it": 8}
    role_dept = {
        "itam": "operations",
        "finance": "finance",
        "finops": "finance",
        "security": "engineering",
        "it": "operations",
    }
    next_i = len(rows)
    current_manager: str | None = None
    reports_left = 0
    cc = cost_centers[0]
    while len(rows) < people:
        if reports_left == 0:
            cc = cost_centers[rng.randrange(len(cost_centers))]
            current_manager = add(next_i, directors[cc.department], cc, [])
            managers.append(current_manager)
            reports_left = rng.randint(5, 11)
            next_i += 1
            continue
        roles = [
            role
            for role, quota in role_quota.items()
            if role_dept[role] == cc.department and len(by_role[role]) < quota
        ][:1]
        add(next_i, current_manager, cc, roles)
        reports_left -= 1
        next_i += 1
    return Directory(rows, cost_centers, by_role, managers, index)

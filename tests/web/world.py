"""Requests on the demo directory that exercise every row of the console's role matrix.

| request | requester (manager) | route |
|---|---|---|
| REQ-EMMA | Emma (Max) | stage 1 manager Max pending, stage 2 finance Fiona pending |
| REQ-ELI | Eli (Max) | stage 1 manager Max approved, stage 2 security Sam pending |
| REQ-FIONA | Fiona (Vera) | stage 1 manager Vera pending |
| REQ-IAN | Ian (Vera) | stage 1 it Eli pending (delegate Emma) |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.models import ApprovalStep, PurchaseRequest, SlackMessage

NOW = datetime.now(UTC)
PEOPLE = {
    "employee@example.com": "U0EMPLOYEE",
    "manager@example.com": "U0MANAGER",
    "vp@example.com": "U0VP",
    "finance@example.com": "U0FINANCE",
    "itam@example.com": "U0ITAM",
    "engineer@example.com": "U0ENGINEER",
    "security@example.com": "U0SECURITY",
}
# id: (requester, product, cost center, cents a year, days old, [(stage, role, approver, status, delegate)])
REQUESTS = {
    "REQ-EMMA": (
        "employee@example.com",
        "Figma",
        "CC-DESIGN",
        144_000,
        9,
        [
            (1, "manager", "manager@example.com", "pending", None),
            (2, "finance", "finance@example.com", "pending", None),
        ],
    ),
    "REQ-ELI": (
        "engineer@example.com",
        '=HYPERLINK("http://evil")',
        "CC-ENG",
        50_000_00,
        3,
        [
            (1, "manager", "manager@example.com", "approved", None),
            (2, "security", "security@example.com", "pending", None),
        ],
    ),
    "REQ-FIONA": (
        "finance@example.com",
        "Tableau",
        "CC-FIN",
        840_000,
        1,
        [(1, "manager", "vp@example.com", "pending", None)],
    ),
    "REQ-IAN": (
        "itam@example.com",
        "Jamf Pro",
        "CC-IT",
        99_000,
        20,
        [(1, "it", "engineer@example.com", "pending", "employee@example.com")],
    ),
}
ALL = set(REQUESTS)
#: What each person may see (tests/web/test_access.py).
VISIBLE = {
    "itam@example.com": ALL,
    "finance@example.com": ALL,
    "finops@example.com": ALL,
    "security@example.com": {"REQ-ELI"},
    "manager@example.com": {"REQ-EMMA", "REQ-ELI"},
    "employee@example.com": {"REQ-EMMA", "REQ-IAN"},  # her own, and one she decides as delegate
    "engineer@example.com": {"REQ-ELI", "REQ-IAN"},
    "vp@example.com": {"REQ-FIONA", "REQ-IAN"},
}


def add_requests(engine: Engine) -> None:
    with transaction(engine) as session:
        for request_id, (requester, product, cc, cents, age, steps) in REQUESTS.items():
            created = NOW - timedelta(days=age)
            repository.create_request(
                session,
                request=PurchaseRequest(
                    id=request_id,
                    workflow_id=f"request-{request_id}",
                    requester_email=requester,
                    requester_slack_id=PEOPLE[requester],
                    product_name=product,
                    seats=1,
                    unit_price_cents=cents,
                    annual_cost_cents=cents,
                    cost_center=cc,
                    status="pending_approval",
                    created_at=created,
                    updated_at=created,
                    policy_version="v-test",
                ),
            )
            for seq, (stage, role, approver, status, delegate) in enumerate(steps, start=1):
                session.add(
                    ApprovalStep(
                        request_id=request_id,
                        seq=seq,
                        role=role,
                        approver_email=approver,
                        approver_slack_id=PEOPLE[approver],
                        status=status,
                        stage=stage,
                        delegate_email=delegate,
                        delegate_slack_id=PEOPLE[delegate] if delegate else None,
                    )
                )
            repository.audit(
                session,
                idem_key=f"{request_id}:submitted",
                at=created,
                entity="request",
                entity_id=request_id,
                action="submitted",
                actor=requester,
                request_id=request_id,
                policy_version="v-test",
                detail={"budget": {"cost_center": cc, "available_cents": 1_000_000}},
            )
            session.add(
                SlackMessage(
                    key=f"{request_id}:requester", request_id=request_id, channel="D0001", ts="1.0", created_at=created
                )
            )

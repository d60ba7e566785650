"""`procure policy check / explain` as an administrator runs them, against a real database
(each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.models import AuditEvent
from catalog.rules.policy import default_policy_path
from catalog.settings import get_settings
from procure.policy_cli import policy_app
from tests.cli.conftest import count, runner, write

# --- policy --------------------------------------------------------------------------------


def test_policy_check_the_shipped_policy_and_a_broken_one(tmp_path: Path) -> None:
    result = runner.invoke(policy_app, ["check", str(default_policy_path())])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout and "finops (stage 3)" in result.stdout
    broken = write(
        tmp_path,
        "policy.yaml",
        'fallback_approvers:\n  "*": vp@example.com\nsteps:\n  - role: wizard\n    when: always\n'
        "  - role: finance\n    when: {annual_cost_over: lots}\n",
    )
    result = runner.invoke(policy_app, ["check", broken])
    assert result.exit_code == 1
    assert f"{broken}:line 4: unknown role 'wizard'" in result.stderr
    assert f"{broken}:line 7:" in result.stderr and "2 problems" in result.stderr


def _explain(request: dict[str, object], *args: str) -> dict[str, object]:
    result = runner.invoke(policy_app, ["explain", "--json", "--on", "2026-11-23", *args], input=json.dumps(request))
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_policy_explain_prices_from_the_catalog_and_starts_nothing(db: Engine) -> None:
    audit_before = count(db, AuditEvent)
    data = _explain(
        {"requester": "employee@example.com", "product": "Figma", "seats": 40, "channel": "aws_marketplace"}
    )
    assert data["outcome"] == "route"
    assert data["roles"] == ["manager", "finance", "finops"]
    assert data["request"] == {
        "product": "Figma",
        "product_id": "figma",
        "seats": 40,
        "annual_cost_cents": 40 * 18000,
        "currency": "USD",
        "channel": "aws_marketplace",
        "data_classification": "internal",
    }
    steps = data["steps"]
    assert isinstance(steps, list) and [s["approver"]["email"] for s in steps] == [
        "manager@example.com",
        "finance@example.com",
        "finops@example.com",
    ]
    assert data["budget"]["available_after_cents"] == 5_000_000 - 720_000  # type: ignore[index]
    assert data["drawdown"]["commitment"] == "AWS EDP 2026"  # type: ignore[index]
    assert count(db, AuditEvent) == audit_before
    with transaction(db) as session:
        budget = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=2026)
        assert budget is not None and budget.committed_cents == 0


def test_policy_explain_rejections_and_text_output(db: Engine) -> None:
    blocked = _explain({"requester": "employee@example.com", "product": "lastpass"})
    assert blocked["outcome"] == "reject" and blocked["steps"] == []
    unknown_cc = _explain({"requester": "employee@example.com", "product": "figma", "cost_center": "CC-NOPE"})
    assert unknown_cc["outcome"] == "reject"
    assert str(unknown_cc["reasons"]).startswith("['unknown cost center CC-NOPE")
    new_vendor = {
        "requester": "employee@example.com",
        "product": "Acme Boards",
        "vendor": "Acme",
        "annual_cost": "6,000",
        "data_classification": "confidential",
    }
    result = runner.invoke(policy_app, ["explain", "--on", "2026-11-23"], input=json.dumps(new_vendor))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("outcome: route")
    assert "stage 2  security  Sam Security <security@example.com>" in out
    assert "- Acme is a new vendor" in out and "- annual cost 6,000.00 USD is over 5,000.00 USD" in out
    assert "budget: CC-DESIGN FY2026: 50,000.00 USD available → 44,000.00 USD after this request" in out


def test_policy_explain_says_which_price_it_used_for_an_estimate(db: Engine) -> None:
    """Issue 18 §6b / 19 #2: an `annual_cost` for a catalog product was dropped without a word
    (and the workflow took it even when lower). A lower one is not used, and `notice` says so;
    a higher one is a higher tier, used, and `notice` says that."""
    low = _explain({"requester": "employee@example.com", "product": "1password", "annual_cost": "1"})
    assert low["request"]["annual_cost_cents"] == 2_400_000  # type: ignore[index]
    assert low["roles"] == ["manager", "finance"]
    assert low["notice"] == (
        "Priced at the catalog price, 24,000.00 USD a year. The estimate (1.00 USD) is not used: "
        "an estimate can only raise a catalog price (a higher tier), never lower it."
    )
    high = _explain({"requester": "employee@example.com", "product": "figma", "seats": 2, "annual_cost": "500"})
    assert high["request"]["annual_cost_cents"] == 50_000  # type: ignore[index]
    assert high["notice"] == (
        "Priced at the quoted 500.00 USD a year: it is above the catalog price (360.00 USD), "
        "so it is taken as a higher tier."
    )
    assert _explain({"requester": "employee@example.com", "product": "figma"})["notice"] is None
    result = runner.invoke(
        policy_app,
        ["explain", "--on", "2026-11-23"],
        input=json.dumps({"requester": "employee@example.com", "product": "1password", "annual_cost": "1"}),
    )
    assert result.exit_code == 0, result.output
    assert "notice: Priced at the catalog price, 24,000.00 USD a year." in result.stdout


def test_policy_explain_shows_added_seats_joining_the_contract_we_have(db: Engine) -> None:
    """The dry run plans what the workflow plans: 2 more Figma seats on 2026-11-23 join the
    40-seat contract renewing 2027-02-01, and the budget line holds 70 of 365 days of 360 USD."""
    data = _explain({"requester": "employee@example.com", "product": "figma", "seats": 2})
    expansion = data["contract"]["expansion"]  # type: ignore[index]
    assert (expansion["seats_before"], expansion["seats_after"], expansion["renewal_date"]) == (40, 42, "2027-02-01")
    assert (expansion["days_left"], expansion["term_days"], expansion["prorated_cents"]) == (70, 365, 6904)
    assert data["budget"]["amount_cents"] == 6904  # type: ignore[index]
    assert data["request"]["annual_cost_cents"] == 36000  # type: ignore[index]
    asked = {"requester": "employee@example.com", "product": "figma", "seats": 2, "separate_contract": True}
    separate = _explain(asked)
    assert separate["contract"] == {
        "expansion": None,
        "reason": "the requester asked for a separate contract",
        "chosen": True,
    }
    assert separate["budget"]["amount_cents"] == 36000  # type: ignore[index]
    result = runner.invoke(
        policy_app,
        ["explain", "--on", "2026-11-23"],
        input=json.dumps({"requester": "employee@example.com", "product": "figma", "seats": 2}),
    )
    assert "contract: joins asset #1 (40 → 42 seats, renews 2027-02-01): 69.04 USD prorated" in result.stdout


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"product": "figma"}', "`requester` (an email) is required"),
        ('{"requester": "employee@example.com", "product": "Acme"}', "give an estimated annual cost"),
        ('{"requester": "employee@example.com", "product": "figma", "colour": "red"}', "unknown field(s) colour"),
    ],
)
def test_policy_explain_bad_input(db: Engine, stdin: str, message: str) -> None:
    result = runner.invoke(policy_app, ["explain"], input=stdin)
    assert result.exit_code == 2 and message in result.stderr


def test_policy_explain_uses_the_policy_file_setting(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = default_policy_path().read_text().replace("annual_cost_over: 5000", "annual_cost_over: 100")
    monkeypatch.setenv("POLICY_FILE", write(tmp_path, "strict.yaml", text))
    get_settings.cache_clear()
    data = _explain({"requester": "employee@example.com", "product": "figma", "seats": 1})
    assert data["roles"] == ["manager", "finance"]
    assert data["policy_version"] != _explain({"requester": "employee@example.com", "product": "figma"},
                                              "--policy", str(default_policy_path()))["policy_version"]  # fmt: skip

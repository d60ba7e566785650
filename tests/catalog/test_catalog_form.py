"""The console's catalog edit form: the checks of `procure catalog check`, each problem placed
next to its field."""

from __future__ import annotations

from catalog.importers.catalog import parse_catalog_yaml
from catalog.importers.catalog_form import check_form, form_of, form_yaml

EXISTING = {"figma": ["figma design"], "miro": [], "sketch": []}


def _form(**values: str) -> dict[str, str]:
    form = {"id": "figma", "name": "Figma", "vendor": "Figma Inc", "category": "design"}
    form.update(values)
    return form


def test_a_good_form_gives_the_entry_the_import_would_write() -> None:
    check = check_form(
        _form(
            aliases="figjam; fig",
            alternatives="miro",
            seats_total="10",
            price_cents="1500",
            contract_start="2026-01-01",
            term_months="12",
            auto_renew="false",
        ),
        existing=EXISTING,
    )
    assert check.ok and check.problems == {}
    assert check.entry is not None
    assert check.entry.aliases == ("figjam", "fig")
    assert check.entry.contract is not None and check.entry.contract.auto_renew is False
    assert check.entry.seats_total == 10


def test_every_problem_sits_next_to_its_field() -> None:
    check = check_form(
        _form(
            status="blocked",
            alternatives="nope; figma",
            owner="not-an-email",
            seats_total="-3",
            price_cents="12.5",
            currency="usd",
            contract_start="2026-02-30",
            term_months="0",
        ),
        existing=EXISTING,
    )
    assert not check.ok and check.entry is None
    assert check.problems["status"] == ["figma is blocked without a block_reason"]
    assert check.problems["owner"] == ["owner 'not-an-email' must be an email address"]
    assert "seats_total can't be negative (-3)" in check.problems["seats_total"]
    assert "price_cents must be a whole number, not '12.5'" in check.problems["price_cents"]
    assert "currency 'usd' is not an ISO 4217 currency code such as USD, EUR or GBP" in check.problems["currency"]
    assert "contract start '2026-02-30' is not a date (YYYY-MM-DD)" in check.problems["contract_start"]
    assert "term_months must be at least 1, not 0" in check.problems["term_months"]


def test_names_taken_in_the_database_and_unknown_alternatives_are_refused_on_their_fields() -> None:
    check = check_form(
        _form(id="figjam", name="FigJam", aliases="figma design", alternatives="nope"), existing=EXISTING
    )
    assert check.problems["aliases"] == ["alias 'figma design' is already used by 'figma' in the database"]
    assert check.problems["alternatives"] == ["unknown alternative 'nope'"]


def test_missing_required_fields_are_named_on_their_own_fields() -> None:
    check = check_form({"id": "", "name": "", "category": "", "vendor": "x"}, existing=EXISTING)
    assert set(check.problems) == {"id", "name", "category"}


def test_user_text_cannot_escape_its_field_in_the_yaml() -> None:
    text, _ = form_yaml(_form(name='Fig"ma\n  status: blocked', block_reason="x: y # z"))
    entries, problems = parse_catalog_yaml(text, existing=EXISTING)
    assert problems == []
    assert entries[0].name == 'Fig"ma\n  status: blocked' and entries[0].status == "approved"
    assert entries[0].block_reason == "x: y # z"


def test_the_form_of_an_entry_checks_back_to_the_same_entry() -> None:
    first = check_form(
        _form(aliases="fig", contract_start="2026-01-01", term_months="12", notice_days="45", owner="a@example.com"),
        existing=EXISTING,
    )
    assert first.entry is not None
    again = check_form(form_of(first.entry), existing=EXISTING)
    assert again.entry == first.entry

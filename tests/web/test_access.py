"""The console's role matrix, on SQLite and PostgreSQL: the same answer from the pure check, the
SQL filter, the pages and the API, for every person of the demo directory."""

from __future__ import annotations

import pytest
from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import ApprovalStep, Person, PurchaseRequest
from tests.web.conftest import EMPLOYEE, FINANCE, FINOPS, ITAM, MANAGER, SECURITY, Console
from tests.web.world import ALL, VISIBLE, add_requests
from web.access import Viewer, may_see_request, request_filter

pytestmark = pytest.mark.usefixtures("world")


@pytest.fixture
def world(console: Console) -> None:
    add_requests(console.engine)


def _viewer(console: Console, email: str) -> Viewer:
    with transaction(console.engine) as session:
        person = repository.get_person(session, email=email)
        assert person is not None
        return Viewer.from_person(person)


def test_the_pure_check_and_the_sql_filter_agree_for_everyone(console: Console) -> None:
    with transaction(console.engine) as session:
        people = session.exec(select(Person)).all()
        requests = session.exec(select(PurchaseRequest)).all()
        steps = session.exec(select(ApprovalStep)).all()
        managers = {p.email: p.manager_email for p in people}
        for person in people:
            viewer = Viewer.from_person(person)
            by_sql = set(session.exec(select(PurchaseRequest.id).where(request_filter(viewer))).all())
            by_rule = {
                r.id
                for r in requests
                if may_see_request(
                    viewer,
                    requester_email=r.requester_email,
                    requester_manager_email=managers.get(r.requester_email),
                    step_roles={s.role for s in steps if s.request_id == r.id},
                    step_people={
                        e for s in steps if s.request_id == r.id for e in (s.approver_email, s.delegate_email)
                    },
                )
            }
            assert by_sql == by_rule, person.email
            if person.email in VISIBLE:
                assert by_sql == VISIBLE[person.email], person.email


@pytest.mark.parametrize("email", sorted(VISIBLE))
async def test_pages_and_api_show_each_person_what_the_matrix_says(console: Console, email: str) -> None:
    console.sign_in(email)
    listed = await console.http.get("/api/v1/requests")
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()["items"]} == VISIBLE[email]
    page = await console.http.get("/requests")
    assert page.status_code == 200
    for request_id in ALL:
        assert (f'href="/requests/{request_id}"' in page.text) == (request_id in VISIBLE[email]), request_id
        detail = await console.http.get(f"/api/v1/requests/{request_id}")
        assert detail.status_code == (200 if request_id in VISIBLE[email] else 404), request_id
        shown = await console.http.get(f"/requests/{request_id}")
        assert shown.status_code == (200 if request_id in VISIBLE[email] else 404), request_id


@pytest.mark.parametrize(
    ("email", "register"),
    [(ITAM, 200), (FINANCE, 200), (FINOPS, 200), (SECURITY, 403), (MANAGER, 403), (EMPLOYEE, 403)],
)
async def test_only_itam_finance_and_finops_see_contract_costs(console: Console, email: str, register: int) -> None:
    console.sign_in(email)
    for path in (
        "/assets",
        "/api/v1/assets",
        "/assets/1",
        "/api/v1/assets/1",
        "/assets.csv",
        "/discovered",
        "/api/v1/discoveries",
    ):
        assert (await console.http.get(path)).status_code == register, path
    nav = (await console.http.get("/requests")).text
    assert ('href="/assets"' in nav) == (register == 200)
    assert ('href="/discovered"' in nav) == (register == 200)
    me = (await console.http.get("/api/v1/me")).json()
    assert me["sees_everything"] == (register == 200)


async def test_the_admin_role_sees_everything(console: Console) -> None:
    with transaction(console.engine) as session:
        person = repository.get_person(session, email=EMPLOYEE)
        assert person is not None
        person.roles = ["admin"]
        session.add(person)
    console.sign_in(EMPLOYEE)
    assert {i["id"] for i in (await console.http.get("/api/v1/requests")).json()["items"]} == ALL
    assert (await console.http.get("/api/v1/assets")).status_code == 200
    assert _viewer(console, EMPLOYEE).roles == {"admin"}


async def test_someone_removed_from_the_directory_is_signed_out(console: Console) -> None:
    console.sign_in(EMPLOYEE)
    with transaction(console.engine) as session:
        person = repository.get_person(session, email=EMPLOYEE)
        assert person is not None
        session.delete(person)
    assert (await console.http.get("/api/v1/requests")).status_code == 401
    assert (await console.http.get("/requests")).status_code == 303


async def test_anonymous_gets_401_on_every_api_and_a_redirect_on_every_page(console: Console) -> None:
    for path in (
        "/api/v1/requests",
        "/api/v1/requests/REQ-EMMA",
        "/api/v1/assets",
        "/api/v1/assets/1",
        "/assets.csv",
        "/api/v1/discoveries",
        "/api/v1/discoveries/1",
    ):
        assert (await console.http.get(path)).status_code == 401, path
    for method, path in (("POST", "/api/v1/discoveries/1/adopt"), ("POST", "/api/v1/spend-imports")):
        assert (await console.http.request(method, path)).status_code == 401, path
    for path in (
        "/",
        "/requests",
        "/requests/REQ-EMMA",
        "/assets",
        "/assets/1",
        "/renewals",
        "/catalog",
        "/discovered",
        "/discovered/1",
    ):
        answer = await console.http.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/login?next="), path

"""Issue 18 §5: ids beyond the database's bigint range are refused at the boundary with a Chinese message (API 422,
form error) or a 404 — never a 500 (OverflowError in SQLite, "out of range" in PostgreSQL), and nothing changes."""

import json

import pytest
from django.urls import reverse

from minzheng.accounts.services import issue_token
from minzheng.conftest import make_id_number
from minzheng.core import ids
from minzheng.registry import services as registry
from minzheng.registry.models import Household, Membership

pytestmark = pytest.mark.django_db

HUGE = "721215900041001304064"
JUST_OVER = str(2**63)


@pytest.fixture
def household(clerk, household_data):
    return registry.create_household(
        clerk, household_data(members=[("02", "张三", make_id_number(seq=11)), ("12", "李四", make_id_number(seq=22))])
    )


@pytest.fixture
def bearer(clerk):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(clerk, '测试')[1]}"}


def _post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def _members(household) -> int:
    return Membership.objects.filter(household=household, left_on__isnull=True).count()


@pytest.mark.parametrize("person_id", [HUGE, JUST_OVER, "0"])
def test_api_member_leave_with_a_huge_person_id(client, bearer, household, person_id):
    response = _post(
        client, f"/api/v1/registry/households/{household.pk}/members/{person_id}/leave", {"reason": "迁出"}, bearer
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_request" and "person_id" in response.json()["errors"][0]["field"]
    assert _members(household) == 2


def test_api_huge_household_id_in_the_path(client, bearer):
    response = client.get(f"/api/v1/registry/households/{HUGE}", **bearer)
    assert response.status_code == 422 and response.json()["message"] == "请求数据格式不正确"


def test_api_case_with_a_huge_applicant_id(client, bearer, household):
    body = {"household_id": household.pk, "service_code": "dibao", "applicant_id": int(HUGE), "channel": "window"}
    response = _post(client, "/api/v1/cases", body, bearer)
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["applicant_id"]
    from minzheng.cases.models import Case

    assert not Case.objects.filter(household=household).exists()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("person_id", [HUGE, JUST_OVER, "-1"])
def test_ui_member_leave_with_a_huge_person_id(clerk_client, household, person_id):
    response = clerk_client.post(
        reverse("registry:member_leave", args=[household.pk]), {"person_id": person_id, "reason": "迁出"}, follow=True
    )
    assert response.status_code == 200
    assert any("迁出人员不存在" in m for m in _messages(response)), _messages(response)
    assert _members(household) == 2


def test_ui_head_change_with_a_huge_person_id(clerk_client, household):
    head = household.head_id
    response = clerk_client.post(
        reverse("registry:head_change", args=[household.pk]),
        {"person_id": HUGE, "old_head_relationship": "10"},
        follow=True,
    )
    assert response.status_code == 200
    assert any("新户主不存在" in m for m in _messages(response)), _messages(response)
    assert Household.objects.get(pk=household.pk).head_id == head


@pytest.mark.parametrize("pk", [HUGE, JUST_OVER, "0"])
def test_huge_ids_in_page_addresses_are_404(clerk_client, pk):
    for url in (f"/registry/households/{pk}/", f"/registry/persons/{pk}/", f"/cases/{pk}/", f"/checks/runs/{pk}/"):
        assert clerk_client.get(url).status_code == 404, url


def test_converter_bounds():
    converter = ids.IdConverter()
    assert converter.to_python(str(ids.MAX_ID)) == ids.MAX_ID
    for bad in (JUST_OVER, "0"):
        with pytest.raises(ValueError):
            converter.to_python(bad)
    assert ids.parse(HUGE) is None and ids.parse("12") == 12 and ids.parse("x") is None and ids.parse(None) is None


def test_every_page_address_uses_the_bounded_converter():
    from django.urls import get_resolver

    def walk(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns)
            else:
                yield p

    routes = [str(p.pattern) for p in walk(get_resolver().url_patterns)]
    assert not [r for r in routes if "<int:" in r]
    assert any("<id:pk>" in r for r in routes)


def test_not_found_pages_speak_to_people(client, clerk, make_user):
    """A 404 says the service's Chinese message or the general one, never 「Resolver404」 / 「Http404」 (a mistyped
    address, an id beyond any record, a personal-data page the admin no longer lists)."""
    admin = make_user("admin", username="admin404", is_staff=True, is_superuser=True)
    for user, url in ((clerk, "/no-such-page/"), (clerk, f"/cases/{HUGE}/"), (admin, "/admin/registry/household/")):
        client.force_login(user)
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 404 and 'data-testid="not-found"' in page, url
        assert "Resolver404" not in page and "Http404" not in page, url
        assert "页面或记录不存在" in page, url
    client.force_login(clerk)  # a record that is not there (or not the clerk's) keeps the service's own message
    assert "记录不存在或不在您的管辖范围内" in client.get("/cases/999999/").content.decode()


def test_an_unknown_api_address_answers_json(client, clerk):
    client.force_login(clerk)
    response = client.get("/api/v1/no-such/")
    assert response.status_code == 404 and response.json() == {"code": "not_found", "message": "接口或记录不存在"}

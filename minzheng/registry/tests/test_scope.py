"""Every role against records outside its region, through every page and API endpoint (ARCHITECTURE.md principle 4).

Out-of-scope records must look exactly like missing ones: 404, no data, no audit entry of a view.
"""

import json

import pytest
from django.urls import reverse

from minzheng.accounts.models import ApiToken
from minzheng.conftest import (
    OTHER_CITY_VILLAGE,
    OTHER_COUNTY_VILLAGE,
    OTHER_VILLAGE,
    ROLE_REGIONS,
    ROOT,
    SIBLING_VILLAGE,
    make_id_number,
)
from minzheng.core.models import AuditEntry
from minzheng.registry import services

# For each role, the village just outside its region (plus, for everyone, a village in another city).
JUST_OUTSIDE = {
    "clerk": OTHER_VILLAGE,
    "assistant": SIBLING_VILLAGE,
    "township_reviewer": OTHER_VILLAGE,
    "county_approver": OTHER_COUNTY_VILLAGE,
    "leader": OTHER_CITY_VILLAGE,
    "admin": OTHER_CITY_VILLAGE,
    "auditor": OTHER_CITY_VILLAGE,
}
ROLES = list(ROLE_REGIONS)


@pytest.fixture
def outsider_household(make_user, household_data):
    national_admin = make_user("admin", ROOT, username="national")
    counter = iter(range(101, 999, 2))

    def create(village: str):
        return services.create_household(
            national_admin,
            household_data(
                village,
                [
                    ("02", "外区户主", make_id_number(seq=next(counter))),
                    ("12", "外区配偶", make_id_number(birth="19850505", seq=next(counter) + 1)),
                ],
            ),
        )

    return create


def _page_requests(household, person_id):
    hid = household.pk
    return [
        ("get", reverse("registry:household", args=[hid]), None),
        ("get", reverse("registry:members", args=[hid]), None),
        ("get", reverse("registry:household_edit", args=[hid]), None),
        ("post", reverse("registry:household_edit", args=[hid]), {"region_code": household.region_id, "address": "x"}),
        (
            "post",
            reverse("registry:member_add", args=[hid]),
            {"add-relationship": "20", "add-name": "甲", "add-id_number": make_id_number(seq=7)},
        ),
        ("post", reverse("registry:member_leave", args=[hid]), {"person_id": person_id, "reason": "迁出"}),
        ("post", reverse("registry:head_change", args=[hid]), {"person_id": person_id, "old_head_relationship": "11"}),
        (
            "post",
            reverse("registry:member_move_in", args=[hid]),
            {"in-id_number": make_id_number(seq=9), "in-relationship": "20", "in-reason": "x"},
        ),
        ("get", reverse("registry:person", args=[person_id]), None),
        ("get", reverse("registry:person_edit", args=[person_id]), None),
        ("post", reverse("registry:person_edit", args=[person_id]), {"name": "改", "id_number": make_id_number(seq=5)}),
    ]


def _api_requests(household, person_id):
    hid = household.pk
    base = "/api/v1/registry"
    return [
        ("get", f"{base}/households/{hid}", None),
        ("put", f"{base}/households/{hid}", {"region_code": household.region_id, "address": "x"}),
        (
            "post",
            f"{base}/households/{hid}/members",
            {"relationship": "20", "person": {"name": "甲", "id_number": make_id_number(seq=7)}},
        ),
        ("post", f"{base}/households/{hid}/members/{person_id}/leave", {"reason": "迁出"}),
        ("get", f"{base}/persons/{person_id}", None),
        ("put", f"{base}/persons/{person_id}", {"name": "改", "id_number": make_id_number(seq=5)}),
        ("post", f"{base}/persons/{person_id}/move", {"to_household_id": hid, "relationship": "20", "reason": "x"}),
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", ["just_outside", "other_city"])
def test_pages_refuse_out_of_scope_records(client, make_user, outsider_household, role, where):
    household = outsider_household(JUST_OUTSIDE[role] if where == "just_outside" else OTHER_CITY_VILLAGE)
    member = household.current_memberships().exclude(person_id=household.head_id).first().person_id
    client.force_login(make_user(role))
    before = household.version
    for method, url, data in _page_requests(household, member):
        response = getattr(client, method)(url, data or {})
        assert response.status_code in (403, 404), (role, method, url, response.status_code)
    household.refresh_from_db()
    assert household.version == before and household.current_memberships().count() == 2
    assert not AuditEntry.objects.filter(action="view", object_id__in=[str(household.pk), str(member)]).exists()


@pytest.mark.parametrize("role", ROLES)
def test_api_refuses_out_of_scope_records(client, make_user, outsider_household, role):
    household = outsider_household(JUST_OUTSIDE[role])
    member = household.current_memberships().exclude(person_id=household.head_id).first().person_id
    _token, raw = ApiToken.issue(make_user(role), "测试")
    for method, url, data in _api_requests(household, member):
        response = getattr(client, method)(
            url, json.dumps(data) if data else None, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert response.status_code in (403, 404), (role, method, url, response.status_code, response.content)
        assert "message" in response.json()
    household.refresh_from_db()
    assert household.current_memberships().count() == 2


@pytest.mark.parametrize("role", ROLES)
def test_search_finds_nothing_outside_scope(client, make_user, outsider_household, role):
    household = outsider_household(JUST_OUTSIDE[role])
    head = household.head
    user = make_user(role)
    client.force_login(user)
    for query in (head.name, head.id_number, household.number):
        response = client.get(reverse("registry:search"), {"q": query})
        assert response.status_code in (200, 403)
        assert reverse("registry:household", args=[household.pk]) not in response.content.decode()
        _token, raw = ApiToken.issue(user, "t")
        api = client.get("/api/v1/registry/search", {"q": query}, HTTP_AUTHORIZATION=f"Bearer {raw}")
        if api.status_code == 200:
            assert api.json()["households"] == [] and api.json()["persons"] == []
        else:
            assert api.status_code == 403  # auditors do not read personal records at all


def test_in_scope_records_are_visible_to_each_role_above_them(client, make_user, outsider_household):
    """The same machinery does let every role see a household inside its region."""
    from minzheng.conftest import VILLAGE

    household = outsider_household(VILLAGE)
    for role in ("clerk", "assistant", "township_reviewer", "county_approver", "leader", "admin"):
        client.force_login(make_user(role))
        assert client.get(reverse("registry:household", args=[household.pk])).status_code == 200, role
    client.force_login(make_user("auditor"))
    assert client.get(reverse("registry:household", args=[household.pk])).status_code == 403

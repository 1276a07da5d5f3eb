"""Registering a person whose identity number is already registered (issue 18 §4): no oracle of where any number
lives. Out of the user's scope the answer says only that the person is registered elsewhere and how to bring them
here (迁入), and the attempt is audited; within scope it points to the existing record, as before."""

import json

import pytest
from django.urls import reverse

from minzheng.accounts.services import issue_token
from minzheng.conftest import ROOT, VILLAGE, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.regions.importer import import_regions
from minzheng.registry import services
from minzheng.registry.models import Household

pytestmark = pytest.mark.django_db

BAODING_VILLAGE = "130602001002"  # 河北省保定市竞秀区…天翔社区居民委员会
NUMBER = make_id_number(area="130602", birth="19700707", seq=41)
PLACES = ("保定", "竞秀", "天翔", "外地户主")  # where the number lives, and whose it is
REVEALING = (*PLACES, BAODING_VILLAGE)


@pytest.fixture
def registered_in_baoding(make_user, household_data):
    import_regions("130602")
    national = make_user("admin", ROOT, username="national")
    return services.create_household(national, household_data(BAODING_VILLAGE, [("02", "外地户主", NUMBER)]))


def form(number: str) -> dict:
    return {
        "region_code": VILLAGE,
        "address": "南壕堑村8号",
        "area_type": "",
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "1",
        "m-MAX_NUM_FORMS": "30",
        "m-0-relationship": "02",
        "m-0-name": "张三",
        "m-0-id_number": number,
    }


def api_payload(number: str) -> dict:
    return {"region_code": VILLAGE, "address": "南壕堑村9号", "members": [{"relationship": "02", "person": {"name": "张三", "id_number": number}}]}  # fmt: skip


def assert_says_only_elsewhere(message: str) -> None:
    assert "已在其他地区登记" in message and "迁入" in message, message
    assert not any(word in message for word in REVEALING), message


def test_the_page_says_only_that_the_number_is_registered_elsewhere(clerk, clerk_client, registered_in_baoding):
    response = clerk_client.post(reverse("registry:household_create"), form(NUMBER))
    content = response.content.decode()
    assert response.status_code == 200
    assert_says_only_elsewhere(content.split('id="id_m-0-id_number"')[1][:2000])
    assert not any(word in content for word in PLACES)
    assert Household.objects.count() == 1  # nothing registered
    entry = AuditEntry.objects.get(action="denied")
    assert (entry.user, entry.region_code, entry.object_type) == (clerk, clerk.region_id, "person")
    assert entry.object_id == str(registered_in_baoding.head_id) and entry.detail["reason"] == "registered_elsewhere"
    assert entry.detail["target_region"] == BAODING_VILLAGE and NUMBER not in json.dumps(entry.detail)


def test_the_api_answers_409_without_the_place_and_audits_it(client, clerk, registered_in_baoding):
    token = issue_token(clerk, "接口测试")[1]
    response = client.post(
        "/api/v1/registry/households",
        json.dumps(api_payload(NUMBER)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    body = response.json()
    assert response.status_code == 409 and body["code"] == "duplicate_person" and body["field"] == "id_number"
    assert_says_only_elsewhere(body["message"])
    assert not any(word in json.dumps(body, ensure_ascii=False) for word in REVEALING)
    assert set(body) == {"code", "message", "field", "member_index"}
    entry = AuditEntry.objects.get(action="denied")
    assert entry.user == clerk and entry.detail["path"] == "/api/v1/registry/households"


def test_editing_a_person_to_a_number_registered_elsewhere_says_the_same(
    clerk, clerk_client, household_data, registered_in_baoding
):
    own = services.create_household(clerk, household_data(members=[("02", "本地户主", make_id_number(seq=13))]))
    response = clerk_client.post(
        reverse("registry:person_edit", args=[own.head_id]), {"name": "本地户主", "id_number": NUMBER}
    )
    content = response.content.decode()
    assert "已在其他地区登记" in content and not any(word in content for word in PLACES)
    assert AuditEntry.objects.filter(action="denied", detail__reason="registered_elsewhere").count() == 1


def test_within_scope_the_answer_still_points_to_the_record(clerk, clerk_client, client, household_data):
    number = make_id_number(seq=15)
    existing = services.create_household(clerk, household_data(members=[("02", "本地户主", number)]))
    page = clerk_client.post(reverse("registry:household_create"), form(number)).content.decode()
    assert "已登记：本地户主" in page and reverse("registry:person", args=[existing.head_id]) in page
    token = issue_token(clerk, "接口测试")[1]
    response = client.post(
        "/api/v1/registry/households",
        json.dumps(api_payload(number)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 409 and response.json()["existing_id"] == existing.head_id
    assert "已登记：本地户主" in response.json()["message"]
    assert not AuditEntry.objects.filter(action="denied").exists()

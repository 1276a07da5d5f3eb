import json

import pytest
from django.test import Client

from minzheng.accounts.models import ApiToken
from minzheng.accounts.services import issue_token, revoke_token
from minzheng.conftest import VILLAGE, make_id_number
from minzheng.registry.models import Household

HEAD = make_id_number(seq=11)
PAYLOAD = {
    "region_code": VILLAGE,
    "address": "南壕堑村9号",
    "members": [
        {"relationship": "02", "person": {"name": "张三", "id_number": HEAD}},
        {"relationship": "12", "person": {"name": "李四", "id_number": make_id_number(birth="19820202", seq=22)}},
    ],
}


@pytest.fixture
def token(clerk):
    return issue_token(clerk, "接口测试")[1]


def call(client, method, url, body=None, token=None, **extra):
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return getattr(client, method)(
        url, json.dumps(body) if body is not None else None, content_type="application/json", **extra
    )


def test_create_and_read_household(client, token):
    created = call(client, "post", "/api/v1/registry/households", PAYLOAD, token)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"].startswith("H") and len(body["members"]) == 2
    assert body["members"][0]["person"]["id_number_masked"].startswith("1307")
    assert HEAD not in created.content.decode()
    person = call(client, "get", f"/api/v1/registry/persons/{body['head_id']}", token=token).json()
    assert person["id_number"] == HEAD and person["household_id"] == body["id"]


def test_errors_are_chinese_json_with_codes(client, token):
    bad = {
        **PAYLOAD,
        "members": [
            {
                "relationship": "02",
                "person": {"name": "张三", "id_number": HEAD[:-1] + "0" if HEAD[-1] != "0" else HEAD[:-1] + "1"},
            }
        ],
    }
    response = call(client, "post", "/api/v1/registry/households", bad, token)
    assert response.status_code == 400
    assert response.json()["code"] == "id_checksum" and "校验位" in response.json()["message"]
    assert response.json()["member_index"] == 0
    malformed = call(client, "post", "/api/v1/registry/households", {"address": 1}, token)
    assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_request"
    call(client, "post", "/api/v1/registry/households", PAYLOAD, token)
    duplicate = call(client, "post", "/api/v1/registry/households", PAYLOAD, token)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_person"
    assert Household.objects.count() == 1


def test_unauthenticated_and_revoked_tokens(client, clerk, token):
    assert call(client, "get", "/api/v1/accounts/me").status_code == 401
    assert call(client, "get", "/api/v1/accounts/me", token="mz_not-a-token").status_code == 401
    me = call(client, "get", "/api/v1/accounts/me", token=token)
    assert me.status_code == 200 and me.json()["region_code"] == clerk.region_id
    revoke_token(clerk, ApiToken.objects.get().pk)
    assert call(client, "get", "/api/v1/accounts/me", token=token).status_code == 401


def test_token_stored_only_as_hash(clerk, token):
    stored = ApiToken.objects.get()
    assert token not in (stored.key_hash, stored.hint) and stored.hint == token[-6:]


def test_session_api_calls_need_csrf(clerk):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clerk)
    assert browser.get("/api/v1/accounts/me").status_code == 200
    refused = browser.post("/api/v1/registry/households", json.dumps(PAYLOAD), content_type="application/json")
    assert refused.status_code == 403
    assert Household.objects.count() == 0


def test_auditor_cannot_read_people_through_the_api(client, make_user):
    _token, raw = ApiToken.issue(make_user("auditor"), "t")
    response = call(client, "get", "/api/v1/registry/search?q=张", token=raw)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_openapi_docs_available_offline(client, clerk_client):
    assert clerk_client.get("/api/v1/openapi.json").status_code == 200


def test_malformed_requests_get_chinese_field_messages(client, token):
    response = call(client, "post", "/api/v1/registry/households", {"address": 1, "members": "x"}, token)
    body = response.json()
    assert response.status_code == 422 and body["message"] == "请求数据格式不正确"
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["region_code"] == "region_code必须填写"
    assert messages["address"] == "address应为文本" and messages["members"] == "members应为列表"
    assert Household.objects.count() == 0

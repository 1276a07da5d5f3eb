"""GET /api/v1/regions/{code} and /api/v1/regions/{code}/children."""

import pytest

from minzheng.accounts.models import ApiToken
from minzheng.conftest import CITY, COUNTY, TOWNSHIP, URBAN_VILLAGE, VILLAGE
from minzheng.regions import codes
from minzheng.regions.models import Region

BASE = "/api/v1/regions"


def test_anonymous_gets_401(client, db):
    for url in (f"{BASE}/1307", f"{BASE}/1307/children"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"


def test_children_of_a_city(clerk_client):
    response = clerk_client.get(f"{BASE}/1307/children")
    assert response.status_code == 200
    data = response.json()
    assert len(data) == 19
    assert [d["code"] for d in data] == sorted(d["code"] for d in data)
    zhangbei = next(d for d in data if d["code"] == COUNTY)
    assert zhangbei == {
        "code": COUNTY,
        "official_code": "130722",
        "name": "张北县",
        "level": codes.COUNTY,
        "level_name": "县级",
        "urban_rural": "",
        "has_children": True,
    }


def test_children_of_a_township_carry_urban_rural(clerk_client):
    data = clerk_client.get(f"{BASE}/130722100/children").json()
    by_code = {d["code"]: d for d in data}
    assert len(data) == Region.objects.filter(parent_id=TOWNSHIP).count()
    assert by_code[VILLAGE]["urban_rural"] == "rural"
    assert by_code[VILLAGE]["official_code"] == VILLAGE
    assert by_code[URBAN_VILLAGE]["urban_rural"] == "urban"
    assert all(d["level"] == codes.VILLAGE and d["has_children"] is False for d in data)


def test_children_of_a_village_is_empty(clerk_client):
    response = clerk_client.get(f"{BASE}/{VILLAGE}/children")
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("code", ["130722100", "130722100000"])
def test_region_with_ancestors(clerk_client, code):
    response = clerk_client.get(f"{BASE}/{code}")
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == TOWNSHIP
    assert data["official_code"] == "130722100"
    assert (data["name"], data["level"], data["level_name"], data["has_children"]) == ("张北镇", 4, "乡级", True)
    assert [(a["code"], a["name"]) for a in data["ancestors"]] == [
        ("130000000000", "河北省"),
        (CITY, "张家口市"),
        (COUNTY, "张北县"),
    ]


def test_village_and_the_nation(clerk_client):
    village = clerk_client.get(f"{BASE}/{VILLAGE}").json()
    assert (village["urban_rural"], village["has_children"], len(village["ancestors"])) == ("rural", False, 4)
    nation = clerk_client.get(f"{BASE}/{codes.ROOT_CODE}").json()
    assert (nation["name"], nation["level"], nation["ancestors"]) == ("中华人民共和国", codes.COUNTRY, [])


@pytest.mark.parametrize("bad", ["13a7", "130", "1307221", "1307221000001", "１３０７"])
def test_malformed_code_is_400(clerk_client, bad):
    for url in (f"{BASE}/{bad}", f"{BASE}/{bad}/children"):
        response = clerk_client.get(url)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid_region_code"
        assert f"区划代码“{bad}”格式错误" in body["message"]


@pytest.mark.parametrize("unknown", ["99", "1399", "130722999"])
def test_unknown_code_is_404(clerk_client, unknown):
    for url in (f"{BASE}/{unknown}", f"{BASE}/{unknown}/children"):
        response = clerk_client.get(url)
        assert response.status_code == 404
        assert response.json() == {"code": "region_not_found", "message": f"区划代码“{unknown}”不存在"}


def test_bearer_token(client, make_user):
    _token, raw = ApiToken.issue(make_user("clerk"), "测试")
    response = client.get(f"{BASE}/1307", headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json()["name"] == "张家口市"
    assert client.get(f"{BASE}/1307", headers={"authorization": "Bearer mz_wrong"}).status_code == 401

"""The API: create, run, read scenarios and list the affected households, under scope and audit."""

import json

import pytest

from minzheng.accounts.services import issue_token
from minzheng.checks.tests.test_views import sync_tasks  # noqa: F401  (fixture used by name)
from minzheng.core.models import AuditEntry
from minzheng.simulation.models import Scenario

from .conftest import FROM

pytestmark = pytest.mark.django_db


def call(client, method, url, body=None, token=None):
    return getattr(client, method)(
        url,
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_create_run_read_and_list_affected(client, leader, make_user, population, sync_tasks):  # noqa: F811
    token = issue_token(leader, "接口测试")[1]
    body = {
        "name": "提标",
        "region": "1307",
        "effective_from": FROM.isoformat(),
        "changes": ["dibao.standard_urban=+8%", "dibao.standard_rural=+15%"],
    }
    created = call(client, "post", "/api/v1/simulation/scenarios", body, token)
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    assert created.json()["descriptions"] == ["城市低保标准（元/月）：+8%", "农村低保标准（元/月）：+15%"]
    run = call(client, "post", f"/api/v1/simulation/scenarios/{sid}/runs", token=token)
    assert run.status_code == 202
    read = call(client, "get", f"/api/v1/simulation/scenarios/{sid}", token=token).json()
    assert read["run"]["status"] == "complete" and read["run"]["counted"] == 6
    dibao = next(t for t in read["totals"] if t["benefit"] == "dibao")
    assert float(dibao["cost_diff"]) > 0 and dibao["new_households"] >= 2
    assert {c["name"] for c in read["counties"]} == {"张北县", "桥东区"}
    affected = call(client, "get", f"/api/v1/simulation/scenarios/{sid}/affected", token=token).json()
    assert affected and all("*" in a["head_id_number"] for a in affected)
    assert AuditEntry.objects.filter(action="view", object_type="scenario", object_id=str(sid)).exists()
    # Errors in Chinese, nothing saved.
    bad = call(client, "post", "/api/v1/simulation/scenarios", {**body, "changes": ["dibao.x=1"]}, token)
    assert bad.status_code == 400 and "未知的政策参数" in bad.json()["message"]
    assert Scenario.objects.count() == 1
    # Another county's leader reads the city's scenario for that county only; a clerk: forbidden.
    other = issue_token(make_user("leader", region="130702000000"), "接口测试")[1]
    read = call(client, "get", f"/api/v1/simulation/scenarios/{sid}", token=other).json()
    assert {c["name"] for c in read["counties"]} == {"桥东区"}
    assert call(client, "get", "/api/v1/simulation/scenarios/999999", token=other).status_code == 404
    clerk = issue_token(make_user("clerk"), "接口测试")[1]
    assert call(client, "get", "/api/v1/simulation/scenarios", token=clerk).status_code == 403

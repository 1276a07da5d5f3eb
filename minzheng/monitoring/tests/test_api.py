"""The monitoring API: push a signal through the departmental data endpoint, sweep, list, open, visit, close."""

import datetime
import json

import pytest
from django.utils import timezone

from minzheng.accounts.services import issue_token
from minzheng.core.models import AuditEntry
from minzheng.monitoring import services
from minzheng.monitoring.models import Alert

from .conftest import AS_OF, ids


def call(client, method, url, body=None, token=None):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(
        url, json.dumps(body) if body is not None else None, content_type="application/json", **extra
    )


@pytest.fixture
def tokens(county_officer, assistant, make_user):
    return {
        "county": issue_token(county_officer, "接口测试")[1],
        "assistant": issue_token(assistant, "接口测试")[1],
        "other": issue_token(make_user("assistant", region="130722101202"), "接口测试")[1],
        "auditor": issue_token(make_user("auditor"), "接口测试")[1],
    }


def test_signal_push_sweep_and_follow_up(client, tokens, make_household, monitor):
    h = make_household()
    monitor(h, "dibao")
    dead = ids(h)[1]
    pushed = call(
        client,
        "post",
        "/api/v1/checks/sources/civil_status/rows",
        {
            "region": "130722",
            "period": "2026-10-31",
            "rows": [{"id_number": dead, "event": "death", "event_on": "2026-10-20"}],
        },
        tokens["county"],
    )
    assert pushed.status_code == 201, pushed.content
    started = call(
        client, "post", "/api/v1/monitoring/sweeps", {"region": "130722", "as_of": str(AS_OF)}, tokens["county"]
    )
    assert started.status_code == 202, started.content
    services.run_sweep(started.json()["id"])  # the worker's part
    progress = call(client, "get", f"/api/v1/monitoring/sweeps/{started.json()['id']}", token=tokens["assistant"])
    assert progress.json()["status"] == "complete" and progress.json()["stats"]["warnings"] == 1

    listed = call(client, "get", "/api/v1/monitoring/alerts?status=open", token=tokens["assistant"]).json()
    assert [a["rule"] for a in listed] == ["death_member"]
    assert dead not in json.dumps(listed, ensure_ascii=False)  # masked
    assert call(client, "get", "/api/v1/monitoring/alerts", token=tokens["other"]).json() == []

    alert_id = listed[0]["id"]
    detail = call(client, "get", f"/api/v1/monitoring/alerts/{alert_id}", token=tokens["assistant"]).json()
    assert detail["suggested_outcome"] == "stop" and detail["action_due_on"] == "2027-01-20"
    assert AuditEntry.objects.filter(object_type="warning", object_id=str(alert_id), action="view").exists()
    assert call(client, "get", f"/api/v1/monitoring/alerts/{alert_id}", token=tokens["other"]).status_code == 404

    visit = call(
        client,
        "post",
        f"/api/v1/monitoring/alerts/{alert_id}/visits",
        {"visited_on": str(timezone.localdate()), "finding": "confirmed", "notes": "家属确认其已去世，家庭现两人"},
        tokens["assistant"],
    )
    assert visit.status_code == 201, visit.content
    closed = call(
        client,
        "post",
        f"/api/v1/monitoring/alerts/{alert_id}/close",
        {"outcome": "stop", "note": "发起动态复核", "action": "case", "service_code": "dibao_review"},
        tokens["assistant"],
    )
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert body["status"] == "closed" and body["case_number"].startswith("MZ")
    assert Alert.objects.get(pk=alert_id).case.state == "accepted"


def test_errors_are_chinese_and_change_nothing(client, tokens, make_household):
    future = call(
        client, "post", "/api/v1/monitoring/sweeps", {"region": "130722", "as_of": "2999-01-01"}, tokens["county"]
    )
    assert future.status_code == 400 and "晚于今天" in future.json()["message"]
    unknown = call(client, "post", "/api/v1/monitoring/sweeps", {"region": "139999"}, tokens["county"])
    assert unknown.status_code == 400 and "不存在" in unknown.json()["message"]
    outside = call(client, "post", "/api/v1/monitoring/sweeps", {"region": "130702"}, tokens["county"])
    assert outside.status_code == 403
    refused = call(client, "post", "/api/v1/monitoring/sweeps", {"region": "130722"}, tokens["assistant"])
    assert refused.status_code == 403
    assert call(client, "get", "/api/v1/monitoring/rules", token=tokens["auditor"]).status_code == 403
    bad_rule = call(client, "get", "/api/v1/monitoring/alerts?rule=nope", token=tokens["assistant"])
    assert bad_rule.status_code == 400 and "未知的预警规则" in bad_rule.json()["message"]
    from minzheng.monitoring.models import Sweep

    assert not Sweep.objects.exists()


def test_rules_and_register(client, tokens, make_household, monitor):
    rules = call(client, "get", "/api/v1/monitoring/rules", token=tokens["assistant"]).json()
    assert {"code": "death_member", "name": "监测家庭成员死亡", "feed": "civil_status"} in rules
    h = make_household(2)
    monitor(h, "anti_poverty")
    entries = call(client, "get", "/api/v1/monitoring/register?category=anti_poverty", token=tokens["assistant"]).json()
    assert len(entries) == 2 and all("*" in e["person_id_number"] for e in entries)
    assert call(client, "get", "/api/v1/monitoring/register", token=tokens["other"]).json() == []


def test_api_lists_write_the_same_audit_entries_as_the_pages(
    client, county_officer, make_household, monitor, signal, sweep
):
    """The warning list and the register return masked personal data: through the API as through the pages, each
    read is audited with the same entry, and an invalid filter is refused in Chinese."""
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=AS_OF - datetime.timedelta(days=3))
    sweep()
    token = issue_token(county_officer, "测试")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = client.get("/api/v1/monitoring/alerts", **headers)
    assert listed.status_code == 200 and len(listed.json()) == 1
    register = client.get("/api/v1/monitoring/register", **headers)
    assert register.status_code == 200 and register.json()
    entries = list(AuditEntry.objects.filter(object_type__in=("warning_list", "monitored_register")).order_by("seq"))
    assert [(e.object_type, e.username, e.detail.get("api")) for e in entries] == [
        ("warning_list", county_officer.username, True),
        ("monitored_register", county_officer.username, True),
    ]
    bad = client.get("/api/v1/monitoring/alerts?status=later", **headers)
    assert bad.status_code == 400 and "状态筛选条件无效" in bad.json()["message"]
    outside = client.get("/api/v1/monitoring/register?region=1306", **headers)
    assert outside.status_code == 400 and "不在您的管辖范围内" in outside.json()["message"]

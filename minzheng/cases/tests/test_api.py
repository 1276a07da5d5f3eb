"""The cases API end to end: bearer tokens of each officer, real dates (the API takes no `today`)."""

import datetime
import hashlib
import json

import pytest
from django.test import Client
from django.utils import timezone

from minzheng.accounts.services import issue_token
from minzheng.cases import procedure, services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, CaseEvent, CaseMaterial
from minzheng.cases.tests.conftest import ALL_DEMANDED, record_paper_check
from minzheng.conftest import COUNTY, OTHER_TOWNSHIP, OTHER_VILLAGE, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.policy.models import Parameter
from minzheng.registry import services as registry

D = datetime.date
SHA = hashlib.sha256(b"income statement").hexdigest()
UPLOAD = {"file_name": "收入申报表.pdf", "file_size": 123_456, "sha256": SHA, "content_type": "application/pdf"}


@pytest.fixture
def tokens(officers):
    return {role: issue_token(user, "接口测试")[1] for role, user in officers.items()}


def call(client, method, url, body=None, token=None, **extra):
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data, content_type="application/json", **extra)


def act(client, token, case_id, action, version=None, **data):
    body = {"data": data} if version is None else {"version": version, "data": data}
    return call(client, "post", f"/api/v1/cases/{case_id}/actions/{action}", body, token)


def application(household, received=None, **extra) -> dict:
    return {
        "household_id": household.pk,
        "service_code": extra.pop("service_code", "dibao"),
        "applicant_id": household.head_id,
        "channel": extra.pop("channel", "window"),
        "received": ALL_DEMANDED if received is None else received,
        "authorisation_signed": True,
        "pledge_signed": True,
        **extra,
    }


def audit_updates(case) -> int:
    return AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="update").count()


# ---------------------------------------------------------------- create


def test_create_complete_application_is_accepted(client, tokens, officers, household):
    response = call(client, "post", "/api/v1/cases", application(household, note="窗口受理"), tokens["clerk"])
    assert response.status_code == 201, response.content
    body = response.json()
    today = timezone.localdate()
    assert body["state"] == wf.ACCEPTED and body["state_label"] == "已受理，待调查"
    assert body["number"].startswith(f"MZ{today:%Y}") and body["version"] == 1
    assert body["service"] == {"code": "dibao", "name": "最低生活保障"}
    assert body["household"] == {"id": household.pk, "size": 3}
    assert body["applicant"]["name_masked"] == "王*山"
    assert body["applicant"]["id_number_masked"].startswith("1307") and "*" in body["applicant"]["id_number_masked"]
    assert household.head.id_number not in response.content.decode()
    assert body["accepted_on"] == today.isoformat() and body["current_step"] == "启动入户调查"
    assert [e["action"] for e in body["events"]] == ["submit", "accept"]
    assert body["events"][0]["note"] == "窗口受理" and body["events"][0]["actor"] == officers["clerk"].username
    assert {d["code"] for d in body["deadlines"]} == {"survey", "total"}
    assert "start_investigation" in {a["code"] for a in body["actions"]}
    assert body["missing_materials"] == []
    shared = next(m for m in body["materials"] if m["code"] == "id_documents")
    assert shared["received"] and shared["shared_from"].startswith("公安")


def test_create_incomplete_application_is_pending(client, tokens, household):
    response = call(
        client, "post", "/api/v1/cases", application(household, ["application"], pledge_signed=False), tokens["clerk"]
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == wf.PENDING and body["accepted_on"] is None and body["current_due"] is None
    assert body["missing_materials"] == ["家庭经济状况如实申报承诺书", "家庭收入及财产情况申报表"]
    assert body["deadlines"] == []
    assert {"notify_missing", "complete_materials", "accept"} <= {a["code"] for a in body["actions"]}


def test_create_errors(client, tokens, household):
    bad_channel = call(client, "post", "/api/v1/cases", application(household, channel="fax"), tokens["clerk"])
    assert bad_channel.status_code == 400 and bad_channel.json()["code"] == "invalid_channel"
    assert bad_channel.json()["message"] == "请选择申请渠道"
    unknown = call(client, "post", "/api/v1/cases", application(household, ["nonsense"]), tokens["clerk"])
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_material"
    malformed = call(client, "post", "/api/v1/cases", {"household_id": "x"}, tokens["clerk"])
    assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_request"
    assert call(client, "post", "/api/v1/cases", application(household), tokens["clerk"]).status_code == 201
    duplicate = call(client, "post", "/api/v1/cases", application(household), tokens["clerk"])
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_case"
    assert "请勿重复申请" in duplicate.json()["message"] and duplicate.json()["existing_id"]
    assert Case.objects.count() == 1


# ---------------------------------------------------------------- material uploads


def test_upload_material_metadata_marks_it_received(client, tokens, apply, officers):
    case = apply(received=["application", "authorisation", "pledge"])
    assert case.state == wf.PENDING
    url = f"/api/v1/cases/{case.pk}/materials/income_statement"
    response = call(client, "put", url, {**UPLOAD, "sha256": SHA.upper()}, tokens["clerk"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["received"] and body["sha256"] == SHA and body["file_size"] == 123_456
    assert body["received_on"] == timezone.localdate().isoformat()
    row = CaseMaterial.objects.get(case=case, material__code="income_statement")
    assert (row.received, row.file_name, row.content_type) == (True, "收入申报表.pdf", "application/pdf")
    entry = AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="update").get()
    assert entry.detail["upload"] == "income_statement" and entry.detail["sha256"] == SHA
    # Nothing is missing any more: the clerk can accept.
    detail = call(client, "get", f"/api/v1/cases/{case.pk}", token=tokens["clerk"]).json()
    assert detail["missing_materials"] == []
    accepted = act(client, tokens["clerk"], case.pk, "accept", version=detail["version"])
    assert accepted.status_code == 200 and accepted.json()["state"] == wf.ACCEPTED
    # A new upload replaces the metadata but keeps the date the material was first received.
    again = call(
        client, "put", url, {**UPLOAD, "file_name": "扫描件.png", "content_type": "image/png"}, tokens["clerk"]
    )
    assert again.status_code == 200 and again.json()["file_name"] == "扫描件.png"


@pytest.mark.parametrize(
    ("material", "change", "code", "message"),
    [
        ("income_statement", {"sha256": "abc123"}, "invalid_sha256", "SHA-256"),
        ("income_statement", {"sha256": "g" * 64}, "invalid_sha256", "SHA-256"),
        ("income_statement", {"file_size": -5}, "invalid_file_size", "大于0"),
        ("income_statement", {"file_size": 0}, "invalid_file_size", "大于0"),
        ("income_statement", {"file_size": 50 * 1024 * 1024 + 1}, "invalid_file_size", "50 MB"),
        ("income_statement", {"content_type": "image/gif", "file_name": "a.gif"}, "invalid_content_type", "PDF"),
        ("income_statement", {"content_type": "application/x-msdownload"}, "invalid_content_type", "PDF"),
        ("income_statement", {"file_name": "收入.exe"}, "invalid_content_type", "扩展名"),
        ("income_statement", {"file_name": "../etc/passwd.pdf"}, "invalid_file_name", "路径"),
        ("income_statement", {"file_name": "  "}, "invalid_file_name", "文件名"),
        ("id_documents", {}, "material_shared", "公安（人口信息共享）获取，无需提交"),
        ("no_such_material", {}, "unknown_material", "材料编码不正确"),
    ],
)
def test_invalid_upload_refused_and_nothing_changes(client, tokens, apply, material, change, code, message):
    case = apply(received=["application", "authorisation", "pledge"])
    before = list(CaseMaterial.objects.filter(case=case).order_by("pk").values())
    response = call(
        client, "put", f"/api/v1/cases/{case.pk}/materials/{material}", {**UPLOAD, **change}, tokens["clerk"]
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and message in response.json()["message"]
    assert list(CaseMaterial.objects.filter(case=case).order_by("pk").values()) == before
    assert audit_updates(case) == 0


def test_upload_to_a_closed_case_refused(client, tokens, apply, officers):
    case = apply(received=[])
    services.act(officers["clerk"], case.pk, "reject_intake", reasons="户籍不在本乡镇")
    before = list(CaseMaterial.objects.filter(case=case).order_by("pk").values())
    response = call(client, "put", f"/api/v1/cases/{case.pk}/materials/application", UPLOAD, tokens["clerk"])
    assert response.status_code == 400
    assert response.json()["code"] == "case_closed" and "不予受理" in response.json()["message"]
    assert list(CaseMaterial.objects.filter(case=case).order_by("pk").values()) == before


def test_uploading_the_signed_pledge_sets_the_flag(client, tokens, apply):
    case = apply(received=["application"], signed=False)
    assert not case.pledge_signed
    pledge = {**UPLOAD, "file_name": "承诺书.jpg", "content_type": "image/jpeg"}
    response = call(client, "put", f"/api/v1/cases/{case.pk}/materials/pledge", pledge, tokens["clerk"])
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.pledge_signed and not case.authorisation_signed
    assert "家庭经济状况如实申报承诺书" not in procedure.missing_materials(case)


# ---------------------------------------------------------------- the 低保 procedure


def test_dibao_procedure_through_the_api_up_to_the_notice(client, tokens, household):
    created = call(client, "post", "/api/v1/cases", application(household), tokens["clerk"]).json()
    case_id, version = created["id"], created["version"]
    steps = [
        ("clerk", "start_investigation", {"investigators": ["张工作", "李工作"]}, wf.INVESTIGATING),
        ("reviewer", "request_check", {}, wf.INVESTIGATING),
        (
            "county",
            "record_check",
            {"manual": True, "summary": "未发现大额存款、车辆", "per_capita_income": "500"},
            wf.INVESTIGATING,
        ),
        ("clerk", "complete_investigation", {"findings": "入户核实属实", "per_capita_income": "500"}, wf.FIRST_REVIEW),
        ("reviewer", "first_review", {"opinion": "approve", "amount": "300"}, wf.NOTICE),
    ]
    for role, action, data, state in steps:
        response = act(client, tokens[role], case_id, action, version=version, **data)
        assert response.status_code == 200, (action, response.content)
        body = response.json()
        assert body["state"] == state and body["version"] == version + 1
        version = body["version"]
    assert body["proposed_amount"] == "300.00"
    notice = next(d for d in body["deadlines"] if d["code"] == "notice")
    assert notice["unit"] == "日" and notice["days"] == 7 and notice["informational"]
    # The reviewer sees the notice actions; the clerk does not.
    assert "end_notice" in {a["code"] for a in body["actions"]}
    clerk_view = call(client, "get", f"/api/v1/cases/{case_id}", token=tokens["clerk"]).json()
    assert "end_notice" not in {a["code"] for a in clerk_view["actions"]}
    early = act(client, tokens["reviewer"], case_id, "end_notice", version=version)
    assert (
        early.status_code == 400 and early.json()["code"] == "notice_running" and "公示期7日" in early.json()["message"]
    )
    assert Case.objects.get(pk=case_id).version == version


def test_dibao_procedure_ends_through_the_api(client, tokens, apply, officers):
    """The notice must have run 7 days: the early steps are dated in the past through the services."""
    case = apply(today=D(2025, 3, 3))
    c = officers
    services.act(c["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    record_paper_check(c["reviewer"], c["county"], case.pk, D(2025, 3, 5))
    services.act(c["clerk"], case.pk, "complete_investigation", findings="属实", today=D(2025, 3, 6))
    services.act(c["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 7))
    version = Case.objects.get(pk=case.pk).version

    # The county approver cannot end the notice; the reviewer can.
    wrong_role = act(client, tokens["county"], case.pk, "end_notice", version=version)
    assert wrong_role.status_code == 403 and "乡镇审核员" in wrong_role.json()["message"]
    ended = act(client, tokens["reviewer"], case.pk, "end_notice", version=version, note="公示无异议")
    assert ended.status_code == 200, ended.content
    body = ended.json()
    assert body["state"] == wf.COUNTY_REVIEW
    # The overall limit (accepted March 2025) falls before the county's 10 working days: it is the current one.
    assert body["current_step"] == "办理总时限" and body["current_due"] == "2025-04-15"
    assert body["events"][-1]["data"] == {"notice_from": "2025-03-07", "notice_to": "2025-03-14"}

    # The reviewer may not confirm (county level by default).
    forbidden = act(client, tokens["reviewer"], case.pk, "approve", version=body["version"], amount="300")
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    # Decided today, long after the 2025 check: confirming on a stale check needs the override's reasons.
    stale = act(client, tokens["county"], case.pk, "approve", version=body["version"], amount="320.5")
    assert stale.status_code == 400 and stale.json()["code"] == "check_override_required"
    assert "核对结果已超过30日有效期（2025-03-05核对）" in stale.json()["message"]
    reasons = "经县级入户复核，家庭收入、财产情况与核对时一致"
    approved = act(
        client,
        tokens["county"],
        case.pk,
        "approve",
        version=body["version"],
        amount="320.5",
        override_reasons=reasons,
    )
    assert approved.status_code == 200, approved.content
    body = approved.json()
    today = timezone.localdate()
    assert body["state"] == wf.APPROVED and body["state_label"] == "已批准"
    assert body["decided_amount"] == "320.50" and body["proposed_amount"] == "300.00"
    assert body["decided_on"] == today.isoformat()
    assert body["start_month"] == (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1).isoformat()
    assert body["current_due"] is None and body["actions"] == []
    assert [e["action"] for e in body["events"]] == [
        "submit",
        "accept",
        "start_investigation",
        "request_check",
        "record_check",
        "complete_investigation",
        "first_review",
        "end_notice",
        "approve",
    ]
    last = body["events"][-1]
    assert last["data"]["check_override"]["reasons"] == reasons
    assert last["actor"] == officers["county"].username and last["from_state"] == wf.COUNTY_REVIEW
    assert last["to_state"] == wf.APPROVED and last["on"] == today.isoformat()
    total = next(d for d in body["deadlines"] if d["code"] == "total")
    assert total["met_on"] == today.isoformat() and total["overdue"]  # accepted in March 2025: far beyond 30 days
    county = next(d for d in body["deadlines"] if d["code"] == "county")
    assert county["started_on"] == today.isoformat() and not county["overdue"] and county["unit"] == "个工作日"


def test_read_case_with_events_and_deadlines(client, tokens, apply, officers):
    case = apply(today=D(2025, 3, 3))
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 5))
    response = call(client, "get", f"/api/v1/cases/{case.pk}", token=tokens["reviewer"])
    assert response.status_code == 200
    body = response.json()
    assert body["submitted_on"] == "2025-03-03" and body["channel"] == "window" and body["channel_label"] == "窗口受理"
    assert not body["conflict_of_interest"] and not body["spot_check_selected"]
    assert body["proposed_amount"] is None and body["decided_amount"] is None
    assert body["events"][-1] == {
        "seq": 3,
        "on": "2025-03-05",
        "action": "start_investigation",
        "from_state": wf.ACCEPTED,
        "to_state": wf.INVESTIGATING,
        "actor": officers["clerk"].username,
        "data": {"investigators": ["甲", "乙"]},
        "note": "",
    }
    survey = next(d for d in body["deadlines"] if d["code"] == "survey")
    assert survey == {
        "code": "survey",
        "label": "启动入户调查",
        "started_on": "2025-03-03",
        "days": 3,
        "unit": "个工作日",
        "due": "2025-03-06",
        "provisional": False,
        "basis": "国务院办公厅节假日安排",
        "met_on": "2025-03-05",
        "overdue": False,
        "informational": False,
    }
    total = next(d for d in body["deadlines"] if d["code"] == "total")
    assert total["due"] == "2025-04-15" and total["met_on"] is None and total["overdue"]
    codes = {a["code"] for a in body["actions"]}
    assert {"request_check", "complete_investigation", "withdraw"} <= codes and "approve" not in codes
    views = AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="view")
    assert views.count() == 1 and views.get().username == officers["reviewer"].username


# ---------------------------------------------------------------- the work queue


def test_queue_sorted_by_due_with_flags(client, tokens, apply, officers, household_data, make_user):
    Parameter.objects.create(key="dibao.due_soon_wd", region_id=COUNTY, effective_from=D(2020, 1, 1), value=5)
    clerk = officers["clerk"]

    def other_household(seq: int):
        return registry.create_household(
            clerk, household_data(members=[("02", f"赵{seq}", make_id_number(birth="19700101", seq=seq))])
        )

    def open_case(household, service="dibao", received=ALL_DEMANDED, today=None):
        return services.open_application(
            clerk,
            household_id=household.pk,
            service_code=service,
            applicant_id=household.head_id,
            channel="window",
            received=received,
            authorisation_signed=True,
            pledge_signed=True,
            today=today,
        )

    overdue = apply(today=D(2025, 3, 3))  # investigation due 2025-03-06
    soon = open_case(other_household(41))  # investigation due in 3 working days
    later = open_case(
        other_household(43), "tekun", ["application", "authorisation", "pledge", "supporters", "self_care"]
    )  # investigation and first review due in 15 working days
    pending = open_case(other_household(45), received=["application"])  # no deadline yet
    refused = open_case(other_household(47), today=D(2025, 3, 3))
    for action, user, on, data in [
        ("start_investigation", clerk, D(2025, 3, 4), {"investigators": ["甲", "乙"]}),
        ("complete_investigation", clerk, D(2025, 3, 6), {"findings": "属实"}),
        ("first_review", officers["reviewer"], D(2025, 3, 7), {"opinion": "refuse", "reasons": "收入超标"}),
    ]:  # a proposed refusal goes to the county without a public notice
        services.act(user, refused.pk, action, today=on, **data)
    services.act(officers["county"], refused.pk, "refuse", reasons="家庭人均收入高于低保标准")  # notice due in 3 wd
    done = open_case(other_household(49), received=[])
    services.act(clerk, done.pk, "withdraw", reason="申请人撤回")
    other_clerk = make_user("clerk", OTHER_TOWNSHIP)
    elsewhere = registry.create_household(
        other_clerk,
        household_data(OTHER_VILLAGE, [("02", "钱某", make_id_number(area="130722", birth="19600101", seq=51))]),
    )
    services.open_application(
        other_clerk,
        household_id=elsewhere.pk,
        service_code="dibao",
        applicant_id=elsewhere.head_id,
        channel="window",
        received=ALL_DEMANDED,
        authorisation_signed=True,
        pledge_signed=True,
    )

    response = call(client, "get", "/api/v1/cases/queue", token=tokens["clerk"])
    assert response.status_code == 200, response.content
    body = response.json()
    items = body["items"]
    # The clerk's queue: what the window acts on next (pending and accepted cases), earliest deadline first.
    assert [i["id"] for i in items] == [overdue.pk, soon.pk, later.pk, pending.pk]
    assert (body["total"], body["overdue"], body["due_soon"], body["due_soon_days"]) == (4, 1, 1, 5)
    assert body["next_cursor"] == "" and body["notes"] == []
    flags = {i["id"]: (i["overdue"], i["due_soon"]) for i in items}
    assert flags == {
        overdue.pk: (True, False),
        soon.pk: (False, True),
        later.pk: (False, False),
        pending.pk: (False, False),
    }
    first = items[0]
    assert first["current_due"] == "2025-03-06" and first["overdue_days"] > 300
    assert first["applicant_name_masked"] == "王*山" and first["state_label"] == "已受理，待调查"
    assert first["current_step"] == "启动入户调查" and first["service_name"] == "最低生活保障"
    assert first["household_size"] == 3 and first["village"]
    assert items[1]["days_left"] == 3 and items[-1]["current_due"] is None

    tekun = call(client, "get", "/api/v1/cases/queue?service=tekun", token=tokens["clerk"]).json()
    assert [i["id"] for i in tekun["items"]] == [later.pk]
    pending_only = call(client, "get", "/api/v1/cases/queue?state=pending", token=tokens["clerk"]).json()
    assert [i["id"] for i in pending_only["items"]] == [pending.pk]
    overdue_only = call(client, "get", "/api/v1/cases/queue?overdue_only=true", token=tokens["clerk"]).json()
    assert [i["id"] for i in overdue_only["items"]] == [overdue.pk]
    bad_state = call(client, "get", "/api/v1/cases/queue?state=bogus", token=tokens["clerk"]).json()
    assert bad_state["notes"] == ["状态筛选条件无效，已忽略"] and len(bad_state["items"]) == 4
    # The county approver's queue: the refusal whose written notice is due within 3 working days.
    county = call(client, "get", "/api/v1/cases/queue", token=tokens["county"]).json()
    assert [(i["id"], i["due_soon"], i["state"]) for i in county["items"]] == [(refused.pk, True, wf.REFUSED)]
    reviewer = call(client, "get", "/api/v1/cases/queue", token=tokens["reviewer"]).json()
    assert [i["id"] for i in reviewer["items"]] == [overdue.pk, soon.pk, later.pk]


# ---------------------------------------------------------------- errors


def test_stale_version_conflict(client, tokens, apply):
    case = apply()
    first = act(client, tokens["clerk"], case.pk, "start_investigation", version=1, investigators=["甲", "乙"])
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = act(client, tokens["reviewer"], case.pk, "request_check", version=1)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version" and "请刷新后重试" in stale.json()["message"]
    case.refresh_from_db()
    assert case.version == 2 and not case.events.filter(action="request_check").exists()


def test_illegal_transition_and_unknown_action(client, tokens, apply):
    case = apply()
    illegal = act(client, tokens["county"], case.pk, "approve", amount="300")
    assert illegal.status_code == 400
    assert illegal.json()["code"] == "illegal_transition"
    assert illegal.json()["message"] == "案件当前状态为“已受理，待调查”，不能执行“审核确认：批准”"
    unknown = act(client, tokens["clerk"], case.pk, "fly_to_the_moon")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_action"
    assert "fly_to_the_moon" in unknown.json()["message"]
    invalid = act(client, tokens["clerk"], case.pk, "start_investigation", investigators=["甲"])
    assert invalid.status_code == 400 and invalid.json()["field"] == "investigators"
    case.refresh_from_db()
    assert case.state == wf.ACCEPTED and case.version == 1 and case.events.count() == 2


def test_client_cannot_pass_the_date_or_version_in_data(client, tokens, apply, officers):
    case = apply(today=D(2025, 3, 3))
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"])
    record_paper_check(officers["reviewer"], officers["county"], case.pk, None)
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实")
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="300")
    for key, value in (("today", "2099-01-01"), ("expected_version", 99), ("case_id", 1)):
        url = f"/api/v1/cases/{case.pk}/actions/end_notice"
        response = call(client, "post", url, {"data": {key: value}}, tokens["reviewer"])
        assert response.status_code == 400 and response.json()["code"] == "invalid_data", key
    assert Case.objects.get(pk=case.pk).state == wf.NOTICE


def test_other_township_sees_nothing(client, apply, make_user):
    case = apply(received=["application", "authorisation", "pledge"])
    other = issue_token(make_user("clerk", OTHER_TOWNSHIP), "外乡镇")[1]
    read = call(client, "get", f"/api/v1/cases/{case.pk}", token=other)
    missing = call(client, "get", "/api/v1/cases/999999", token=other)
    assert read.status_code == missing.status_code == 404 and read.json() == missing.json()
    acted = act(client, other, case.pk, "notify_missing")
    assert acted.status_code == 404 and acted.json()["code"] == "not_found"
    upload = call(client, "put", f"/api/v1/cases/{case.pk}/materials/income_statement", UPLOAD, other)
    assert upload.status_code == 404
    assert call(client, "get", "/api/v1/cases/queue", token=other).json()["items"] == []
    case.refresh_from_db()
    assert case.state == wf.PENDING and case.version == 1 and case.events.count() == 1
    assert not CaseMaterial.objects.get(case=case, material__code="income_statement").received
    entries = AuditEntry.objects.filter(object_type="case", object_id=str(case.pk)).exclude(action="create")
    # No view of the case; each attempt on it (read, act, upload) is audited as denied (issue 18 §4).
    assert set(entries.values_list("action", flat=True)) == {"denied"} and entries.count() == 3


def test_anonymous_is_unauthorised(client, apply):
    case = apply()
    for method, url in (
        ("get", f"/api/v1/cases/{case.pk}"),
        ("get", "/api/v1/cases/queue"),
        ("post", f"/api/v1/cases/{case.pk}/actions/start_investigation"),
    ):
        response = call(client, method, url, {"data": {}} if method == "post" else None)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated", url
    assert call(client, "get", f"/api/v1/cases/{case.pk}", token="mz_not-a-token").status_code == 401


def test_session_calls_need_csrf(officers, household, apply):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(officers["clerk"])
    assert browser.get("/api/v1/cases/queue").status_code == 200
    created = browser.post("/api/v1/cases", json.dumps(application(household)), content_type="application/json")
    assert created.status_code == 403 and not Case.objects.exists()
    case = apply()
    body = json.dumps({"data": {"investigators": ["甲", "乙"]}})
    acted = browser.post(f"/api/v1/cases/{case.pk}/actions/start_investigation", body, content_type="application/json")
    assert acted.status_code == 403
    upload = browser.put(
        f"/api/v1/cases/{case.pk}/materials/income_statement", json.dumps(UPLOAD), content_type="application/json"
    )
    assert upload.status_code == 403
    case.refresh_from_db()
    assert case.state == wf.ACCEPTED and case.version == 1
    assert CaseEvent.objects.filter(case=case).count() == 2

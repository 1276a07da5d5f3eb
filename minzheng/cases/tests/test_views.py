"""The one-window intake page and the case page, driven through the Django test client as each role."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import eventlog, services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, InterestDeclaration
from minzheng.cases.procedure import SIGNATURES
from minzheng.conftest import OTHER_TOWNSHIP, make_id_number
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.policy.models import Material

from .conftest import ACCEPTED_ON

D = datetime.date


@pytest.fixture
def clock(monkeypatch):
    """The services' and pages' `today`, moved by the test (the notice period needs days to pass)."""
    now = {"today": ACCEPTED_ON}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: now["today"])
    return now


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _intake_data(household, **overrides) -> dict:
    data = {
        "household": household.pk,
        "service": "dibao",
        "applicant": household.head_id,
        "channel": "window",
        "materials": ["application", "income_statement"],
        "authorisation_signed": "on",
        "pledge_signed": "on",
        "note": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _act(client, case, action, **data):
    case.refresh_from_db()
    payload = {"version": case.version, **data}
    response = client.post(reverse("cases:act", args=[case.pk, action]), payload, follow=True)
    assert response.status_code == 200
    case.refresh_from_db()
    return response


# ---------------------------------------------------------------- intake


def test_intake_search_finds_household_in_scope(client, officers, household):
    client.force_login(officers["clerk"])
    response = client.get(reverse("cases:intake"), {"q": "王大山"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"?household={household.pk}" in page and household.number in page
    assert household.head.id_number not in page and mask_id_number(household.head.id_number) in page


def test_intake_form_offers_only_materials_the_applicant_must_provide(client, officers, household):
    client.force_login(officers["clerk"])
    response = client.get(reverse("cases:intake"), {"household": household.pk, "service": "dibao"})
    page = response.content.decode()
    assert response.status_code == 200
    for member in ("王大山", "李秀兰", "王小明"):
        assert member in page
    offered = set(re.findall(r'name="materials" value="([^"]+)"', page))
    demandable = set(Material.objects.filter(service__code="dibao", shared_from="").values_list("code", flat=True))
    assert offered == demandable - set(SIGNATURES) and "income_statement" in offered  # signatures ticked apart
    assert "id_documents" not in offered and "property" not in offered
    assert "由公安（人口信息共享）共享获取，无需提交" in page
    assert "已签署家庭经济状况核对授权书" in page and "已签署如实申报承诺书" in page
    assert "全流程办理" in page and "受理后转交" in page  # the service list says which items run here


def test_materials_fragment_follows_the_chosen_service(client, officers):
    client.force_login(officers["clerk"])
    response = client.get(
        reverse("cases:intake"), {"partial": "materials", "service": "tekun"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert "<html" not in page and 'value="supporters"' in page and 'value="id_documents"' not in page


def test_intake_of_a_complete_application_accepts_the_case(client, officers, household, clock):
    client.force_login(officers["clerk"])
    response = client.post(reverse("cases:intake"), _intake_data(household))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases:case", args=[case.pk])
    assert case.state == wf.ACCEPTED and case.accepted_on == ACCEPTED_ON
    assert case.authorisation_signed and case.pledge_signed and case.applicant_id == household.head_id
    page = client.get(response["Location"])
    assert any("已受理" in m and case.number in m for m in _messages(page))


def test_intake_with_a_material_unticked_is_pending(client, officers, household):
    client.force_login(officers["clerk"])
    data = _intake_data(household, materials=["application"])
    response = client.post(reverse("cases:intake"), data, follow=True)
    case = Case.objects.get()
    assert case.state == wf.PENDING
    text = " ".join(_messages(response))
    assert "材料不齐，请出具一次性告知书" in text and case.number in text
    missing = re.search(r'data-testid="missing".*?</div>', response.content.decode(), re.S).group(0)
    assert "家庭收入及财产情况申报表" in missing and "最低生活保障申请书" not in missing


def test_intake_of_an_item_not_run_here_is_accepted_and_transferred(client, officers, household):
    client.force_login(officers["clerk"])
    data = _intake_data(household, service="disability_care", materials=["application"])
    response = client.post(reverse("cases:intake"), data, follow=True)
    assert Case.objects.get().state == wf.TRANSFERRED
    assert any("已受理并转交" in m for m in _messages(response))


def test_proxy_without_entrusted_person_is_refused_on_the_field(client, officers, household):
    client.force_login(officers["assistant"])
    response = client.post(reverse("cases:intake"), _intake_data(household, channel="proxy"))
    page = response.content.decode()
    assert response.status_code == 200 and Case.objects.count() == 0
    assert 'data-testid="error-entrusted_name"' in page and "请填写受托人姓名" in page
    bad = make_id_number(seq=91)[:-1] + "0"
    if bad == make_id_number(seq=91):
        bad = bad[:-1] + "1"
    response = client.post(
        reverse("cases:intake"),
        _intake_data(household, channel="proxy", entrusted_name="赵协理", entrusted_id_number=bad),
    )
    assert 'data-testid="error-entrusted_id_number"' in response.content.decode() and Case.objects.count() == 0
    response = client.post(
        reverse("cases:intake"),
        _intake_data(household, channel="proxy", entrusted_name="赵协理", entrusted_id_number=make_id_number(seq=91)),
    )
    assert response.status_code == 302 and Case.objects.get().entrusted_name == "赵协理"


def test_duplicate_application_shown_on_the_form(client, officers, household, apply):
    existing = apply()
    client.force_login(officers["clerk"])
    response = client.post(reverse("cases:intake"), _intake_data(household))
    page = response.content.decode()
    assert "请勿重复申请" in page and reverse("cases:case", args=[existing.pk]) in page
    assert Case.objects.count() == 1


def test_intake_refuses_roles_without_edit_capability_and_other_scopes(client, make_user, household):
    client.force_login(make_user("auditor"))
    assert client.get(reverse("cases:intake")).status_code == 403
    client.force_login(make_user("leader"))
    assert client.get(reverse("cases:intake")).status_code == 403
    client.force_login(make_user("clerk", OTHER_TOWNSHIP))
    assert client.get(reverse("cases:intake"), {"household": household.pk}).status_code == 404
    assert client.post(reverse("cases:intake"), _intake_data(household)).status_code == 404
    assert Case.objects.count() == 0


# ---------------------------------------------------------------- the case page


def test_case_page_shows_deadlines_masked_applicant_and_event_log(client, officers, household, apply):
    case = apply(today=D(2025, 3, 3))
    client.force_login(officers["clerk"])
    response = client.get(reverse("cases:case", args=[case.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    survey = re.search(r'<tr[^>]*data-testid="deadline-survey".*?</tr>', page, re.S).group(0)
    assert "启动入户调查" in survey and "2025-03-06" in survey and "table-primary" in survey  # the current limit
    total = re.search(r'<tr[^>]*data-testid="deadline-total".*?</tr>', page, re.S).group(0)
    assert "办理总时限" in total and "2025-04-15" in total and "30个工作日" in total
    head = household.head
    assert mask_id_number(head.id_number) in page and head.id_number not in page
    assert mask_name(head.name) in page and head.name not in page
    events = re.search(r'data-testid="events".*?</table>', page, re.S).group(0)
    assert "提交申请" in events and "受理" in events and "已受理，待调查" in events and "测试clerk" in events
    assert "由公安（人口信息共享）共享获取，无需提交" in page
    assert 'data-testid="action-start_investigation"' in page and f'name="version" value="{case.version}"' in page


def test_case_page_flags_conflict_of_interest(client, officers, household, apply):
    InterestDeclaration.objects.create(
        id_number=household.head.id_number,
        name=household.head.name,
        kind="committee",
        related_to="村委会委员本人",
        region_id=household.region_id,
    )
    case = apply()
    client.force_login(officers["reviewer"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert "近亲属备案，须县级入户核查" in page and "村委会委员本人" in page and "近亲属单独登记备案" in page
    assert household.head.name not in page and mask_name(household.head.name) in page  # the note is masked too


def test_provisional_deadline_has_badge_and_basis(client, officers, apply, clock):
    clock["today"] = D(2026, 12, 15)
    case = apply(today=D(2026, 12, 15))
    client.force_login(officers["clerk"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    total = re.search(r'<tr[^>]*data-testid="deadline-total".*?</tr>', page, re.S).group(0)
    assert "暂定" in total and "尚未录入" in total


def test_walk_a_dibao_case_through_every_step_on_the_page(client, officers, household, clock):
    clerk, reviewer, county = officers["clerk"], officers["reviewer"], officers["county"]
    client.force_login(clerk)
    client.post(reverse("cases:intake"), _intake_data(household, materials=["application"], pledge_signed=None))
    case = Case.objects.get()
    assert case.state == wf.PENDING and case.authorisation_signed and not case.pledge_signed

    _act(client, case, "notify_missing")
    clock["today"] = D(2025, 3, 4)
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    offered = set(re.findall(r'name="received" value="([^"]+)"', page))
    assert offered == {"income_statement", "medical"}  # still missing, demandable only
    assert 'name="pledge_signed"' in page and 'name="authorisation_signed"' not in page
    _act(client, case, "complete_materials", received=["income_statement"], pledge_signed="on", accept="on")
    assert case.pledge_signed
    assert case.state == wf.ACCEPTED and case.accepted_on == D(2025, 3, 4)

    clock["today"] = D(2025, 3, 5)
    response = _act(client, case, "start_investigation", investigators=["张工作", "李工作", ""])
    assert case.state == wf.INVESTIGATING and any("启动入户调查" in m for m in _messages(response))
    _act(client, case, "request_check")
    client.force_login(reviewer)
    clock["today"] = D(2025, 3, 7)
    _act(client, case, "record_check", manual="on", summary="未发现大额存款、车辆", per_capita_income="500")
    client.force_login(clerk)
    clock["today"] = D(2025, 3, 10)
    _act(
        client,
        case,
        "complete_investigation",
        visit_date="2025-03-05",
        findings="入户核实属实",
        per_capita_income="500",
    )
    assert case.state == wf.FIRST_REVIEW
    client.force_login(reviewer)
    clock["today"] = D(2025, 3, 11)
    _act(client, case, "first_review", opinion="approve", amount="300", note="符合条件")
    assert case.state == wf.NOTICE and case.proposed_amount == 300
    client.force_login(clerk)
    clock["today"] = D(2025, 3, 12)
    _act(client, case, "record_objection", content="该户有经营性收入", raised_by="村民")
    client.force_login(reviewer)
    clock["today"] = D(2025, 3, 14)
    _act(client, case, "resolve_objection", method="verified", result="经核实，经营已于去年停止")
    clock["today"] = D(2025, 3, 18)
    _act(client, case, "end_notice")
    assert case.state == wf.COUNTY_REVIEW

    client.force_login(county)
    clock["today"] = D(2025, 3, 25)
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert re.search(r'name="amount"[^>]*value="300(\.00)?"', page)  # prefilled with the proposed amount
    response = _act(client, case, "approve", amount="300.00")
    assert case.state == wf.APPROVED and case.decided_amount == 300 and case.start_month == D(2025, 4, 1)
    assert any("已批准" in m for m in _messages(response))
    page = response.content.decode()
    events = re.search(r'data-testid="events".*?</table>', page, re.S).group(0)
    for text in (
        "出具一次性告知书",
        "补齐材料",
        "张工作、李工作",
        "未发现大额存款、车辆",
        "500.00元/月",
        "拟批准",
        "该户有经营性收入",
        "核实",
        "公示期",
        "2025年04月",
        "审核确认：批准",
    ):
        assert text in events, text
    assert "按时完成" in page and "案件已办结" in page
    actions = list(case.events.values_list("action", flat=True))
    assert actions == [
        "submit",
        "notify_missing",
        "complete_materials",
        "accept",
        "start_investigation",
        "request_check",
        "record_check",
        "complete_investigation",
        "first_review",
        "record_objection",
        "resolve_objection",
        "end_notice",
        "approve",
    ]


def _to_county_review(case, officers):
    from .test_dibao import run_to_county

    return run_to_county(case, officers)


def test_refuse_and_deliver_the_refusal_on_the_page(client, officers, apply, clock):
    clock["today"] = D(2025, 3, 18)
    case = _to_county_review(apply(), officers)
    client.force_login(officers["county"])
    clock["today"] = D(2025, 3, 21)
    _act(client, case, "refuse", reasons="家庭人均收入高于低保标准")
    assert case.state == wf.REFUSED and case.current_step == "书面告知不予批准理由"
    _act(client, case, "deliver_refusal", method="邮寄送达")
    assert case.current_due is None and case.events.get(action="deliver_refusal").data["method"] == "邮寄送达"


def test_county_visit_extend_and_withdraw_on_the_page(client, officers, household, apply, clock):
    InterestDeclaration.objects.create(
        id_number=household.head.id_number,
        name=household.head.name,
        kind="staff",
        related_to="本人",
        region_id=household.region_id,
    )
    clock["today"] = D(2025, 3, 18)
    case = _to_county_review(apply(), officers)
    client.force_login(officers["county"])
    clock["today"] = D(2025, 3, 20)
    _act(client, case, "extend", reason="跨区域家庭，需协查")
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.days == 45
    _act(client, case, "county_visit", visit_date="2025-03-20", findings="入户核查属实")
    assert case.events.filter(action="county_visit").exists()
    client.force_login(officers["clerk"])
    _act(client, case, "withdraw", reason="申请人家庭情况好转")
    assert case.state == wf.WITHDRAWN


def test_reject_intake_and_reinvestigate_forms(client, officers, apply, clock):
    pending = apply(received=[])
    client.force_login(officers["clerk"])
    _act(client, pending, "reject_intake", reasons="户籍不在本乡镇")
    assert pending.state == wf.NOT_ACCEPTED

    case = apply(service="temp_expense", received=["application", "authorisation", "pledge", "expense_evidence"])
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"])
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实")
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="1500")
    services.act(officers["assistant"], case.pk, "record_objection", content="计算有误")
    client.force_login(officers["reviewer"])
    _act(client, case, "reinvestigate", result="重新核算收入")
    assert case.state == wf.INVESTIGATING


def test_tekun_self_care_assessment_from_checkboxes(client, officers, apply, clock):
    case = apply(
        service="tekun",
        received=["application", "authorisation", "pledge", "supporters", "self_care"],
    )
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"])
    client.force_login(officers["assistant"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert 'data-testid="action-assess_self_care"' in page and "进食：能完成" in page
    _act(client, case, "assess_self_care", feeding="on", dressing="on")
    event = case.events.get(action="assess_self_care")
    assert event.data["tier"] == "full" and event.data["items"]["feeding"] and not event.data["items"]["bathing"]
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert "完全丧失生活自理能力" in page and "洗澡不能完成" in page


def test_emergency_aid_paid_first(client, officers, apply, clock):
    case = apply(service="temp_emergency", received=[], signed=False)
    client.force_login(officers["reviewer"])
    _act(client, case, "pay_first", amount="2000", situation="住房失火，生活无着")
    assert case.state == wf.PAID_FIRST and case.decided_amount == 2000


def test_refused_action_shows_the_chinese_message_and_changes_nothing(client, officers, apply):
    case = apply()
    client.force_login(officers["clerk"])
    response = _act(client, case, "start_investigation", investigators=["张工作"])
    assert any("入户调查须由2名以上工作人员进行" in m for m in _messages(response))
    assert case.state == wf.ACCEPTED and case.version == 1
    response = _act(client, case, "approve", amount="300")  # not this role, not this state
    assert any("不能执行" in m or "须由" in m for m in _messages(response))
    assert case.state == wf.ACCEPTED and case.events.count() == 2


def test_stale_version_is_refused_with_a_message(client, officers, apply):
    case = apply()
    client.force_login(officers["clerk"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert f'name="version" value="{case.version}"' in page
    services.act(officers["reviewer"], case.pk, "start_investigation", investigators=["甲", "乙"])
    case.refresh_from_db()
    events, version = case.events.count(), case.version
    response = client.post(
        reverse("cases:act", args=[case.pk, "request_check"]), {"version": 1, "note": "迟到的页面"}, follow=True
    )
    assert any("已被他人办理" in m for m in _messages(response))
    case.refresh_from_db()
    assert case.events.count() == events and case.version == version


def test_missing_version_is_refused(client, officers, apply):
    case = apply()
    client.force_login(officers["clerk"])
    response = client.post(
        reverse("cases:act", args=[case.pk, "start_investigation"]), {"investigators": ["甲", "乙"]}, follow=True
    )
    assert any("页面已过期" in m for m in _messages(response))
    assert Case.objects.get(pk=case.pk).state == wf.ACCEPTED


def test_other_township_gets_404_and_auditor_403(client, officers, apply, make_user):
    case = apply()
    page_url, act_url = reverse("cases:case", args=[case.pk]), reverse("cases:act", args=[case.pk, "withdraw"])
    client.force_login(make_user("clerk", OTHER_TOWNSHIP))
    assert client.get(page_url).status_code == 404
    assert client.post(act_url, {"version": 1, "reason": "越权"}).status_code == 404
    client.force_login(make_user("auditor"))
    assert client.get(page_url).status_code == 403
    assert client.post(act_url, {"version": 1, "reason": "越权"}).status_code == 403
    assert Case.objects.get(pk=case.pk).state == wf.ACCEPTED


def test_action_is_post_only_and_leader_sees_no_forms(client, officers, apply, make_user):
    case = apply()
    client.force_login(officers["clerk"])
    assert client.get(reverse("cases:act", args=[case.pk, "withdraw"])).status_code == 405
    client.force_login(make_user("leader"))
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert 'data-testid="no-actions"' in page and 'data-testid="action-' not in page


def test_action_date_for_paper_first_work(client, officers, apply, clock):
    case = apply()
    clock["today"] = D(2025, 3, 10)
    client.force_login(officers["clerk"])
    response = _act(client, case, "start_investigation", investigators=["甲", "乙"], on="2025-03-11")
    assert any("不能晚于今天" in m for m in _messages(response)) and case.state == wf.ACCEPTED
    _act(client, case, "start_investigation", investigators=["甲", "乙"], on="2025-03-05")
    assert case.state == wf.INVESTIGATING and case.events.get(action="start_investigation").on == D(2025, 3, 5)
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    survey = re.search(r'<tr[^>]*data-testid="deadline-survey".*?</tr>', page, re.S).group(0)
    assert "2025-03-05" in survey and "按时完成" in survey


def test_intake_with_an_earlier_application_date(client, officers, household, clock):
    clock["today"] = D(2025, 3, 5)
    client.force_login(officers["clerk"])
    client.post(reverse("cases:intake"), _intake_data(household, submitted_on="2025-03-03"))
    case = Case.objects.get()
    assert case.submitted_on == D(2025, 3, 3) and case.accepted_on == D(2025, 3, 3)


def test_case_page_links_the_printable_notices(client, officers, apply):
    documents = pytest.importorskip("minzheng.cases.documents")
    case = apply()
    client.force_login(officers["clerk"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    kinds = [kind for kind, _ in documents.available(case)]
    assert kinds and all(reverse("cases:document", args=[case.pk, kind]) in page for kind in kinds)

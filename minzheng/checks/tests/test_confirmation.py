"""Confirming against the check (issue 15 §1): a proposal or approval on a 不符合, 无法判断 or stale check needs an
explicit override with reasons (recorded on the case, shown on its page, audited), the same through the services, the
page and the API; the computed amount is proposed with its breakdown and changing it needs a reason."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.services import issue_token
from minzheng.cases import services as cases
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError
from minzheng.core.models import AuditEntry

from .conftest import case_awaiting_check, member_ids, wages
from .test_rules import EXAMPLE_1

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def people(make_user):
    return {
        "clerk": make_user("clerk"),
        "reviewer": make_user("township_reviewer"),
        "county": make_user("county_approver"),
    }


def _case(people, family, set_params, make_snapshot, wage: str, *, configured: bool = True):
    if configured:
        set_params(**EXAMPLE_1)
    earner, *_ = member_ids(family)
    make_snapshot("wage", wages(earner, wage, before=TODAY), period=TODAY)
    return case_awaiting_check(people["clerk"], family, TODAY, ["张工作", "李工作"])


def _checked(people, case):
    cases.act(people["reviewer"], case.pk, "record_check", today=TODAY)
    cases.act(people["clerk"], case.pk, "complete_investigation", findings="入户核实属实", today=TODAY)
    return Case.objects.get(pk=case.pk)


def _refused(people, case, action, message, **data):
    before = (Case.objects.get(pk=case.pk).version, case.events.count())
    user = people["reviewer"] if action == "first_review" else people["county"]
    with pytest.raises(DomainError, match=message) as caught:
        cases.act(user, case.pk, action, today=TODAY, **data)
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.version, fresh.events.count()) == before  # nothing changed
    return caught.value


def _to_county(people, case, **data):
    case = cases.act(people["reviewer"], case.pk, "first_review", opinion="approve", today=TODAY, **data)
    Case.objects.filter(pk=case.pk).update(state=wf.COUNTY_REVIEW)  # the notice's 7 days are not this test's subject
    return Case.objects.get(pk=case.pk)


def test_a_not_eligible_check_needs_an_override_with_reasons_at_each_confirming_step(
    people, family, set_params, make_snapshot
):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "9000"))
    assert case.events.get(action="record_check").data["eligible"] is False
    error = _refused(
        people, case, "first_review", "核对结论为“不符合救助条件”，不能据以确认低保", opinion="approve", amount="500"
    )
    assert error.code == "check_override_required" and error.field == "override_reasons"
    assert Case.objects.get(pk=case.pk).proposed_amount is None
    reasons = "家庭主要劳动力近月失业，工资数据滞后，已入户核实"
    case = _to_county(people, case, amount="500", override_reasons=reasons)
    event = case.events.get(action="first_review")
    assert event.data["check_override"]["reasons"] == reasons
    assert "不符合救助条件" in event.data["check_override"]["concerns"][0]
    assert case.proposed_amount == Decimal("500.00")
    entry = (
        AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="update").order_by("seq").last()
    )
    assert entry.detail["check_override"]["reasons"] == reasons
    # The county's approval stands on the same check: its own override, its own reasons.
    _refused(people, case, "approve", "核对结果不支持此项确认")
    case = cases.act(people["county"], case.pk, "approve", today=TODAY, override_reasons="县级入户核查属实，同意")
    assert case.state == wf.APPROVED and case.decided_amount == Decimal("500.00")
    assert case.events.get(action="approve").data["check_override"]["reasons"] == "县级入户核查属实，同意"


def test_an_undecided_check_needs_an_override(people, family, set_params, make_snapshot):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "1500", configured=False))
    assert case.events.get(action="record_check").data["verdict_code"] == "unconfigured"
    _refused(
        people,
        case,
        "first_review",
        "核对结论为“无法判断（当地低保标准未配置）”，无法据以确认",
        opinion="approve",
        amount="300",
    )


def test_a_check_older_than_the_parameter_is_stale(people, family, set_params, make_snapshot):
    set_params(**EXAMPLE_1)
    earner, *_ = member_ids(family)
    long_ago = TODAY - datetime.timedelta(days=45)
    make_snapshot("wage", wages(earner, "1500", before=long_ago), period=long_ago - datetime.timedelta(days=1))
    case = case_awaiting_check(people["clerk"], family, long_ago, ["张工作", "李工作"])
    cases.act(people["reviewer"], case.pk, "record_check", today=long_ago)
    cases.act(people["clerk"], case.pk, "complete_investigation", findings="属实", today=long_ago)
    assert case.events.get(action="record_check").data["eligible"] is True
    _refused(people, case, "first_review", f"核对结果已超过30日有效期（{long_ago:%Y-%m-%d}核对）", opinion="approve")
    # The validity is a dated parameter: a county that allows 60 days accepts the same check.
    set_params(check__result_valid_days=60)
    case = cases.act(people["reviewer"], case.pk, "first_review", opinion="approve", today=TODAY)
    assert case.proposed_amount == Decimal("500.00")


def test_a_check_computed_before_a_parameter_changed_is_stale(people, family, set_params, make_snapshot):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "1500"))
    set_params(on=TODAY, dibao__standard_rural="650")
    _refused(people, case, "first_review", "核对后政策参数已调整（农村低保标准（元/月））", opinion="approve")


def test_no_check_recorded_needs_an_override_through_the_services_the_page_and_the_api(
    client, people, family, set_params
):
    """The last gap of issue 15 §1: the investigation may close with no 信息核对 recorded at all; proposing or approving
    money on nothing is an override too, refused without reasons (nothing changes) and recorded with them."""
    set_params(**EXAMPLE_1)
    case = case_awaiting_check(people["clerk"], family, TODAY, ["张工作", "李工作"])
    cases.act(people["clerk"], case.pk, "complete_investigation", findings="入户核实属实", today=TODAY)
    assert not case.events.filter(action="record_check").exists()
    error = _refused(people, case, "first_review", "尚未登记信息核对结果", opinion="approve", amount="300")
    assert error.code == "check_override_required" and error.field == "override_reasons"
    # The page asks for the reasons, names the concern, and refuses alike.
    client.force_login(people["reviewer"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    form = re.search(r'data-testid="action-first_review".*?</details>', page, re.S).group(0)
    assert 'name="override_reasons"' in form and "尚未登记信息核对结果" in form
    response = _post(client, case, "first_review", opinion="approve", amount="300")
    assert "“乡镇初审”未办理：核对结果不支持此项确认：尚未登记信息核对结果" in response.content.decode()
    case = Case.objects.get(pk=case.pk)
    assert case.state == wf.FIRST_REVIEW and case.proposed_amount is None
    reasons = "数据交换中断，已取得纸质核对材料待补录，入户核实收入属实"
    _post(client, case, "first_review", opinion="approve", amount="300", override_reasons=reasons)
    case = Case.objects.get(pk=case.pk)
    assert case.state != wf.FIRST_REVIEW and case.proposed_amount == Decimal("300.00")
    override = case.events.get(action="first_review").data["check_override"]
    assert override == {"concerns": ["尚未登记信息核对结果"], "reasons": reasons, "check_result": None}
    # The county's approval through the API: its own refusal, its own reasons, audited.
    Case.objects.filter(pk=case.pk).update(state=wf.COUNTY_REVIEW)  # the notice's 7 days are not this test's subject
    token = issue_token(people["county"], "接口测试")[1]
    url = f"/api/v1/cases/{case.pk}/actions/approve"
    body = {"data": {}}
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400 and response.json()["code"] == "check_override_required"
    assert "尚未登记信息核对结果" in response.json()["message"]
    case = Case.objects.get(pk=case.pk)
    assert case.state == wf.COUNTY_REVIEW and case.decided_amount is None
    body["data"]["override_reasons"] = "县级入户核查属实，核对材料限期补录"
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=case.pk)
    assert case.state == wf.APPROVED and case.decided_amount == Decimal("300.00")
    approval = case.events.get(action="approve").data["check_override"]
    assert (
        approval["concerns"] == ["尚未登记信息核对结果"] and approval["reasons"] == "县级入户核查属实，核对材料限期补录"
    )
    entry = (
        AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="update").order_by("seq").last()
    )
    assert entry.detail["check_override"]["reasons"] == "县级入户核查属实，核对材料限期补录"


def test_the_computed_amount_is_proposed_and_changing_it_needs_a_reason(people, family, set_params, make_snapshot):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "1500"))
    check = case.events.get(action="record_check").data
    assert check["amount"] == "500.00"
    assert ["补差", "600.00 × 3 − 1,300.00 = 500.00 元"] in check["breakdown"] or any(
        row[0] == "补差" for row in check["breakdown"]
    )
    error = _refused(
        people,
        case,
        "first_review",
        "拟救助金额450.00 元与核对测算金额 500.00 元不一致，请填写调整理由",
        opinion="approve",
        amount="450",
    )
    assert error.field == "amount_reason"
    case = _to_county(people, case, amount="450", amount_reason="申请人另有赡养费收入，入户核实每月50元")
    event = case.events.get(action="first_review")
    assert event.data["computed_amount"] == "500.00" and event.data["amount_reason"].startswith("申请人另有赡养费")
    # The approval keeps the proposal and its reason; another amount needs its own.
    _refused(people, case, "approve", "与核对测算金额 500.00 元不一致", amount="480")
    case = cases.act(people["county"], case.pk, "approve", today=TODAY)
    assert case.decided_amount == Decimal("450.00")
    assert case.events.get(action="approve").data["amount_reason"].startswith("申请人另有赡养费")


def test_without_an_amount_the_first_review_proposes_the_computed_one(people, family, set_params, make_snapshot):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "1500"))
    case = cases.act(people["reviewer"], case.pk, "first_review", opinion="approve", today=TODAY)
    assert case.proposed_amount == Decimal("500.00")
    assert "amount_reason" not in case.events.get(action="first_review").data


def _post(client, case, action, **data):
    case.refresh_from_db()
    return client.post(reverse("cases:act", args=[case.pk, action]), {"version": case.version, **data}, follow=True)


def test_the_page_and_the_api_refuse_alike_and_the_override_shows_on_the_case(
    client, people, family, set_params, make_snapshot
):
    case = _checked(people, _case(people, family, set_params, make_snapshot, "9000"))
    client.force_login(people["reviewer"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    form = re.search(r'data-testid="action-first_review".*?</details>', page, re.S).group(0)
    assert 'name="override_reasons"' in form and "核对结论为“不符合救助条件”" in form
    # Styled like the form's other boxes (it was added after the form styled its fields: a bare, unstyled box).
    assert re.search(r'<textarea name="override_reasons"[^>]*class="form-control"', form), form
    response = _post(client, case, "first_review", opinion="approve", amount="500")
    text = response.content.decode()
    assert "“乡镇初审”未办理：核对结果不支持此项确认" in text
    assert Case.objects.get(pk=case.pk).state == wf.FIRST_REVIEW
    # What the officer typed stays on the refused form, with the refusal on the field to fill.
    refused = re.search(r'data-testid="action-first_review".*?</details>', text, re.S).group(0)
    assert re.search(r'name="amount"[^>]*value="500', refused) and re.search(r'value="approve"[^>]*checked', refused)
    assert "is-invalid" in refused or "invalid-feedback" in refused
    # The API: the same rule, the same Chinese answer, nothing changed.
    token = issue_token(people["reviewer"], "接口测试")[1]
    url = f"/api/v1/cases/{case.pk}/actions/first_review"
    body = {"data": {"opinion": "approve", "amount": "500"}}
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json()["code"] == "check_override_required"
    assert "核对结果不支持此项确认" in response.json()["message"]
    assert Case.objects.get(pk=case.pk).state == wf.FIRST_REVIEW
    body["data"]["override_reasons"] = "经入户核实，工资已停发三个月"
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    shown = re.search(r'data-testid="check-overrides".*?</div>\s*</div>', page, re.S).group(0)
    assert "经入户核实，工资已停发三个月" in shown and "不符合救助条件" in shown
    events = re.search(r'data-testid="events".*?</table>', page, re.S).group(0)
    assert "越过核对结果确认" in events


def test_a_check_from_the_household_page_is_linked_to_the_open_case(
    client, people, family, set_params, make_snapshot, authorised
):
    from minzheng.checks.models import CheckResult

    case = _case(people, family, set_params, make_snapshot, "1500")
    authorised(family, on=TODAY - datetime.timedelta(days=3))
    client.force_login(people["county"])
    client.post(reverse("checks:check_household", args=[family.pk]), follow=True)
    result = CheckResult.objects.get()
    assert result.case_id == case.pk and result.verdict == "dibao"
    page = client.get(reverse("registry:household", args=[family.pk])).content.decode()
    results = re.search(r'data-testid="check-results".*?</table>', page, re.S).group(0)
    assert case.number in results
    # With no open case, nothing to link.
    Case.objects.filter(pk=case.pk).update(state=wf.WITHDRAWN)
    client.post(reverse("checks:check_household", args=[family.pk]), follow=True)
    assert CheckResult.objects.order_by("-id").first().case_id is None

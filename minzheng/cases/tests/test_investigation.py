"""入户调查 (issue 15 §2): the home visit recorded on the case — two or more real staff, the date, the findings, the
family's signature — through the case page and the API, and the check reading what it found: a 特困 verdict reached
through the product, with the supporter finding recorded by the form."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.services import issue_token
from minzheng.cases import services
from minzheng.cases.models import Case, Declaration, Investigation
from minzheng.checks.models import CheckResult
from minzheng.conftest import OTHER_TOWNSHIP, VILLAGE, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.registry import services as registry
from minzheng.registry.models import Person

pytestmark = pytest.mark.django_db

TEKUN_MATERIALS = ["application", "authorisation", "pledge", "supporters", "self_care"]


def _post(client, case: Case, action: str, **data):
    case.refresh_from_db()
    response = client.post(reverse("cases:act", args=[case.pk, action]), {"version": case.version, **data}, follow=True)
    assert response.status_code == 200
    case.refresh_from_db()
    return response


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def elder(officers, household_data):
    """Worked example 4's person: 76, alone, failing every self-care item (完全丧失)."""
    household = registry.create_household(
        officers["clerk"],
        household_data(VILLAGE, [("02", "孙老汉", make_id_number(birth="19500101", seq=51))], area_type="rural"),
    )
    Person.objects.filter(pk=household.head_id).update(self_care="full")
    return household


@pytest.fixture
def tekun_case(officers, elder, set_params):
    set_params(dibao__standard_rural="800", local__min_wage="1930")
    today = timezone.localdate()
    case = services.open_application(
        officers["clerk"],
        household_id=elder.pk,
        service_code="tekun",
        applicant_id=elder.head_id,
        channel="window",
        received=TEKUN_MATERIALS,
        authorisation_signed=True,
        pledge_signed=True,
        today=today,
    )
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=today)
    return case


def _visit(officers, household, **extra) -> dict:
    today = timezone.localdate().isoformat()
    return {
        "visit_date": today,
        "investigators": [str(officers["clerk"].pk), str(officers["assistant"].pk)],
        "findings": "独居，子女均已去世，无其他法定赡养人；住房简陋",
        f"m{household.head_id}_supporter": "no_supporter",
        "signature": "confirmed",
        "signed_on": today,
        **extra,
    }


def test_a_tekun_verdict_is_reached_through_the_case_page(client, officers, elder, tekun_case):
    case = tekun_case
    client.force_login(officers["assistant"])
    response = _post(client, case, "assess_self_care")  # no box ticked: fails all six (完全丧失)
    assert any("已办理“生活自理能力评估”" in m for m in _messages(response))
    client.force_login(officers["clerk"])
    _post(client, case, "request_check")

    # Checked before the visit: the supporters are not known, so 特困 is only a possibility.
    client.force_login(officers["reviewer"])
    _post(client, case, "record_check")
    first = CheckResult.objects.get(pk=case.events.get(action="record_check").data["check_result"])
    assert first.tekun_pending and not first.tekun and first.tekun_amount == 0

    # The home visit, on the form: two real staff, the date, the finding that there is no supporter, the signature.
    client.force_login(officers["clerk"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    form = re.search(r'data-testid="action-record_visit".*?</details>', page, re.S).group(0)
    assert "孙老汉（户主）：法定义务人" in form and "无法定义务人或义务人无履行能力" in form
    assert officers["assistant"].display_name in form and " style=" not in form and "<script" not in form
    response = _post(client, case, "record_visit", **_visit(officers, elder))
    assert any("已办理“登记入户调查”" in m for m in _messages(response)), _messages(response)
    visit = Investigation.objects.get(case=case)
    assert {u.pk for u in visit.investigators.all()} == {officers["clerk"].pk, officers["assistant"].pk}
    assert visit.signature == "confirmed" and visit.signed_on == timezone.localdate()
    finding = Declaration.objects.get(investigation=visit)
    assert (finding.person_id, finding.kind, finding.case_id) == (elder.head_id, "no_supporter", case.pk)
    events = re.search(r'data-testid="events".*?</table>', response.content.decode(), re.S).group(0)
    assert "孙*汉：无法定义务人或义务人无履行能力" in events and "家庭已签字确认" in events

    # Checked again: the check reads the finding — 特困, worked example 4's amounts.
    client.force_login(officers["reviewer"])
    _post(client, case, "record_check")
    data = case.events.filter(action="record_check").order_by("-seq").first().data
    assert data["verdict"] == "符合特困人员条件" and data["eligible"] is True
    assert CheckResult.objects.get(pk=data["check_result"]).tekun
    assert Decimal(data["amount"]) == Decimal("1683.33")  # 1,040.00 basic + 643.33 full care


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"investigators": ["clerk"]}, "入户调查须由2名以上工作人员进行"),
        ({"visit_date": "2099-01-01"}, "入户调查日期不能晚于今天"),
        ({"income_item": "support_received", "income": "-200"}, "孙*汉的赡养、抚养、扶养费月均金额不能为负数"),
        ({"income_item": "support_received", "income": ""}, "请填写孙*汉的赡养、抚养、扶养费月均金额"),
        ({"investigators": ["clerk", "leader"]}, "调查人员须为本案件所在村、乡镇（街道）或县级民政部门的在岗工作人员"),
        (
            {"investigators": ["clerk", "elsewhere"]},
            "调查人员须为本案件所在村、乡镇（街道）或县级民政部门的在岗工作人员",
        ),
        ({"signature": ""}, "请选择家庭签字情况"),
        ({"signature": "refused"}, "家庭拒绝签字的，请填写拒签情况说明"),
        ({"findings": ""}, "请填写调查情况"),
    ],
)
def test_a_bad_visit_is_refused_in_chinese_and_nothing_is_saved(
    client, officers, elder, tekun_case, make_user, change, message
):
    people = {
        "clerk": officers["clerk"],
        "leader": make_user("leader"),  # a real account, but not one who visits
        "elsewhere": make_user("clerk", region=OTHER_TOWNSHIP),  # staff of another township
    }
    data = _visit(officers, elder)
    for key, value in change.items():
        if key == "investigators":
            data["investigators"] = [str(people[v].pk) for v in value]
        elif key in ("income_item", "income"):
            data[f"m{elder.head_id}_{key}"] = value
        else:
            data[key] = value
    client.force_login(officers["clerk"])
    response = _post(client, tekun_case, "record_visit", **data)
    assert any(m.startswith("“登记入户调查”未办理：") and message in m for m in _messages(response)), _messages(
        response
    )
    assert not Investigation.objects.exists() and not Declaration.objects.exists()
    assert not tekun_case.events.filter(action="record_visit").exists()


def test_a_refusal_to_sign_is_recorded_with_its_date_and_reason(client, officers, elder, tekun_case):
    client.force_login(officers["clerk"])
    data = _visit(officers, elder, signature="refused", signature_note="户主认为调查结论不实，拒绝签字")
    response = _post(client, tekun_case, "record_visit", **data)
    assert any("已办理“登记入户调查”" in m for m in _messages(response))
    visit = Investigation.objects.get()
    assert visit.signature == "refused" and visit.signature_note.startswith("户主认为")


def test_completing_the_investigation_offers_what_the_visit_recorded(client, officers, elder, tekun_case):
    from minzheng.cases.forms import CompleteInvestigationForm

    client.force_login(officers["clerk"])
    _post(client, tekun_case, "record_visit", **_visit(officers, elder))
    form = CompleteInvestigationForm(case=tekun_case)
    assert form.initial["visit_date"] == timezone.localdate()
    assert form.initial["findings"].startswith("独居，子女均已去世")


def test_the_latest_visit_replaces_the_earlier_findings(officers, elder, tekun_case):
    today = timezone.localdate()
    payload = {
        "visit_date": (today - datetime.timedelta(days=1)).isoformat(),
        "investigators": [officers["clerk"].pk, officers["reviewer"].pk],
        "findings": "首次入户",
        "signature": "confirmed",
        "signed_on": (today - datetime.timedelta(days=1)).isoformat(),
        "declarations": [{"person": elder.head_id, "kind": "no_supporter"}],
    }
    services.act(officers["clerk"], tekun_case.pk, "record_visit", **payload)
    payload.update(
        visit_date=today.isoformat(),
        signed_on=today.isoformat(),
        findings="复查：外地的儿子有赡养能力，每月给付赡养费",
        declarations=[
            {"person": elder.head_id, "kind": "has_supporter"},
            {"person": elder.head_id, "kind": "income", "item": "support_received", "monthly_amount": "300"},
        ],
    )
    services.act(officers["clerk"], tekun_case.pk, "record_visit", **payload)
    in_force = Declaration.objects.filter(valid_until__isnull=True)
    assert sorted(in_force.values_list("kind", flat=True)) == ["has_supporter", "income"]
    assert Declaration.objects.get(kind="no_supporter").valid_until == today - datetime.timedelta(days=1)


def _api(client, method, url, token, body=None):
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_api_records_and_reads_the_visit_under_scope_and_audit(client, officers, elder, tekun_case, make_user):
    token = issue_token(officers["clerk"], "接口测试")[1]
    today = timezone.localdate().isoformat()
    body = {
        "data": {
            "visit_date": today,
            "investigators": [officers["clerk"].pk, officers["assistant"].pk],
            "findings": "独居，无法定赡养人",
            "signature": "confirmed",
            "signed_on": today,
            "declarations": [
                {"person": elder.head_id, "kind": "no_supporter"},
                {"person": elder.head_id, "kind": "income", "item": "support_received", "monthly_amount": "-5"},
            ],
        }
    }
    url = f"/api/v1/cases/{tekun_case.pk}/actions/record_visit"
    refused = _api(client, "post", url, token, body)
    assert refused.status_code == 400 and refused.json()["message"] == "孙*汉的赡养、抚养、扶养费月均金额不能为负数"
    assert not Investigation.objects.exists()
    body["data"]["declarations"].pop()
    both = {**body, "data": {**body["data"], "declarations": [*body["data"]["declarations"]]}}
    both["data"]["declarations"].append({"person": elder.head_id, "kind": "has_supporter"})
    assert _api(client, "post", url, token, both).status_code == 400
    assert _api(client, "post", url, token, body).status_code == 200

    listed = _api(client, "get", f"/api/v1/cases/{tekun_case.pk}/investigations", token)
    assert listed.status_code == 200
    (visit,) = listed.json()
    assert visit["signature"] == "confirmed" and len(visit["investigators"]) == 2
    assert visit["declarations"] == [
        {
            "person_id": elder.head_id,
            "name": "孙*汉",
            "kind": "no_supporter",
            "kind_label": "无法定义务人或义务人无履行能力",
            "item": "",
            "monthly_amount": "0.00",
            "note": "",
        }
    ]
    assert AuditEntry.objects.filter(object_type="case", object_id=str(tekun_case.pk), action="view").exists()

    outsider = issue_token(make_user("clerk", region=OTHER_TOWNSHIP), "接口测试")[1]
    assert _api(client, "get", f"/api/v1/cases/{tekun_case.pk}/investigations", outsider).status_code == 404
    assert _api(client, "post", url, outsider, body).status_code == 404
    assert Investigation.objects.count() == 1

"""入户调查 in a real browser (issue 15 §2): a township clerk records the home visit of a 特困 application on the case
page — two staff, the date, the finding that the applicant has no legal supporter, the family's signature — and the
township reviewer's data check then finds the applicant 特困. The page fixture fails the test on any CSP violation."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minzheng.browser_fixtures import browser, log_in, page, requires_chromium  # noqa: F401
from minzheng.cases import services
from minzheng.conftest import PASSWORD, VILLAGE, make_id_number
from minzheng.registry import services as registry
from minzheng.registry.models import Person

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]


@pytest.fixture
def investigating(regions, make_user, household_data, set_params):
    people = {
        "clerk": make_user("clerk", username="clerk_wang", last_name="王", first_name="窗口"),
        "assistant": make_user("assistant", username="assistant_li", last_name="李", first_name="协理"),
        "reviewer": make_user("township_reviewer", username="reviewer_zhao", last_name="赵", first_name="审核"),
    }
    elder = registry.create_household(
        people["clerk"],
        household_data(VILLAGE, [("02", "孙老汉", make_id_number(birth="19500101", seq=51))], area_type="rural"),
    )
    Person.objects.filter(pk=elder.head_id).update(self_care="full")
    set_params(dibao__standard_rural="800", local__min_wage="1930")
    today = timezone.localdate()
    case = services.open_application(
        people["clerk"],
        household_id=elder.pk,
        service_code="tekun",
        applicant_id=elder.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "supporters", "self_care"],
        authorisation_signed=True,
        pledge_signed=True,
        today=today,
    )
    services.act(people["clerk"], case.pk, "start_investigation", investigators=["王窗口", "李协理"], today=today)
    none_able = dict.fromkeys(("feeding", "dressing", "transfer", "toileting", "walking", "bathing"), False)
    services.act(people["assistant"], case.pk, "assess_self_care", items=none_able, today=today)
    services.act(people["clerk"], case.pk, "request_check", today=today)
    return case, people


def test_the_visit_form_leads_to_a_tekun_verdict(page, live_server, investigating):  # noqa: F811
    case, _people = investigating
    url = f"{live_server.url}/cases/{case.pk}/"
    page.goto(url)
    log_in(page, "clerk_wang", PASSWORD)
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))

    form = page.get_by_test_id("action-record_visit")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    today = timezone.localdate().isoformat()
    form.get_by_label("入户调查日期").fill(today)
    form.get_by_label("王窗口（窗口受理员）").check()
    form.get_by_label("李协理（民政协理员）").check()
    form.get_by_label("调查情况").fill("独居，子女均已去世，无其他法定赡养人")
    form.get_by_test_id(re.compile(r"choices-m\d+_supporter")).get_by_label("无法定义务人或义务人无履行能力").check()
    form.get_by_label("家庭已签字确认").check()
    form.get_by_label("签字（拒签）日期").fill(today)
    form.get_by_role("button", name="登记入户调查", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已办理“登记入户调查”")).to_be_visible()
    expect(page.get_by_test_id("events")).to_contain_text("孙*汉：无法定义务人或义务人无履行能力")

    page.get_by_role("button", name="退出").click()
    page.goto(url)
    log_in(page, "reviewer_zhao", PASSWORD)
    check = page.get_by_test_id("action-record_check")
    if not check.evaluate("details => details.open"):
        check.locator("summary").click()
    check.get_by_role("button", name="登记核对结果", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已办理“登记核对结果”")).to_be_visible()
    expect(page.get_by_test_id("check-summary")).to_contain_text("符合特困人员条件")
    expect(page.get_by_test_id("check-summary")).to_contain_text("1683.33元/月")

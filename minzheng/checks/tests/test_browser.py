"""Real-browser walk-through of 信息核对 on a case (Playwright driving Debian's Chromium against the live server).

A township reviewer opens a 低保 case at the investigation step (checking requested), records the check: the engine
reads the departments' data under the case's signed authorisation and the case page shows the verdict; the reviewer
opens the 核对报告, comes back, completes the investigation, and the first-review form shows the verdict with the
amount prefilled from the check.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from minzheng.browser_fixtures import (  # noqa: F401  (fixtures used by name)
    ARTIFACTS,
    browser,
    log_in,
    page,
    requires_chromium,
)
from minzheng.conftest import PASSWORD, VILLAGE, make_id_number

from .conftest import case_awaiting_check, wages
from .test_rules import EXAMPLE_1

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

HEAD_ID = make_id_number("130722", "19750612", 13)
SPOUSE_ID = make_id_number("130722", "19780921", 24)
CHILD_ID = make_id_number("130722", "20100405", 35)


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


def _family(clerk, address: str):
    """A rural household of three: the earner, the spouse, a child."""
    from minzheng.registry.services import HouseholdData, MemberData, PersonData, create_household

    return create_household(
        clerk,
        HouseholdData(
            region_code=VILLAGE,
            address=address,
            area_type="rural",
            members=[
                MemberData("02", PersonData(name="赵永福", id_number=HEAD_ID)),
                MemberData("12", PersonData(name="孙桂芝", id_number=SPOUSE_ID)),
                MemberData("20", PersonData(name="赵小宝", id_number=CHILD_ID)),
            ],
        ),
    )


def test_reviewer_records_the_check_and_reads_it_at_the_first_review(
    page,  # noqa: F811
    live_server,
    regions,
    make_user,
    set_params,
    make_snapshot,
):
    from minzheng.cases.models import Case
    from minzheng.checks.models import CheckResult

    today = timezone.localdate()
    clerk = make_user("clerk")
    reviewer = make_user("township_reviewer")
    household = _family(clerk, "张北县张北镇南壕堑村8号")
    # Worked example 1's parameters; the head earns 1,500 a month (1,300 counted after the 200 employment cost).
    set_params(**EXAMPLE_1)
    make_snapshot("wage", wages(HEAD_ID, "1500", before=today), period=today)
    case = case_awaiting_check(clerk, household, today, ["张建军", "李红梅"])
    case_url = f"/cases/{case.pk}/"

    # --- the reviewer opens the case
    page.goto(case_url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(page, reviewer.username, PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))
    expect(page.get_by_test_id("state")).to_have_text("家庭经济状况调查中")
    expect(page.get_by_test_id("check-summary")).to_have_count(0)

    # --- the record-check form: the manual fields appear only with the box ticked
    form = page.get_by_test_id("action-record_check")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    manual = form.get_by_label("手工登记核对结果（无法联网核对时）")
    per_capita = form.get_by_label("家庭人均月收入（元）")
    expect(manual).not_to_be_checked()
    expect(per_capita).to_be_hidden()
    manual.check()
    expect(per_capita).to_be_visible()
    manual.uncheck()
    expect(per_capita).to_be_hidden()

    # --- record the check: the engine runs, the page shows the verdict
    form.get_by_role("button", name="登记核对结果", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已办理“登记核对结果”")).to_be_visible()
    summary = page.get_by_test_id("check-summary")
    expect(summary.get_by_test_id("check-verdict")).to_have_text("符合低保条件")
    expect(summary).to_contain_text("家庭人均月收入：433.33元/月")
    expect(summary.get_by_test_id("check-amount")).to_have_text("500.00元/月")
    event = page.get_by_test_id("events").locator("tbody tr").filter(has_text="登记核对结果")
    expect(event).to_contain_text("符合低保条件")
    result = CheckResult.objects.get(case=case)

    # --- the report
    summary.get_by_test_id("check-report").click()
    expect(page).to_have_url(re.compile(rf"/checks/results/{result.pk}/$"))
    expect(page.get_by_test_id("verdict-label")).to_have_text("符合低保条件")
    expect(page.get_by_test_id("amount")).to_have_text("500.00 元")
    expect(page.get_by_test_id("per-capita")).to_have_text("433.33 元")
    expect(page.get_by_test_id("members")).to_contain_text(masked(HEAD_ID))
    expect(page.get_by_test_id("members")).to_contain_text("赵*福")
    expect(page.get_by_test_id("reasons")).to_contain_text("补差 600.00 × 3 − 1,300.00 = 500.00 元")
    expect(page.get_by_test_id("parameters")).to_contain_text("农村低保标准（元/月）")
    content = page.content()
    assert HEAD_ID not in content and "赵永福" not in content
    pdf = page.request.get(page.get_by_test_id("report-pdf").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "check-report.png"), full_page=True)

    # --- back to the case: complete the investigation, then the first review shows the check
    page.get_by_role("link", name="返回案件").click()
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))
    form = page.get_by_test_id("action-complete_investigation")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    form.get_by_label("调查情况").fill("入户核实：户主务工，配偶务农，子女在校。")
    form.get_by_role("button", name="完成调查", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已办理“完成调查”")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("待乡镇初审")

    summary = page.get_by_test_id("check-summary")
    expect(summary).to_contain_text("初审参考")
    expect(summary.get_by_test_id("check-verdict")).to_have_text("符合低保条件")
    review = page.get_by_test_id("action-first_review")
    expect(review.get_by_label("拟救助金额（元/月）")).to_have_value("500.00")
    expect(review).to_contain_text("核对测算金额 500.00 元/月（")
    expect(review).to_contain_text("补差 1,800.00 − 1,300.00 = 500.00 元")
    page.screenshot(path=str(ARTIFACTS / "check-first-review.png"), full_page=True)

    review.get_by_label("拟批准", exact=True).check()
    review.get_by_role("button", name="乡镇初审", exact=True).click()
    expect(page.get_by_test_id("state")).to_have_text("公示中")
    case = Case.objects.get(pk=case.pk)
    assert str(case.proposed_amount) == "500.00"


def test_approver_is_refused_on_a_not_eligible_check_then_overrides_with_reasons(
    page,  # noqa: F811
    live_server,
    regions,
    make_user,
    set_params,
    make_snapshot,
):
    """Issue 15 §1: the check says 不符合; the county approver's approval is refused until the override's reasons
    are given, and the override then shows on the case page (and its reasons in the event log)."""
    import datetime

    from minzheng.cases import services as cases
    from minzheng.cases.models import Case

    today = timezone.localdate()
    clerk = make_user("clerk")
    reviewer = make_user("township_reviewer")
    approver = make_user("county_approver")
    household = _family(clerk, "张北县张北镇南壕堑村9号")
    # A wage of 9,000 a month: the check finds the household above the standard (不符合).
    set_params(**EXAMPLE_1)
    delivered = today - datetime.timedelta(days=30)
    make_snapshot("wage", wages(HEAD_ID, "9000", before=delivered), period=delivered)
    day = today - datetime.timedelta(days=20)
    case = case_awaiting_check(clerk, household, day, ["张建军", "李红梅"])
    cases.act(reviewer, case.pk, "record_check", today=day)
    assert case.events.get(action="record_check").data["eligible"] is False
    cases.act(clerk, case.pk, "complete_investigation", findings="入户核实", today=day)
    reviewed = today - datetime.timedelta(days=15)
    cases.act(
        reviewer,
        case.pk,
        "first_review",
        opinion="approve",
        amount="300",
        override_reasons="户主九月起停工，工资数据尚未更新，入户核实属实",
        today=reviewed,
    )
    cases.act(reviewer, case.pk, "end_notice", today=reviewed + datetime.timedelta(days=7))
    case_url = f"/cases/{case.pk}/"

    page.goto(case_url)
    log_in(page, approver.username, PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))
    expect(page.get_by_test_id("state")).to_have_text("待审核确认")
    expect(page.get_by_test_id("check-verdict")).to_have_text("不符合救助条件")
    form = page.get_by_test_id("action-approve")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    expect(form).to_contain_text("核对结论为“不符合救助条件”，不能据以确认低保")

    # --- without an override: refused in Chinese, nothing changes
    form.get_by_role("button", name="审核确认：批准", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="“审核确认：批准”未办理：核对结果不支持此项确认")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("待审核确认")
    assert Case.objects.get(pk=case.pk).state == "county_review"

    # --- with the override's reasons: approved, and the override is on the case page
    form = page.get_by_test_id("action-approve")
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    form.get_by_label("越过核对结果的理由").fill("县级入户核查：户主已停工三个月，家庭实际收入低于低保标准")
    form.get_by_role("button", name="审核确认：批准", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已办理“审核确认：批准”")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("已批准")
    overrides = page.get_by_test_id("check-overrides")
    expect(overrides.get_by_test_id("check-override")).to_have_count(2)
    expect(overrides).to_contain_text("县级入户核查：户主已停工三个月，家庭实际收入低于低保标准")
    expect(overrides).to_contain_text("不符合救助条件")
    event = page.get_by_test_id("events").locator("tbody tr").filter(has_text="审核确认：批准")
    expect(event).to_contain_text("越过核对结果确认")
    assert (
        Case.objects.get(pk=case.pk)
        .events.get(action="approve")
        .data["check_override"]["reasons"]
        .startswith("县级入户核查")
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "check-override.png"), full_page=True)

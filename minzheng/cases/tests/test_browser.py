"""Real-browser walk-through of a 低保 application (Playwright driving Debian's Chromium against the live server).

A township window clerk accepts an application with one material missing, issues the one-time notice (一次性告知书,
read back from the real PDF), completes the materials and accepts; the investigation is recorded, with the data check
the clerk requests and the township reviewer records (a paper result); the reviewer proposes approval, posts it and,
once the 7-day notice has run, sends it on; the county approver confirms, and the approval notice (批准通知书) is read
back from its PDF.

The notice period cannot elapse inside a test, so the whole walk is backdated through the forms' own date fields
(申请日期 on the intake form, 办理日期 on every action), as a clerk recording paper-first work would do.
"""

import datetime
import io
import re

import pypdf
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

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

HEAD_ID = make_id_number("130722", "19750612", 13)  # male
SPOUSE_ID = make_id_number("130722", "19780921", 24)  # female
MISSING = "家庭收入及财产情况申报表"
DATE_LABEL = "办理日期（默认今天）"
CHECKED = "民政、人社、不动产等部门纸质核对：未见大额存款、车辆和经营收入"


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


def pdf_text(pdf: bytes) -> str:
    """All pages' text with whitespace removed (extraction breaks lines inside CJK runs)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join("".join((p.extract_text() or "").split()) for p in reader.pages)


def fetch_pdf(tab, label: str) -> str:
    """Follow the case page's link to a notice (served inline) with the page's cookies; return the PDF's text."""
    link = tab.get_by_test_id("documents").get_by_role("link", name=f"{label}（PDF）")
    expect(link).to_be_visible()
    response = tab.request.get(link.get_attribute("href"))
    assert response.ok, response.status
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    body = response.body()
    assert body.startswith(b"%PDF-")
    return pdf_text(body)


def act(tab, code: str, label: str, on: datetime.date | None, fill=None) -> None:
    """Take one action through its form on the case page and check the page reports it done."""
    form = tab.get_by_test_id(f"action-{code}")
    expect(form).to_be_visible()
    if not form.evaluate("details => details.open"):
        form.locator("summary").click()
    if fill:
        fill(form)
    if on is not None:
        form.get_by_label(DATE_LABEL).fill(on.isoformat())
    form.get_by_role("button", name=label, exact=True).click()
    expect(tab.get_by_role("alert").filter(has_text=f"已办理“{label}”")).to_be_visible()


def switch_user(tab, case_url: str, username: str) -> None:
    tab.get_by_role("button", name="退出").click()
    expect(tab).to_have_url(re.compile(r"/accounts/login/"))
    tab.goto(case_url)
    expect(tab).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(tab, username, PASSWORD)
    expect(tab).to_have_url(re.compile(re.escape(case_url) + "$"))


def test_dibao_application_from_missing_material_to_approval(page, live_server, regions, make_user):  # noqa: F811
    from minzheng.cases.models import Case
    from minzheng.registry.services import HouseholdData, MemberData, PersonData, create_household

    clerk = make_user("clerk")  # 张北镇
    reviewer = make_user("township_reviewer")  # 张北镇
    approver = make_user("county_approver")  # 张北县
    household = create_household(
        clerk,
        HouseholdData(
            region_code=VILLAGE,
            address="张北县张北镇南壕堑村26号",
            members=[
                MemberData("02", PersonData(name="赵永福", id_number=HEAD_ID)),
                MemberData("12", PersonData(name="孙桂芝", id_number=SPOUSE_ID)),
            ],
        ),
    )

    # The walk, backdated: the notice ran from first review for 7 days, ending before today; approval today.
    today = timezone.localdate()  # the server's today (Asia/Shanghai), not the machine's
    applied = today - datetime.timedelta(days=20)
    completed = today - datetime.timedelta(days=18)
    investigation_started = today - datetime.timedelta(days=17)
    visited = today - datetime.timedelta(days=16)
    investigated = today - datetime.timedelta(days=15)
    reviewed = today - datetime.timedelta(days=12)
    notice_ended = reviewed + datetime.timedelta(days=7)  # the earliest the notice may end
    assert notice_ended < today

    # --- the clerk opens the household and starts an application from it
    page.goto(f"/registry/households/{household.pk}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(page, clerk.username, PASSWORD)
    expect(page.get_by_test_id("household-number")).to_have_text(household.number)
    page.get_by_role("main").get_by_role("link", name="受理申请").click()
    expect(page).to_have_url(re.compile(rf"/cases/new/\?household={household.pk}$"))
    intake = page.get_by_test_id("intake-form")
    expect(page.get_by_test_id("household")).to_contain_text(household.number)
    expect(intake.get_by_label("申请人")).to_contain_text(masked(HEAD_ID))
    assert HEAD_ID not in page.content()

    # Choosing the item swaps in its materials (htmx); tick everything but the income statement.
    intake.get_by_label("服务事项").select_option("dibao")
    materials = page.get_by_test_id("choices-materials")
    expect(materials.get_by_label("最低生活保障申请书")).to_be_visible()
    expect(page.get_by_test_id("shared-materials")).to_contain_text("家庭成员身份证件、户口簿")
    materials.get_by_label("最低生活保障申请书").check()
    materials.get_by_label("重病诊断证明及医疗费用票据（如有）").check()
    expect(materials.get_by_label(MISSING)).not_to_be_checked()
    page.get_by_test_id("signatures").get_by_label("已签署家庭经济状况核对授权书").check()
    page.get_by_test_id("signatures").get_by_label("已签署如实申报承诺书").check()
    intake.get_by_label("申请日期").fill(applied.isoformat())
    intake.get_by_role("button", name="提交受理").click()

    # --- the case page: pending, the missing material named
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    case_url = page.url.removeprefix(live_server.url)
    case = Case.objects.get(pk=int(re.search(r"/cases/(\d+)/", case_url).group(1)))
    expect(page.get_by_role("alert")).to_contain_text("材料不齐，请出具一次性告知书")
    expect(page.get_by_test_id("state")).to_have_text("待补齐材料")
    expect(page.get_by_test_id("missing")).to_contain_text(MISSING)
    expect(page.get_by_test_id("missing")).not_to_contain_text("最低生活保障申请书")
    expect(page.get_by_test_id("materials").locator("tr[data-status=missing]")).to_contain_text(MISSING)
    expect(page.get_by_test_id("applicant-id")).to_have_text(masked(HEAD_ID))

    # --- the one-time notice, and its PDF
    act(page, "notify_missing", "出具一次性告知书", applied)
    notice = fetch_pdf(page, "一次性告知书")
    assert "一次性告知书" in notice
    assert MISSING in notice
    assert "最低生活保障申请书" not in notice  # only what is missing
    assert case.number in notice
    assert HEAD_ID not in notice and SPOUSE_ID not in notice
    assert masked(HEAD_ID) in notice

    # --- the materials completed, and accepted
    def tick_missing(form):
        form.get_by_label(MISSING).check()
        expect(form.get_by_label("补齐后受理")).to_be_checked()

    act(page, "complete_materials", "补齐材料", completed, tick_missing)
    expect(page.get_by_test_id("state")).to_have_text("已受理，待调查")
    expect(page.get_by_test_id("missing")).to_have_count(0)

    # --- the investigation
    def investigators(form):
        form.get_by_role("textbox", name="调查人员1").fill("张建军")
        form.get_by_role("textbox", name="调查人员2").fill("李红梅")

    act(page, "start_investigation", "启动入户调查", investigation_started, investigators)
    expect(page.get_by_test_id("state")).to_have_text("家庭经济状况调查中")

    # --- the data check the proposal will stand on (issue 15 §1): the clerk requests it, the township reviewer
    # records the departments' paper result (the data exchange is not part of this walk)
    act(page, "request_check", "提请信息核对", investigation_started)
    switch_user(page, case_url, reviewer.username)

    def paper_check(form):
        form.get_by_label("核对结果说明").fill(CHECKED)
        form.get_by_label("手工登记核对结果（无法联网核对时）").check()
        form.get_by_label("家庭人均月收入（元）").fill("286.50")

    act(page, "record_check", "登记核对结果", visited, paper_check)
    expect(page.get_by_test_id("state")).to_have_text("家庭经济状况调查中")
    switch_user(page, case_url, clerk.username)

    def findings(form):
        form.get_by_label("入户调查日期").fill(visited.isoformat())
        form.get_by_label("调查情况").fill("户主患慢性病，无固定收入；配偶务农，家庭无机动车辆，住房为自建平房。")
        form.get_by_label("家庭人均月收入（元）").fill("286.50")

    act(page, "complete_investigation", "完成调查", investigated, findings)
    expect(page.get_by_test_id("state")).to_have_text("待乡镇初审")

    # --- the township reviewer: first review, then the end of the notice
    switch_user(page, case_url, reviewer.username)

    def propose(form):
        form.get_by_label("拟批准", exact=True).check()
        form.get_by_label("拟救助金额（元/月）").fill("300")

    act(page, "first_review", "乡镇初审", reviewed, propose)
    expect(page.get_by_test_id("state")).to_have_text("公示中")
    act(page, "end_notice", "公示期满，报送审核确认", notice_ended)
    expect(page.get_by_test_id("state")).to_have_text("待审核确认")

    # --- the county approver confirms (办理日期 left blank: today)
    switch_user(page, case_url, approver.username)
    approve = page.get_by_test_id("action-approve")
    expect(approve.get_by_label("核定救助金额（元/月）")).to_have_value("300.00")
    act(page, "approve", "审核确认：批准", None)
    expect(page.get_by_test_id("state")).to_have_text("已批准")
    expect(page.get_by_test_id("decided-amount")).to_have_text("300.00元/月")
    expect(page.get_by_test_id("no-actions")).to_contain_text("案件已办结")

    case.refresh_from_db()
    start_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)  # pay_start = next_month
    assert case.state == "approved" and case.decided_on == today and case.start_month == start_month
    assert case.submitted_on == applied and case.accepted_on == completed

    # --- the case page after approval: deadlines, the event log, the masked identity number
    deadlines = page.get_by_test_id("deadlines")
    expect(deadlines).to_be_visible()
    survey = page.get_by_test_id("deadline-survey")
    expect(survey).to_contain_text(completed.isoformat())
    expect(survey).to_contain_text(investigation_started.isoformat())
    expect(survey).to_contain_text("按时完成")
    notice_row = page.get_by_test_id("deadline-notice")
    expect(notice_row).to_contain_text(reviewed.isoformat())
    expect(notice_row).to_contain_text(notice_ended.isoformat())
    expect(page.get_by_test_id("deadline-county")).to_contain_text("按时完成")
    expect(page.get_by_test_id("deadline-total")).to_contain_text("办理总时限")
    expect(page.get_by_test_id("deadline-total")).to_contain_text("按时完成")

    steps = [
        ("提交申请", applied, "测试clerk", "窗口受理"),
        ("出具一次性告知书", applied, "测试clerk", MISSING),
        ("补齐材料", completed, "测试clerk", MISSING),
        ("受理", completed, "测试clerk", "已受理，待调查"),
        ("启动入户调查", investigation_started, "测试clerk", "张建军、李红梅"),
        ("提请信息核对", investigation_started, "测试clerk", "提请信息核对"),
        ("登记核对结果", visited, "测试township_reviewer", CHECKED),
        ("完成调查", investigated, "测试clerk", "286.50元/月"),
        ("乡镇初审", reviewed, "测试township_reviewer", "300.00元/月"),
        ("公示期满，报送审核确认", notice_ended, "测试township_reviewer", "待审核确认"),
        ("审核确认：批准", today, "测试county_approver", f"{start_month:%Y年%m月}"),
    ]
    rows = page.get_by_test_id("events").locator("tbody tr")
    expect(rows).to_have_count(len(steps))
    for index, (label, on, actor, detail) in enumerate(steps):
        row = rows.nth(index)
        expect(row.locator("td").nth(1)).to_have_text(on.isoformat())
        expect(row.locator("td").nth(2)).to_have_text(label)
        expect(row.locator("td").nth(3)).to_have_text(actor)
        expect(row).to_contain_text(detail)

    expect(page.get_by_test_id("applicant-id")).to_have_text(masked(HEAD_ID))
    expect(page.get_by_test_id("applicant")).not_to_have_text("赵永福")
    content = page.content()
    assert HEAD_ID not in content and SPOUSE_ID not in content

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-approved.png"), full_page=True)

    # --- the decision, as PDF
    decision = fetch_pdf(page, "批准通知书")
    assert "批准通知书" in decision
    assert "300.00" in decision
    assert f"{start_month.year}年{start_month.month}月" in decision
    assert f"自{start_month.year}年{start_month.month}月起发放" in decision
    assert "张北县民政局" in decision
    assert HEAD_ID not in decision and SPOUSE_ID not in decision

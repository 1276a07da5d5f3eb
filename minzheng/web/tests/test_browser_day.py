"""The officer's day in a real browser (Playwright driving Debian's Chromium against the live server; issue 15 §4).

A township clerk lands on the workbench (待办 with 超期/临期, a warning to visit, a referral past its reply date),
follows the overdue count into the queue, opens the household page with its cases, benefit and warnings, searches by
a part of a name and by an identity-number tail, and exports the queue. The city leader drills the overview from the
city to a county and picks a township from the division tree. At 390 px (a phone) the public notice, the queue, the
household page, the search results and the warning pages do not scroll sideways: their tables are stacked cards.
"""

import datetime
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

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

PHONE = {"width": 390, "height": 844}
HEAD_ID = make_id_number("130722", "19660707", 151)


def _previous_workday(day: datetime.date) -> datetime.date:
    from minzheng.core.workdays import WorkingCalendar

    calendar = WorkingCalendar()
    day -= datetime.timedelta(days=1)
    while not calendar.is_workday(day)[0]:
        day -= datetime.timedelta(days=1)
    return day


def _received(service: str) -> list[str]:
    from minzheng.policy.models import ServiceItem

    return list(ServiceItem.objects.get(code=service).materials.values_list("code", flat=True))


def _world(make_user):
    """Officers, two households and their cases, a notice on the board, a referral and a warning — all dated
    relative to today, as the live server runs on the real clock."""
    from minzheng.cases import referrals, services
    from minzheng.monitoring.models import Alert
    from minzheng.registry import services as registry
    from minzheng.registry.services import HouseholdData, MemberData, PersonData

    today = timezone.localdate()
    clerk = make_user("clerk", last_name="王", first_name="丽娟")
    reviewer = make_user("township_reviewer", last_name="李", first_name="建国")
    people = []
    for seq, name, number in ((1, "欧阳阿依古丽", HEAD_ID), (2, "司马长风", make_id_number(seq=152))):
        people.append(
            registry.create_household(
                clerk,
                HouseholdData(
                    region_code=VILLAGE,
                    address=f"张北县张北镇南壕堑村幸福大街第{seq}巷一百二十八号院东侧平房",
                    members=[
                        MemberData("02", PersonData(name=name, id_number=number)),
                        MemberData(
                            "20",
                            PersonData(
                                name=name[:2] + "小宝", id_number=make_id_number("130722", "20150505", 150 + seq * 2)
                            ),
                        ),
                    ],
                ),
            )
        )
    first, second = people

    def apply(household, service, on):
        return services.open_application(
            clerk,
            household_id=household.pk,
            service_code=service,
            applicant_id=household.head_id,
            channel="window",
            received=_received(service),
            authorisation_signed=True,
            pledge_signed=True,
            today=on,
        )

    overdue = apply(first, "dibao", today - datetime.timedelta(days=30))  # investigation due long ago
    soon = apply(second, "dibao", _previous_workday(today))  # investigation due in 2 working days
    posted = apply(first, "temp_expense", today - datetime.timedelta(days=3))  # on the notice board
    services.act(
        clerk, posted.pk, "start_investigation", investigators=["甲", "乙"], today=today - datetime.timedelta(2)
    )
    services.act(clerk, posted.pk, "complete_investigation", findings="属实", today=today - datetime.timedelta(days=2))
    services.act(
        reviewer, posted.pk, "first_review", opinion="approve", amount="4252.00", today=today - datetime.timedelta(1)
    )
    referrals.refer(
        clerk, household_id=first.pk, department="health", need="大病医疗救助，住院自付费用较高", days=2,
        today=today - datetime.timedelta(days=20),
    )  # fmt: skip
    alert = Alert.objects.create(
        number="JC2026009999",
        household=first,
        person=first.head,
        region_id=VILLAGE,
        rule="medical_high",
        signal_key="browser",
        suggested_outcome="temp",
        summary="近12个月个人自付医疗费用较高，建议核实是否需要临时救助或医疗救助",
        signal_on=today - datetime.timedelta(days=10),
        raised_on=today - datetime.timedelta(days=9),
        due_on=today - datetime.timedelta(days=1),
    )
    return {"clerk": clerk, "households": people, "cases": (overdue, soon, posted), "alert": alert}


def test_clerk_works_the_day_from_the_workbench(page, live_server, regions, make_user):  # noqa: F811
    world = _world(make_user)
    first, _second = world["households"]
    overdue, _soon, posted = world["cases"]
    page.goto("/")
    log_in(page, world["clerk"].username, PASSWORD)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    queue = page.get_by_test_id("panel-queue")
    expect(queue.get_by_test_id("wb-queue-overdue")).to_contain_text("超期 1")
    expect(queue.get_by_test_id("wb-queue-due-soon")).to_contain_text("临期 1")
    expect(queue.get_by_role("link", name=overdue.number)).to_be_visible()
    expect(page.get_by_test_id("panel-warnings").get_by_role("link", name="JC2026009999")).to_be_visible()
    expect(page.get_by_test_id("panel-referrals")).to_contain_text("逾期")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workbench-clerk.png"), full_page=True)

    # 超期 leads to the overdue cases only.
    queue.get_by_test_id("wb-queue-overdue").click()
    expect(page).to_have_url(re.compile(r"/cases/\?overdue=1"))
    rows = page.get_by_test_id("queue-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-number", overdue.number)

    # The queue is searched by any part of the name (masked in the list) and by case number.
    page.get_by_label("案件编号或申请人姓名").fill("阿依")
    page.get_by_label("只看超期").uncheck()
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("queue-row")).to_have_count(1)  # the posted case is not the clerk's next step
    expect(page.get_by_test_id("queue-row").first).to_contain_text("欧****丽")

    # The household page: its cases (open and closed), benefit, warnings and checks, with links.
    page.goto(f"/registry/households/{first.pk}/")
    cases = page.get_by_test_id("household-cases")
    expect(cases.get_by_role("link", name=overdue.number)).to_be_visible()
    expect(cases.get_by_role("link", name=posted.number)).to_be_visible()
    expect(cases).to_contain_text("拟 4252.00元")
    expect(page.get_by_test_id("entitlements")).to_contain_text("暂无救助待遇")
    expect(page.get_by_test_id("household-alerts").get_by_role("link", name="JC2026009999")).to_be_visible()
    expect(page.get_by_test_id("household-referrals")).to_contain_text("卫生健康")
    page.screenshot(path=str(ARTIFACTS / "household-page.png"), full_page=True)
    cases.get_by_role("link", name=overdue.number).click()
    expect(page.get_by_test_id("case-number")).to_have_text(overdue.number)
    # The next step is open and first; withdrawing asks first (dismissed here: nothing happens).
    expect(page.locator("details[data-next]")).to_have_attribute("data-testid", "action-start_investigation")
    page.once("dialog", lambda dialog: dialog.dismiss())
    withdraw = page.get_by_test_id("action-withdraw")
    if not withdraw.evaluate("details => details.open"):
        withdraw.locator("summary").click()
    withdraw.get_by_role("button", name="申请人撤回").click()
    expect(page.get_by_test_id("state")).to_have_text("已受理，待调查")

    # Search by the tail of an identity number.
    page.goto("/registry/")
    page.get_by_label("查询", exact=True).fill(HEAD_ID[-6:])
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("household-results").get_by_role("link", name=first.number)).to_be_visible()

    # The queue's Excel export arrives as a file.
    page.goto("/cases/")
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_leader_drills_the_overview_and_picks_a_township(page, live_server, regions, make_user):  # noqa: F811
    _world(make_user)
    leader = make_user("leader")
    page.goto("/cases/")
    log_in(page, leader.username, PASSWORD)
    expect(page.get_by_role("heading", name="在办案件总览")).to_be_visible()
    counts = page.get_by_test_id("region-counts")
    expect(counts).to_contain_text("张北县")
    counts.get_by_role("row").filter(has_text="张北县").get_by_role("link").click()
    expect(page.get_by_test_id("queue-trail")).to_contain_text("张北县")
    expect(page.get_by_test_id("region-counts")).to_contain_text("张北镇")
    # The same choice from the division tree: 张北县 ▸ 公会镇 (no cases there).
    page.goto("/cases/")
    picker = page.get_by_test_id("picker-region")
    picker.get_by_text("从区划树选择").click()
    picker.locator('[data-code="130722000000"] > details > summary').click()
    picker.locator('[data-pick-code="130722101"]').click()
    expect(picker.locator("[data-picked-name]")).to_have_text("公会镇")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("queue-trail")).to_contain_text("公会镇")
    expect(page.get_by_test_id("queue-row")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "overview-leader.png"), full_page=True)


def _assert_fits(tab, name: str) -> None:
    width = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    tab.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    assert width[0] <= width[1], f"{name}: {width[0]} px wide in a {width[1]} px window"


def test_pages_fit_a_phone(browser, live_server, regions, make_user):  # noqa: F811
    world = _world(make_user)
    first, _second = world["households"]
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
    context.set_default_timeout(15_000)
    phone = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        phone.goto(f"/public/notice/{VILLAGE}/")
        expect(phone.get_by_test_id("notice-row")).to_have_count(1)
        _assert_fits(phone, "public-notice")
        phone.goto(f"/public/published/{VILLAGE}/")
        _assert_fits(phone, "published")
        phone.goto("/accounts/login/")
        log_in(phone, world["clerk"].username, PASSWORD)
        expect(phone.get_by_role("heading", name="工作台")).to_be_visible()
        _assert_fits(phone, "workbench")
        for name, url, ready in (
            ("queue", "/cases/", "queue-row"),
            ("household", f"/registry/households/{first.pk}/", "household-case"),
            ("search", "/registry/?q=欧阳", "household-results"),
            ("alerts", "/monitoring/alerts/", "alerts"),
            ("alert", f"/monitoring/alerts/{world['alert'].pk}/", "evidence"),
            ("case", f"/cases/{world['cases'][0].pk}/", "events"),
        ):
            phone.goto(url)
            expect(phone.get_by_test_id(ready).first).to_be_visible()
            _assert_fits(phone, name)
        # A stacked row reads as a card: the column name beside each value.
        phone.goto("/cases/")
        cell = phone.get_by_test_id("queue-row").first.locator("td").nth(1)
        assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"事项"'
        # The case's time limits too: six columns squeezed to 390 px wrapped every date over two lines.
        phone.goto(f"/cases/{world['cases'][0].pk}/")
        limit = phone.get_by_test_id("deadlines").locator("tbody tr").first.locator("td").nth(3)
        assert limit.evaluate("td => getComputedStyle(td, '::before').content") == '"截止日期"'
    finally:
        context.close()

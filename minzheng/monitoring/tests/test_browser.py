"""Real-browser walk-through of 低收入人口动态监测 (Playwright driving Debian's Chromium against the live server).

公安 reports the death of a member of a 低保 household; the county officer starts a monitoring sweep from the page and
a warning appears. The village assistant opens the warning, records the home visit and closes it by opening a
动态复核 case (dibao_review); the page links to the new case, which is accepted and waiting for investigation. The
household's rescue chain then shows the signal, the warning, the visit and the case, and the county's dashboard
draws its charts.
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

from .conftest import D

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

HEAD_ID = make_id_number("130722", "19580304", 13)
SPOUSE_ID = make_id_number("130722", "19600817", 24)


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q runs the queued sweep inline (as with Q_SYNC=1), inside the live server's request."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def test_death_signal_becomes_a_review_case(page, live_server, regions, make_user, make_snapshot, sync_tasks):  # noqa: F811
    from minzheng.cases.models import Case
    from minzheng.monitoring.models import Alert, EntrySource, MonitoredEntry, Visit
    from minzheng.registry.services import HouseholdData, MemberData, PersonData, create_household

    officer = make_user("county_approver")
    assistant = make_user("assistant", region=VILLAGE)
    household = create_household(
        officer,
        HouseholdData(
            region_code=VILLAGE,
            address="张北县张北镇南壕堑村15号",
            area_type="rural",
            members=[
                MemberData("02", PersonData(name="王德顺", id_number=HEAD_ID)),
                MemberData("12", PersonData(name="李秀兰", id_number=SPOUSE_ID)),
            ],
        ),
    )
    for m in household.current_memberships():
        MonitoredEntry.objects.create(
            person=m.person,
            household=household,
            region_id=VILLAGE,
            category="dibao",
            start_on=D(2025, 1, 1),
            source=EntrySource.MANUAL,  # automatic (case) entries would be re-derived from decisions by the sweep
            reference="入户走访登记",
        )
    make_snapshot(
        "civil_status",
        [{"id_number": SPOUSE_ID, "event": "death", "event_on": D(2026, 10, 20)}],
        period=D(2026, 10, 31),
    )

    # --- the county officer starts a sweep
    page.goto("/monitoring/sweeps/")
    log_in(page, officer.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/monitoring/sweeps/$"))
    form = page.get_by_test_id("run-form")
    # The region is picked from the division tree; the county officer's own county is preselected.
    expect(form.get_by_test_id("picker-region").locator("input[type=hidden]")).to_have_value("130722")
    expect(form.get_by_test_id("picker-region").locator("[data-picked-name]")).to_have_text("张北县")
    form.get_by_label("比对基准日").fill("2026-11-01")
    form.get_by_role("button", name="开始比对").click()
    expect(page).to_have_url(re.compile(r"/monitoring/sweeps/\d+/$"))
    expect(page.get_by_test_id("run-progress")).to_have_attribute("data-status", "complete")
    expect(page.get_by_test_id("by-rule")).to_contain_text("监测家庭成员死亡")
    alert = Alert.objects.get()
    assert alert.rule == "death_member" and alert.suggested_outcome == "stop"

    # --- the dashboard draws its charts from the vendored ECharts
    page.goto("/monitoring/dashboard/")
    expect(page.locator("#chart-rules canvas")).to_have_count(1)
    expect(page.get_by_test_id("table-rules")).to_contain_text("监测家庭成员死亡")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitoring-dashboard.png"), full_page=True)
    page.get_by_role("button", name="退出").click()

    # --- the village assistant opens the warning
    page.goto("/monitoring/alerts/")
    log_in(page, assistant.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/monitoring/alerts/$"))
    row = page.get_by_test_id("alert-row").filter(has_text=alert.number)
    expect(row).to_contain_text("监测家庭成员死亡")
    expect(row).to_contain_text(masked(SPOUSE_ID))
    expect(row).to_contain_text("李*兰")
    assert SPOUSE_ID not in page.content() and "李秀兰" not in page.content()
    row.get_by_role("link", name=alert.number).click()
    expect(page.get_by_test_id("alert-summary")).to_contain_text("低保家庭成员死亡（2026-10-20）")
    expect(page.get_by_test_id("alert-action-due")).to_contain_text("2027-01-20")
    expect(page.get_by_test_id("evidence")).to_contain_text("死亡")

    # --- records the home visit
    visit = page.get_by_test_id("visit-form")
    expect(visit.get_by_label("走访日期")).to_have_value(timezone.localdate().isoformat())
    visit.get_by_label("核实结论").select_option(label="情况属实")
    visit.get_by_label("走访情况").fill("入户核实：李秀兰已于10月20日病故，户主独居。")
    visit.get_by_label("家庭主要需求").fill("户主年老多病，需定期探访")
    visit.get_by_role("button", name="登记走访").click()
    expect(page.get_by_role("alert").filter(has_text="已登记入户核实情况")).to_be_visible()
    expect(page.get_by_test_id("alert-status")).to_have_text("已走访，待处置")
    expect(page.get_by_test_id("visits")).to_contain_text("户主独居")
    assert Visit.objects.filter(alert=alert).count() == 1

    # --- closes it by opening a 动态复核 case (the suggested outcome and service are preselected)
    close = page.get_by_test_id("close-form")
    expect(close.get_by_label("处置结果")).to_have_value("stop")
    expect(close.get_by_label("创建申请/复核案件", exact=True)).to_be_checked()
    expect(close.get_by_label("办理事项（创建申请/复核案件时选择）")).to_have_value("dibao_review")
    close.get_by_label("处置说明").fill("成员死亡，家庭人口变化，启动低保动态复核。")
    close.get_by_role("button", name="办结").click()
    expect(page.get_by_role("alert").filter(has_text="已办结")).to_be_visible()
    expect(page.get_by_test_id("alert-status")).to_have_text("已办结")
    case = Case.objects.get()
    link = page.get_by_test_id("case-link")
    expect(link).to_have_text(case.number)
    page.screenshot(path=str(ARTIFACTS / "monitoring-alert-closed.png"), full_page=True)

    # --- the new re-check case: accepted, proactive, waiting for the investigation
    link.click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.get_by_test_id("state")).to_have_text("已受理，待调查")
    # …on the clock the death set: 复核 within the parameter's months of it
    alert_due = Alert.objects.get(case=case).action_due_on
    expect(page.get_by_test_id("deadline-review")).to_contain_text(f"{alert_due:%Y-%m-%d}")
    case.refresh_from_db()
    assert case.state == "accepted" and case.service.code == "dibao_review" and case.channel == "proactive"

    # --- the household's rescue chain
    page.goto(f"/monitoring/households/{household.pk}/chain/")
    chain = page.get_by_test_id("chain")
    for kind in ("register", "signal", "alert", "visit", "closure", "case"):
        expect(chain.locator(f'tr[data-kind="{kind}"]').first).to_be_visible()
    expect(chain).to_contain_text(case.number)
    page.screenshot(path=str(ARTIFACTS / "monitoring-chain.png"), full_page=True)

"""A long case history on a phone (390 px, issue 18): the case page shows the latest events with the total, and the
pager leads back to the application and its acceptance and forward again — the page no wider than the screen."""

import re

import pytest
from playwright.sync_api import expect

from minzheng.browser_fixtures import ARTIFACTS, browser, log_in, page, requires_chromium  # noqa: F401
from minzheng.conftest import PASSWORD

from .test_case_history import _record, _to_notice

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]

PHONE = {"width": 390, "height": 844}


def _fits(tab, name: str) -> None:
    width = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    tab.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    assert width[0] <= width[1], f"{name}: {width[0]} px wide in a {width[1]} px window"


def test_long_history_pages_on_a_phone(page, live_server, regions, officers, apply):  # noqa: F811
    case = _to_notice(apply(), officers)
    total = _record(case, officers["clerk"], 70)
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(PHONE)
    url = f"{live_server.url}/cases/{case.pk}/"
    page.goto(url)
    log_in(page, officers["clerk"].username, PASSWORD)
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))

    rows = page.get_by_test_id("events").locator("tbody tr")
    expect(rows).to_have_count(30)
    expect(page.get_by_test_id("events-total")).to_contain_text(f"共 {total} 条记录")
    expect(page.get_by_test_id(f"event-{total}")).to_be_visible()
    _fits(page, "case-history-latest")

    page.get_by_test_id("events-first").click()
    expect(page).to_have_url(re.compile(r"\?events_page=\d+#history$"))
    expect(page.get_by_test_id("event-1")).to_contain_text("提交申请")
    expect(page.get_by_test_id("event-2")).to_contain_text("受理")
    expect(page.get_by_test_id("events-earlier")).to_have_count(0)
    _fits(page, "case-history-first")

    page.get_by_test_id("events-later").click()
    expect(rows).to_have_count(30)
    page.get_by_test_id("events-latest").click()
    expect(page.get_by_test_id(f"event-{total}")).to_be_visible()
    expect(page.get_by_test_id("events-later")).to_have_count(0)

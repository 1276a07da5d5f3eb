"""Real-browser walk-through (Playwright, Debian's Chromium): the bureau head creates the seed's scenario (urban +8 %,
rural +15 %), runs it, reads the cost by county and a county's townships, compares it with the 边缘 ×2.0 scenario,
and exports the PDF brief, whose text is read back."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from minzheng.browser_fixtures import (  # noqa: F401  (fixtures used by name)
    browser,
    log_in,
    page,
    requires_chromium,
)
from minzheng.checks.tests.test_views import sync_tasks  # noqa: F401  (fixture used by name)
from minzheng.conftest import PASSWORD

from .conftest import FROM

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]


def test_leader_simulates_compares_and_exports_the_brief(
    page,  # noqa: F811
    live_server,
    regions,
    make_user,
    population,
    leader,
    sync_tasks,  # noqa: F811
):
    from minzheng.simulation import services

    other = services.create_scenario(
        leader, name="低保边缘上限2倍", region_code="1307", effective_from=FROM, changes=["dibao.edge_multiplier=2"]
    )
    services.run_scenario(services.start_run(leader, other, enqueue=False).pk)

    page.goto("/")
    log_in(page, leader.username, PASSWORD)
    page.get_by_role("link", name="政策模拟").first.click()
    expect(page.get_by_test_id("simulation-intro")).to_contain_text("测算不会改变任何参数或待遇")

    form = page.get_by_test_id("scenario-form")
    form.get_by_label("方案名称").fill("城乡低保标准分别提高8%和15%")
    expect(form.get_by_label("测算区划")).to_have_value("1307")
    expect(form.get_by_label("拟实施日期")).to_have_value(FROM.isoformat())
    form.get_by_label("参数调整（每行一项）").fill("dibao.standard_urban=+8%\ndibao.standard_rural=+15%")
    form.get_by_role("button", name="保存方案").click()
    expect(page.get_by_test_id("scenario-name")).to_contain_text("城乡低保标准分别提高8%和15%")
    expect(page.get_by_test_id("scenario-facts")).to_contain_text("城市低保标准（元/月）：+8%")

    page.get_by_test_id("run-scenario").click()
    expect(page.get_by_test_id("run-progress")).to_have_attribute("data-status", "complete")

    # The cost by county: 桥东区's one new household (650 → standard 690) costs 40 a month, 480 a year.
    by_county = page.get_by_test_id("by-area-dibao")
    qiaodong = by_county.locator('tr[data-area="130702000000"]')
    expect(qiaodong).to_contain_text("桥东区")
    expect(qiaodong.get_by_test_id("diff")).to_have_text("40.00")
    expect(qiaodong).to_contain_text("480.00")
    by_county.get_by_role("link", name="张北县").click()
    expect(page.get_by_test_id("by-area-dibao")).to_contain_text("张北镇")
    expect(page.get_by_test_id("histogram")).to_contain_text("方案标准")

    # Compare with the other scenario.
    compare = page.get_by_test_id("compare-form")
    compare.get_by_label("与另一方案比较").select_option(label="低保边缘上限2倍")
    compare.get_by_role("button", name="比较").click()
    totals = page.get_by_test_id("compare-totals")
    expect(totals).to_contain_text("城乡低保标准分别提高8%和15%")
    expect(totals).to_contain_text("低保边缘上限2倍")
    expect(totals).to_contain_text("低保边缘")

    # Back to the scenario; the brief as PDF, read back.
    totals.get_by_role("link", name="城乡低保标准分别提高8%和15%").click()
    href = page.get_by_test_id("brief-pdf").get_attribute("href")
    response = page.context.request.get(href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages))
    for expected in (
        "方案测算说明",
        "城市低保标准（元/月）：+8%",
        "农村低保标准（元/月）：+15%",
        "桥东区",
        "张北县",
        "需要说明的情况",
    ):
        assert expected in text, expected

"""Real-browser upload of a departmental delivery (Playwright driving Debian's Chromium against the live server).

The county officer uploads a small Excel file (under Django's 2.5 MB in-memory threshold, which used to be saved
without its extension and refused as 「文件已损坏」) through the page; the upload returns at once to the import's
page, the worker (run inline here, as with Q_SYNC=1) imports it, and the page shows the snapshot landed.
"""

import re

import openpyxl
import pytest
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

HEAD_ID = make_id_number("130722", "19580304", 13)
SPOUSE_ID = make_id_number("130722", "19600817", 24)


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q runs the queued import inline (as with Q_SYNC=1), inside the live server's request."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def test_a_small_xlsx_uploaded_through_the_page_is_imported(
    page,  # noqa: F811
    live_server,
    regions,
    make_user,
    tmp_path,
    sync_tasks,
):
    from minzheng.exchange.models import ImportRun, Snapshot
    from minzheng.registry.services import HouseholdData, MemberData, PersonData, create_household

    officer = make_user("county_approver")
    create_household(
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
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["公民身份号码", "所属期", "扣缴单位", "工资薪金收入"])
    sheet.append([HEAD_ID, "2026-04", "张北县供销合作社", 2300])
    sheet.append([SPOUSE_ID, "2026-04", "张北县第一中学", 3100.5])
    sheet.append([make_id_number("130722", "19900303", 33), "2026-04", "外县单位", 1800])
    path = tmp_path / "2026年4月工资.xlsx"
    book.save(path)
    assert path.stat().st_size < 2_621_440

    page.goto("/checks/snapshots/")
    log_in(page, officer.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/checks/snapshots/$"))
    form = page.get_by_test_id("import-form")
    form.get_by_label("数据来源").select_option("wage")
    expect(form.get_by_label("覆盖区划代码")).to_have_value("130722")
    form.get_by_label("数据截至日期").fill("2026-04-30")
    form.get_by_label("数据文件").set_input_files(str(path))
    form.get_by_role("button", name="导入").click()

    expect(page).to_have_url(re.compile(r"/checks/imports/\d+/$"))
    expect(page.get_by_test_id("run-progress")).to_have_attribute("data-status", "complete")
    outcome = page.get_by_test_id("import-outcome")
    expect(outcome).to_contain_text("已导入第1版")
    expect(outcome).to_contain_text("共3行：有效3行，拒收0行，未匹配到登记人员1行")
    expect(page.get_by_test_id("import-file")).to_contain_text("2026年4月工资.xlsx")
    assert "文件已损坏" not in page.content()
    snapshot = Snapshot.objects.get()
    assert snapshot.file_format == "xlsx" and snapshot.rows_valid == 3 and snapshot.imported_by == officer
    assert ImportRun.objects.get().snapshot == snapshot

    page.get_by_role("link", name="返回部门数据").click()
    expect(page.get_by_test_id("import-runs")).to_contain_text("2026年4月工资.xlsx")
    expect(page.locator('tr[data-source="wage"]').first).to_contain_text("第1版")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "exchange-upload.png"), full_page=True)

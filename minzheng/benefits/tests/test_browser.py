"""Real-browser walk-through of a month's payment (issue 17 demo): a county officer prepares the month's roll,
releases the line the pre-payment comparison held; a second county officer approves it (maker–checker) and exports
the bank file, which the test opens and turns into the bank's return with two failures; the first officer corrects
one account and pays that line in a supplementary roll (补发批次)."""

import csv
import datetime
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from stdnum import luhn

from minzheng.browser_fixtures import (  # noqa: F401  (fixtures used by name)
    browser,
    log_in,
    page,
    requires_chromium,
)
from minzheng.conftest import PASSWORD, VILLAGE, make_id_number
from minzheng.core.months import first_of_month

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.usefixtures("audit_log_flushable")]


def card(body: str) -> str:
    return body + luhn.calc_check_digit(body)


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q runs the queued preparation inline, inside the live server's request."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def recipients(regions, make_user, household_data, set_params):
    """Three 低保 households paid from this month: 甲 and 乙 with their own cards, 丙 with a card in another name."""
    from minzheng.benefits.models import Entitlement, EntitlementVersion
    from minzheng.cases.models import Case
    from minzheng.policy.models import ServiceItem
    from minzheng.registry import services as registry

    clerk = make_user("clerk")
    month = first_of_month(timezone.localdate())
    made = {}
    for seq, (name, holder, amount) in enumerate(
        [("王甲", "王甲", 30000), ("李乙", "李乙", 25000), ("赵丙", "赵某某", 20000)], start=1
    ):
        household = registry.create_household(
            clerk, household_data(VILLAGE, [("02", name, make_id_number(seq=60 + seq))])
        )
        household.bank_name = "中国农业银行"
        household.bank_account = card(f"62284812345678{seq:04d}")
        household.account_holder = holder
        household.save()
        case = Case.objects.create(
            number=f"MZW{seq}",
            service=ServiceItem.objects.get(code="dibao"),
            household=household,
            applicant=household.head,
            region=household.region,
            channel="window",
            submitted_on=month - datetime.timedelta(days=40),
            state="approved",
            created_by=clerk,
            decided_amount=amount / 100,
        )
        ent = Entitlement.objects.create(
            benefit="dibao",
            household=household,
            region=household.region,
            amount_fen=amount,
            start_month=month,
            decision=case,
            last_decision=case,
        )
        EntitlementVersion.objects.create(
            entitlement=ent, effective_from=month, status="active", amount_fen=amount, decision=case, action="approve"
        )
        made[name] = household
    return made


def switch_user(tab, url: str, username: str) -> None:
    tab.get_by_role("button", name="退出").click()
    expect(tab).to_have_url(re.compile(r"/accounts/login/"))
    tab.goto(url)
    log_in(tab, username, PASSWORD)
    expect(tab).to_have_url(re.compile(re.escape(url) + "$"))


def test_month_roll_from_preparation_to_supplementary(page, live_server, recipients, make_user, sync_tasks, tmp_path):  # noqa: F811
    from minzheng.benefits.models import LineState, PaymentLine, PaymentRoll

    make_user("county_approver", username="maker")
    make_user("county_approver", username="checker")
    tab = page
    month = f"{timezone.localdate():%Y-%m}"
    tab.goto(f"/benefits/?month={month}")
    log_in(tab, "maker", PASSWORD)
    expect(tab).to_have_url(re.compile(r"/benefits/\?month="))

    # 1. Prepare the month's roll; the comparison holds 丙's line (account in another name).
    tab.get_by_test_id("prepare-roll").click()
    expect(tab).to_have_url(re.compile(r"/benefits/runs/\d+/$"))
    tab.get_by_test_id("run-rolls").get_by_role("link").first.click()
    expect(tab.get_by_test_id("held-count")).to_have_text("1")
    held = tab.get_by_test_id("held-lines")
    expect(held).to_contain_text("账户名与领取人不符")
    roll_url = tab.url.replace(live_server.url, "")

    # 2. Release it with the finding.
    held.get_by_label("核实情况").fill("核实为本人委托其子代领，账户真实有效")
    held.get_by_test_id("release-line").click()
    expect(tab.get_by_test_id("held-count")).to_have_text("0")
    # The maker is told another officer approves, and offered no button.
    expect(tab.get_by_test_id("maker-note")).to_contain_text("编制与审核分离")
    expect(tab.get_by_test_id("approve-roll")).to_have_count(0)
    expect(tab.get_by_test_id("roll-state")).to_have_text("已编制，待审核")

    # 3. The second officer approves: frozen, with its hash.
    switch_user(tab, roll_url, "checker")
    tab.get_by_test_id("approve-roll").click()
    expect(tab.get_by_test_id("roll-state")).to_have_text("已审核，待导出")
    expect(tab.get_by_text("与审核时一致")).to_be_visible()
    expect(tab.get_by_test_id("roll-total")).to_have_text("750.00 元")

    # 4. Export the bank file (GBK CSV with its control line) and open it.
    tab.get_by_label("银行文件格式").select_option("psbc_csv")
    with tab.expect_download() as download_info:
        tab.get_by_test_id("export-roll").click()
    exported = download_info.value.path().read_bytes()
    rows = list(csv.reader(io.StringIO(exported.decode("gbk"), newline="")))
    control, header, lines = rows[0], rows[1], rows[2:]
    assert control[0] == "合计" and control[1] == "3" and control[3] == "750.00"
    assert header[:4] == ["流水号", "户名", "账号", "金额（元）"]
    by_name = {r[1]: r for r in lines}
    assert set(by_name) == {"王甲", "李乙", "赵丙"}
    assert by_name["王甲"][2] == recipients["王甲"].bank_account and by_name["王甲"][3] == "300.00"

    # 5. The bank's return: 甲 and 乙 failed.
    failures = {"王甲": "账户已销户", "李乙": "户名与账号不符"}
    back = [control + ["", ""], header + ["状态", "失败原因"]]
    back += [r + (["失败", failures[r[1]]] if r[1] in failures else ["成功", ""]) for r in lines]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(back)
    path = tmp_path / "回盘.csv"
    path.write_bytes(buffer.getvalue().encode("gbk"))
    tab.goto(roll_url)
    tab.get_by_label("银行回盘文件").set_input_files(str(path))
    tab.get_by_test_id("import-return").click()
    expect(tab.get_by_role("alert").filter(has_text="成功 1 笔，失败 2 笔")).to_be_visible()
    expect(tab.get_by_test_id("roll-state")).to_have_text("银行已回盘")

    # 6. The maker corrects 甲's account and pays that line in a supplementary roll.
    switch_user(tab, "/benefits/followup/", "maker")
    rows = tab.get_by_test_id("failed-row")
    expect(rows).to_have_count(2)
    row = rows.filter(has_text="账户已销户")
    new_account = card("621799876543210")
    row.get_by_label("银行账号").fill(new_account)
    row.get_by_test_id("correct-account").click()
    expect(tab.get_by_role("alert").filter(has_text="账号已更正")).to_be_visible()
    tab.get_by_test_id("failed-row").filter(has_text="账户已销户").get_by_role("checkbox").check()
    tab.get_by_test_id("make-supplementary").click()
    expect(tab.get_by_test_id("roll-title")).to_contain_text("补发第1批")
    expect(tab.get_by_test_id("roll-state")).to_have_text("已编制，待审核")
    expect(tab.get_by_test_id("roll-total")).to_have_text("300.00 元")

    extra = PaymentRoll.objects.get(kind="supplementary")
    line = extra.lines.get()
    assert line.bank_account == new_account and line.state == LineState.PENDING
    assert PaymentLine.objects.filter(state=LineState.REISSUED).count() == 1
    assert PaymentLine.objects.filter(state=LineState.FAILED).count() == 1  # 乙 still to follow up

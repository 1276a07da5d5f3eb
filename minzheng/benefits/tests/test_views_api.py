"""Pages and API: scope, masking, audit, xlsx exports, the public roll, reviews and their notices."""

import datetime
import io
import re
from decimal import Decimal
from unittest import mock

import openpyxl
import pytest
from pypdf import PdfReader

from minzheng.benefits import rolls
from minzheng.benefits.models import Entitlement, PaymentRoll, Status
from minzheng.cases import services
from minzheng.cases.tests.conftest import record_paper_check
from minzheng.conftest import COUNTY, OTHER_COUNTY, VILLAGE
from minzheng.core.models import AuditEntry

D = datetime.date


@pytest.fixture
def roll(apply, approve_case, standards, bank, county_officers):
    maker, checker = county_officers
    approve_case(apply())
    run = rolls.start_preparation(maker, COUNTY, "2025-06", enqueue=False)
    rolls.prepare(run.pk)
    return rolls.approve(checker, PaymentRoll.objects.get(run=run).pk)


def test_county_page_and_roll_page_mask_names(client, roll, county_officers, household):
    client.force_login(county_officers[0])
    page = client.get("/benefits/?month=2025-06")
    assert page.status_code == 200 and roll.title in page.content.decode()
    detail = client.get(f"/benefits/rolls/{roll.pk}/").content.decode()
    head = household.head.name
    assert head not in detail and head[0] + "*" in detail
    assert AuditEntry.objects.filter(object_type="payment_roll", action="view").exists()


def test_other_county_sees_nothing(client, roll, make_user):
    other = make_user("county_approver", OTHER_COUNTY)
    client.force_login(other)
    assert client.get(f"/benefits/rolls/{roll.pk}/").status_code == 404
    assert client.get(f"/api/v1/benefits/rolls/{roll.pk}").status_code == 404
    assert client.get("/api/v1/benefits/entitlements").json() == []
    assert client.post(f"/benefits/rolls/{roll.pk}/approve/").status_code == 404


@pytest.mark.parametrize("table", ["rolls", "benefit", "township", "fund", "failed", "reviews"])
def test_every_table_exports_to_xlsx(client, roll, county_officers, table):
    client.force_login(county_officers[0])
    response = client.get(f"/benefits/tables/{table}.xlsx?month=2025-06")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row >= 1
    if table == "rolls":
        assert sheet.cell(2, 6).value == 900.0
    assert AuditEntry.objects.filter(action="export", object_type="payments_table", object_id=table).exists()


def test_api_lists_entitlements_and_roll_masked(client, roll, county_officers, household):
    client.force_login(county_officers[0])
    ents = client.get(f"/api/v1/benefits/entitlements?household={household.pk}").json()
    assert ents[0]["amount"] == "300.00" and ents[0]["benefit"] == "dibao"
    detail = client.get(f"/api/v1/benefits/rolls/{roll.pk}").json()
    assert detail["total"] == "900.00" and len(detail["lines_page"]) == 3
    line = detail["lines_page"][0]
    assert "*" in line["recipient_id_masked"] and line["account_masked"].startswith("*")
    assert client.get("/api/v1/benefits/rolls/99999999999999999999").status_code in (400, 404, 422)


def test_api_return_upload_rejects_bad_file(client, roll, county_officers):
    from minzheng.benefits import settlement

    client.force_login(county_officers[1])
    settlement.export(county_officers[1], roll.pk, "generic_csv")
    response = client.post(f"/api/v1/benefits/rolls/{roll.pk}/returns", {"file": io.BytesIO(b"garbage,1\r\n")})
    assert response.status_code == 400 and "未导入任何结果" in response.json()["message"]


def test_public_roll_shows_only_masked_name_size_amount(client, roll, household):
    page = client.get(f"/public/roll/{VILLAGE}/2025-06/").content.decode()
    head = household.head.name
    assert head not in page and head[0] + "*" in page and "900.00" in page
    assert household.bank_account not in page and household.head.id_number not in page
    assert client.get("/public/roll/1307/2025-06/").status_code == 404


def test_household_page_shows_money(client, roll, county_officers, household):
    client.force_login(county_officers[0])
    page = client.get(f"/registry/households/{household.pk}/").content.decode()
    assert 'data-testid="entitlements"' in page and "最低生活保障金" in page
    # Each part of the amount shows its own figure (two "分类施保：未成年人" items read as a repetition without them).
    from minzheng.benefits.models import Entitlement
    from minzheng.core.money import fmt_fen

    entitlement = Entitlement.objects.filter(household=household).first()
    assert entitlement is not None and entitlement.breakdown
    for part in entitlement.breakdown:
        assert f"{part['label']} {fmt_fen(part['fen'])}元" in page, part


def _review(officers, household, outcome, **data):
    from minzheng.benefits import reviews

    case = reviews.open_review(officers["county"], household.pk, due_on=None, note="定期复核", today=D(2025, 8, 1))
    c = officers
    services.act(c["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 8, 1))
    record_paper_check(c["reviewer"], c["county"], case.pk, D(2025, 8, 1))
    services.act(
        c["assistant"],
        case.pk,
        "complete_investigation",
        findings="入户核实",
        visit_date="2025-08-01",
        today=D(2025, 8, 2),
    )
    services.act(c["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 8, 3))
    return services.act(c["county"], case.pk, outcome, today=D(2025, 8, 10), **data)


def test_review_taper_within_limit_and_notice(client, roll, officers, household):
    from minzheng.core.errors import DomainError

    with pytest.raises(DomainError):
        _review(officers, household, "taper", amount="200", months=7, reasons="长子就业")
    from minzheng.cases.models import Case

    case = Case.objects.filter(service__workflow="review").get()
    services.act(officers["county"], case.pk, "taper", amount="200", months=3, reasons="长子就业", today=D(2025, 8, 10))
    ent = Entitlement.objects.get(household=household)
    assert ent.taper_end == D(2025, 11, 1)
    versions = [(v.effective_from, v.status, v.amount_fen) for v in ent.versions.order_by("effective_from", "id")]
    assert versions[-2:] == [(D(2025, 9, 1), "taper", 20000), (D(2025, 12, 1), "stopped", 20000)]
    assert ent.status == Status.STOPPED  # as of today (the taper ended in November 2025)
    client.force_login(officers["county"])
    # A stopped entitlement does not carry its old taper end beside its status: 「已停止（至2025-11）」 read as
    # "stopped until November"; the month it ended shows in its own column.
    page = client.get(f"/registry/households/{household.pk}/").content.decode()
    status = re.search(r'data-testid="entitlement-status">(.*?)</td>', page, re.S).group(1).strip()
    assert status == "已停止", status
    pdf = client.get(f"/benefits/cases/{case.pk}/review-notice.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "渐退期" in text and "行政复议" in text and "长子就业" in text
    # A double click is one export in the audit trail.
    assert client.get(f"/benefits/cases/{case.pk}/review-notice.pdf").content == pdf.content
    exports = AuditEntry.objects.filter(action="export", object_type="case", object_id=str(case.pk))
    assert [e.detail for e in exports] == [{"document": "review_decision"}]


def test_review_stop_from_past_month_recovers_paid_months(roll, officers, household):
    from minzheng.benefits.models import Recovery

    _review(officers, household, "refuse", reasons="家庭收入超过标准", effective_month="2025-06")
    ent = Entitlement.objects.get(household=household)
    assert ent.status == Status.STOPPED and ent.end_month == D(2025, 5, 1)
    recovery = Recovery.objects.get()
    assert recovery.line.month == D(2025, 6, 1) and str(recovery.amount) == "300.00"


def test_review_queue_due_and_schedule(client, roll, officers, household, county_officers):
    from minzheng.benefits import reviews

    ent = Entitlement.objects.get(household=household)
    assert ent.next_review == D(2025, 9, 20)  # working-age members: every 6 months from the decision
    due = list(reviews.queue(officers["county"], today=D(2025, 9, 1)))
    assert [e.pk for e in due] == [ent.pk]
    result = reviews.schedule_due(officers["county"], COUNTY, today=D(2025, 9, 1))
    assert result["opened"] == 1
    assert reviews.queue(officers["county"], today=D(2025, 9, 1)).get().review_open


def test_maker_is_told_another_officer_approves(client, apply, approve_case, standards, bank, county_officers):
    maker, checker = county_officers
    approve_case(apply())
    run = rolls.start_preparation(maker, COUNTY, "2025-06", enqueue=False)
    roll = PaymentRoll.objects.get(run=rolls.prepare(run.pk))
    client.force_login(maker)
    page = client.get(f"/benefits/rolls/{roll.pk}/").content.decode()
    assert 'data-testid="maker-note"' in page and 'data-testid="approve-roll"' not in page
    client.force_login(checker)
    page = client.get(f"/benefits/rolls/{roll.pk}/").content.decode()
    assert 'data-testid="approve-roll"' in page and 'data-testid="maker-note"' not in page


def test_household_benefit_reads_whole_household_and_follow_up_prints_no_full_name(
    client, roll, county_officers, household
):
    from minzheng.benefits import bankfiles, settlement
    from minzheng.benefits.models import PaymentLine

    client.force_login(county_officers[0])
    page = client.get(f"/registry/households/{household.pk}/").content.decode()
    assert "全户" in page and "全*" not in page
    _, checker = county_officers
    name, _, _ = settlement.export(checker, roll.pk, "psbc_csv")
    lay = bankfiles.layout("psbc_csv")
    rows = list(settlement.export_rows(roll, lay))
    line = PaymentLine.objects.filter(roll=roll).order_by("id").first()
    settlement.import_return(checker, roll.pk, bankfiles.return_template(lay, rows, {line.pk: "户名不符"}), name)
    page = client.get("/benefits/followup/").content.decode()
    assert line.masked_name in page and household.head.name not in page
    # An empty holder on the correction form is the recipient.
    response = client.post(
        f"/benefits/lines/{line.pk}/account/", {"bank_name": "中国农业银行", "bank_account": "100000000000000017"}
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.account_holder == line.recipient_name


def test_what_people_read_is_the_version_in_force_with_the_changes_to_come(client, roll, officers, household):
    """A taper decided ahead (DB §33): until it starts the family is paid in full, and the page and the API say so,
    with the taper and the stop after it as changes to come — not 「已停止」 for a family still paid."""
    from minzheng.benefits import selectors

    _review(officers, household, "taper", amount="200", months=3, reasons="长子就业")
    ent = Entitlement.objects.get(household=household)
    assert ent.status == Status.STOPPED  # what the last decision left: the stop after the taper
    (august,) = selectors.in_force([ent], D(2025, 8, 1))
    assert (august.now.status, august.now.amount_fen) == ("active", 30000)
    assert [(v.effective_from, v.status, v.amount_fen) for v in august.upcoming] == [
        (D(2025, 9, 1), "taper", 20000),
        (D(2025, 12, 1), "stopped", 20000),
    ]
    (october,) = selectors.in_force([ent], D(2025, 10, 1))
    assert october.now.status == "taper" and [v.status for v in october.upcoming] == ["stopped"]
    (earlier,) = selectors.in_force([ent], D(2025, 3, 1))  # before the first month paid
    assert earlier.now is None and earlier.upcoming[0].status == "active"

    # The same read on the household page and through the API, as of a month inside the taper.
    client.force_login(officers["county"])
    with mock.patch.object(selectors, "this_month", return_value=D(2025, 10, 1)):
        page = client.get(f"/registry/households/{household.pk}/").content.decode()
        api = client.get(f"/api/v1/benefits/entitlements?household={household.pk}").json()
        tapering = client.get("/api/v1/benefits/entitlements?status=taper").json()
        stopped = client.get("/api/v1/benefits/entitlements?status=stopped").json()
    status = re.search(r'data-testid="entitlement-status">(.*?)<div', page, re.S).group(1).strip()
    assert status == "渐退期（至2025-11）", status
    assert re.findall(r'data-testid="entitlement-upcoming">(.*?)</div>', page) == ["2025-12起已停止"]
    assert (api[0]["status"], api[0]["amount"]) == ("taper", "200.00")
    assert api[0]["upcoming"] == [{"effective_from": "2025-12-01", "status": "stopped", "amount": "200.00"}]
    assert [e["id"] for e in tapering] == [ent.pk] and stopped == []
    # The batch re-check compares its verdicts with the same reading: paid in full in August, the taper in October.
    for month, expected in ((D(2025, 8, 1), Decimal("300.00")), (D(2025, 10, 1), Decimal("200.00"))):
        with mock.patch.object(selectors, "this_month", return_value=month):
            assert selectors.current_recipients(COUNTY) == {household.pk: ("dibao", expected)}, month
    assert selectors.current_recipients(COUNTY) == {}
    # Today the taper is long over: stopped, nothing paid, in the API as on the page.
    (today,) = client.get(f"/api/v1/benefits/entitlements?household={household.pk}").json()
    assert (today["status"], today["amount"], today["breakdown"], today["upcoming"]) == ("stopped", "0.00", [], [])

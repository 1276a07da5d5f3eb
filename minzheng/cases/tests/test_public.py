"""Public notice (公示) and published list: no login, only masked name, household size and amount (DOMAIN.md §1)."""

import datetime
import re
from decimal import Decimal
from itertools import count

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import public as queries
from minzheng.cases import services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.conftest import OTHER_VILLAGE, SIBLING_VILLAGE, TOWNSHIP, VILLAGE, make_id_number
from minzheng.policy.models import ServiceItem
from minzheng.registry import services as registry
from minzheng.registry.services import HouseholdData, MemberData, PersonData

from .conftest import record_paper_check

D = datetime.date
_seq = count(300)


@pytest.fixture
def officers(make_user):
    return {
        "clerk": make_user("clerk"),
        "reviewer": make_user("township_reviewer"),
        "county": make_user("county_approver"),
        "other_clerk": make_user("clerk", "130722101000"),
        "other_reviewer": make_user("township_reviewer", "130722101000"),
    }


@pytest.fixture
def family(officers):
    """A household with real, distinctive personal data that must never reach a public page."""

    def make(head: str, region: str = VILLAGE, clerk: str = "clerk", phone: str = "13912345678"):
        data = HouseholdData(
            region_code=region,
            address=f"张北县张北镇幸福路{next(_seq)}号",
            members=[
                MemberData("02", PersonData(name=head, id_number=make_id_number(seq=next(_seq)), phone=phone)),
                MemberData(
                    "10", PersonData(name=head[0] + "小妹", id_number=make_id_number(birth="20100505", seq=next(_seq)))
                ),
                MemberData(
                    "11", PersonData(name=head[0] + "小弟", id_number=make_id_number(birth="20120606", seq=next(_seq)))
                ),
            ],
        )
        return registry.create_household(officers[clerk], data)

    return make


@pytest.fixture
def drive(officers):
    """Drive a case from acceptance (2025-03-03) to `state`; first review on 2025-03-06."""

    def run(household, state, service="dibao", opinion="approve", amount="456.78", clerk="clerk", reviewer="reviewer"):
        c, r, county = officers[clerk], officers[reviewer], officers["county"]
        received = [m.code for m in ServiceItem.objects.get(code=service).materials.all()]
        case = services.open_application(
            c,
            household_id=household.pk,
            service_code=service,
            applicant_id=household.head_id,
            channel="window",
            received=received,
            authorisation_signed=True,
            pledge_signed=True,
            today=D(2025, 3, 3),
        )
        services.act(c, case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
        record_paper_check(r, county, case.pk, D(2025, 3, 5), per_capita_income="123.45")
        services.act(
            c, case.pk, "complete_investigation", findings="属实", per_capita_income="123.45", today=D(2025, 3, 5)
        )
        review = (
            {"opinion": opinion, "amount": amount}
            if opinion == "approve"
            else {"opinion": opinion, "reasons": "收入超标"}
        )
        case = services.act(r, case.pk, "first_review", today=D(2025, 3, 6), **review)
        if state in (wf.COUNTY_REVIEW, wf.APPROVED) and case.state == wf.NOTICE:
            case = services.act(r, case.pk, "end_notice", today=D(2025, 3, 13))
        if state == wf.APPROVED:
            case = services.act(county, case.pk, "approve", today=D(2025, 3, 17))
        assert case.state == state
        return case

    return run


@pytest.fixture
def during_notice(monkeypatch):
    """Today inside the notice period of the cases `drive` reviews on 2025-03-06 (it runs to 2025-03-13)."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2025, 3, 10))


def _get(client, name, code, **params):
    response = client.get(reverse(f"public:{name}", args=[code]), params)
    return response, response.content.decode()


def _assert_no_personal_data(html, household, case):
    household.refresh_from_db()
    for m in household.memberships.select_related("person"):
        assert m.person.id_number not in html
        assert m.person.id_number[:6] + m.person.id_number[6:14] not in html
        if m.person.phone:
            assert m.person.phone not in html and m.person.phone[-4:] not in html
        assert m.person.name not in html
    assert household.address not in html and "幸福路" not in html
    assert household.number not in html and f"H{household.pk:09d}" not in html
    assert case.number not in html
    assert "123.45" not in html  # per-capita income from the investigation


def test_case_under_notice_is_shown_masked_to_anyone(client, family, drive, during_notice):
    household = family("张三丰")
    case = drive(household, wf.NOTICE)
    assert not client.session.get("_auth_user_id")  # anonymous
    response, html = _get(client, "public_notice", VILLAGE)
    assert response.status_code == 200
    rows = re.findall(r'<tr data-testid="notice-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 1
    cells = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)
    ]
    assert cells == ["最低生活保障", "张*丰", "3", "456.78元/月", "2025年3月6日 至 2025年3月13日", "张北镇人民政府"]
    _assert_no_personal_data(html, household, case)
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_township_page_lists_its_villages_and_the_notice_period_follows_the_parameter(
    client, family, drive, during_notice
):
    drive(family("李四"), wf.NOTICE)
    second = drive(family("王五", region=SIBLING_VILLAGE), wf.NOTICE)
    Case.objects.filter(pk=second.pk).update(
        parameters={**second.parameters, "notice_days": {**second.parameters["notice_days"], "value": 10}}
    )
    drive(
        family("赵六", region=OTHER_VILLAGE, clerk="other_clerk"),
        wf.NOTICE,
        clerk="other_clerk",
        reviewer="other_reviewer",
    )
    notice = queries.public_notice(queries.public_region(TOWNSHIP), today=D(2025, 3, 10))
    assert [(r.name, r.village, r.notice_to) for r in notice.rows] == [
        ("王*", "建设街社区居民委员会", D(2025, 3, 16)),
        ("李*", "南壕堑村村民委员会", D(2025, 3, 13)),
    ]
    _, html = _get(client, "public_notice", TOWNSHIP)
    assert "村（社区）" in html and "王*" in html and "赵*" not in html
    _, html = _get(client, "public_notice", VILLAGE)
    assert "李*" in html and "王*" not in html
    _, html = _get(client, "public_notice", "130722101000")
    assert "赵*" in html and "公会镇人民政府" in html


def test_refusal_opinion_is_not_posted(client, family, drive):
    drive(family("孙七"), wf.COUNTY_REVIEW, opinion="refuse")  # a proposed refusal skips the notice board
    _, html = _get(client, "public_notice", VILLAGE)
    assert "孙*" not in html and 'data-testid="notice-empty"' in html


def test_approved_case_is_published_and_leaves_the_notice(client, family, drive):
    household = family("周八")
    case = drive(household, wf.APPROVED)
    _, notice_html = _get(client, "public_notice", VILLAGE)
    assert "周*" not in notice_html
    response, html = _get(client, "published", VILLAGE)
    assert response.status_code == 200
    rows = re.findall(r'<tr data-testid="published-row">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    assert cells == [["周*", "3", "456.78"]]
    assert "最低生活保障" in html  # the section heading: which list this is
    _assert_no_personal_data(html, household, case)
    assert '<meta name="robots" content="noindex, nofollow">' in html
    _, township_html = _get(client, "published", TOWNSHIP)
    assert "周*" in township_html


def test_published_filters_by_year_and_month(client, family, drive):
    drive(family("吴九"), wf.APPROVED)  # decided 2025-03-17
    assert "吴*" in _get(client, "published", VILLAGE, year="2025", month="3")[1]
    assert "吴*" not in _get(client, "published", VILLAGE, year="2025", month="4")[1]
    assert "吴*" not in _get(client, "published", VILLAGE, year="2024")[1]
    _, html = _get(client, "published", VILLAGE, year="abcd", month="13")
    assert "年份应为四位数字" in html and "吴*" in html


def test_published_pages_by_key(family, drive, monkeypatch):
    monkeypatch.setattr(queries, "PUBLISHED_PAGE_SIZE", 1)
    drive(family("郑一"), wf.APPROVED)
    drive(family("郑二"), wf.APPROVED)
    region = queries.public_region(VILLAGE)
    first = queries.published(region)
    second = queries.published(region, after=first.next_cursor)
    assert len(first.rows) == len(second.rows) == 1 and first.next_cursor and not second.next_cursor
    assert [r.name for r in first.rows + second.rows] == ["郑*", "郑*"]
    assert queries.published(region, after="<script>").notes == ["翻页参数无效，已从第一页显示"]


def test_services_without_public_notice_never_appear(client, family, drive, officers):
    child = ServiceItem.objects.create(
        code="child_demo",
        name="事实无人抚养儿童基本生活保障",
        category="儿童福利",
        legal_basis="ER",
        deciding_level="county",
        workflow="dibao",
        parameter_group="dibao",
        public_notice=False,
    )
    household = family("冯童")
    case = drive(household, wf.COUNTY_REVIEW, service=child.code)  # no notice step: straight to confirmation
    _, html = _get(client, "public_notice", VILLAGE)
    assert "冯*" not in html
    case = services.act(officers["county"], case.pk, "approve", today=D(2025, 3, 17))
    assert case.state == wf.APPROVED
    Case.objects.filter(pk=case.pk).update(state=wf.NOTICE)  # even if such a case were in notice by mistake
    assert "冯*" not in _get(client, "public_notice", VILLAGE)[1]
    Case.objects.filter(pk=case.pk).update(state=wf.APPROVED)
    assert "冯*" not in _get(client, "published", VILLAGE)[1]
    assert "冯*" not in _get(client, "published", TOWNSHIP)[1]

    # 急难型临时救助 (public_notice false in the catalogue): helped first, documented, approved — never published.
    emergency_home = family("陈急")
    emergency = services.open_application(
        officers["clerk"],
        household_id=emergency_home.pk,
        service_code="temp_emergency",
        applicant_id=emergency_home.head_id,
        channel="window",
        received=["application", "situation"],
        authorisation_signed=True,
        pledge_signed=True,
        today=D(2025, 3, 3),
    )
    services.act(officers["clerk"], emergency.pk, "pay_first", amount="800", situation="火灾", today=D(2025, 3, 3))
    emergency = services.act(officers["clerk"], emergency.pk, "complete_documents", today=D(2025, 3, 5))
    assert emergency.state == wf.APPROVED and emergency.decided_amount == Decimal("800.00")
    assert "陈*" not in _get(client, "published", VILLAGE)[1]


@pytest.mark.parametrize(
    "code",
    [
        "130722100999",
        "999999999999",
        "1307221002",
        "13072210020１",
        "abc",
        "130722000000",
        "130700000000",
        "000000000000",
    ],
)
def test_unknown_or_malformed_region_is_a_chinese_404(db, client, code):
    for name in ("public_notice", "published"):
        response, html = _get(client, name, code)
        assert response.status_code == 404
        assert "未找到" in html


def test_public_pages_do_not_need_login_and_show_an_empty_board(db, client):
    response, html = _get(client, "public_notice", VILLAGE)
    assert response.status_code == 200 and "目前没有正在公示的社会救助申请" in html and "南壕堑村" in html
    response, html = _get(client, "published", VILLAGE)
    assert response.status_code == 200 and "暂无可公布的救助对象" in html


# ---------------------------------------------------------------- current notices and the archive (issue 15 §3)


def _rows(html: str, testid: str) -> list[str]:
    return re.findall(rf'<tr data-testid="{testid}">(.*?)</tr>', html, re.S)


def test_a_notice_leaves_the_current_board_when_its_days_have_run(client, family, drive, monkeypatch):
    """Reviewed 2025-03-06 with a 7-day notice (DB §19, the case's snapshot): current to 03-13, then archived for
    public.notice_archive_days (30 by default), then gone — although the case still waits for 公示期满，报送."""
    drive(family("钱多"), wf.NOTICE)
    today = {"day": D(2025, 3, 13)}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today["day"])
    _, html = _get(client, "public_notice", VILLAGE)
    assert len(_rows(html, "notice-row")) == 1 and not _rows(html, "archived-row")
    today["day"] = D(2025, 3, 14)
    _, html = _get(client, "public_notice", VILLAGE)
    assert not _rows(html, "notice-row") and 'data-testid="notice-empty"' in html
    archived = _rows(html, "archived-row")
    assert len(archived) == 1 and "钱*" in archived[0] and "已期满" in archived[0]
    assert "保留30日" in html
    today["day"] = D(2025, 4, 12)
    assert len(_rows(_get(client, "public_notice", VILLAGE)[1], "archived-row")) == 1
    today["day"] = D(2025, 4, 13)
    _, html = _get(client, "public_notice", VILLAGE)
    assert "钱*" not in html


def test_the_archive_keeps_notices_sent_on_and_follows_its_parameter(client, family, drive, set_params, monkeypatch):
    drive(family("孙传"), wf.COUNTY_REVIEW)  # notice 03-06..03-13, sent on 03-13
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2025, 3, 20))
    notice = queries.public_notice(queries.public_region(VILLAGE), today=D(2025, 3, 20))
    assert not notice.rows
    assert [(r.name, r.notice_from, r.notice_to) for r in notice.archived] == [("孙*", D(2025, 3, 6), D(2025, 3, 13))]
    set_params(public__notice_archive_days=5)  # a county keeps ended notices on its board for 5 days only
    assert not queries.public_notice(queries.public_region(VILLAGE), today=D(2025, 3, 20)).archived
    assert queries.public_notice(queries.public_region(VILLAGE), today=D(2025, 3, 18)).archived


def test_one_off_temporary_assistance_is_not_labelled_per_month(client, family, drive, during_notice):
    drive(family("冯临"), wf.NOTICE, service="temp_expense", amount="4252.00")
    drive(family("冯保"), wf.NOTICE)
    _, html = _get(client, "public_notice", VILLAGE)
    rows = {re.search(r"冯\*", r) and r for r in _rows(html, "notice-row")}
    texts = [re.sub(r"<[^>]+>|\s+", "", r) for r in rows if r]
    assert any("临时救助（支出型）" in t and "4252.00元" in t and "4252.00元/月" not in t for t in texts)
    assert any("最低生活保障" in t and "456.78元/月" in t for t in texts)
    assert "元/月）" not in html  # no per-month column heading over a mixed board


def test_published_list_labels_one_off_amounts_in_yuan(client, family, drive):
    drive(family("陈临"), wf.APPROVED, service="temp_expense", amount="4252.00")
    drive(family("陈保"), wf.APPROVED)
    _, html = _get(client, "published", VILLAGE)
    sections = re.findall(r'<h2 class="h5 mt-3">(.*?)</h2>.*?data-testid="amount-heading">(.*?)</th>', html, re.S)
    assert dict(sections) == {"最低生活保障": "救助金额（元/月）", "临时救助（支出型）": "救助金额（元）"}


def test_staff_export_the_boards_masked_and_audited_the_public_cannot(client, family, drive, officers, monkeypatch):
    import io

    import openpyxl

    from minzheng.core.models import AuditEntry

    drive(family("钱公示"), wf.NOTICE)
    drive(family("钱名单"), wf.APPROVED)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2025, 3, 10))  # the first is under notice
    anonymous = client.get(reverse("public:public_notice", args=[VILLAGE]), {"export": "xlsx"})
    assert anonymous.status_code == 403
    assert 'data-testid="export-xlsx"' not in _get(client, "public_notice", VILLAGE)[1]
    client.force_login(officers["other_clerk"])  # another township's clerk
    assert client.get(reverse("public:published", args=[VILLAGE]), {"export": "xlsx"}).status_code == 403

    client.force_login(officers["clerk"])
    assert 'data-testid="export-xlsx"' in _get(client, "public_notice", VILLAGE)[1]
    response = client.get(reverse("public:public_notice", args=[VILLAGE]), {"export": "xlsx"})
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[3][:5] == ["最低生活保障", "钱*示", 3, 456.78, "元/月"] and rows[3][7] == "公示中"
    response = client.get(reverse("public:published", args=[VILLAGE]), {"export": "xlsx", "year": "2025"})
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[3] == ["最低生活保障", "钱*单", 3, 456.78, "元/月"] and "2025年" in rows[1][0]
    assert "钱公示" not in str(rows) and "钱名单" not in str(rows)
    printed = client.get(reverse("public:published", args=[VILLAGE]), {"export": "print"}).content.decode()
    assert "钱*单" in printed and 'data-testid="print-table"' in printed
    exports = AuditEntry.objects.filter(action="export", username=officers["clerk"].username)
    assert sorted((e.object_type, e.detail["format"]) for e in exports) == [
        ("public_notice", "xlsx"),
        ("published_list", "print"),
        ("published_list", "xlsx"),
    ]

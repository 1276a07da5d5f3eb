"""Work queues (待办) per role and region, deadline flags and ordering, and referrals (转办)."""

import datetime
import re
from itertools import count

import pytest
from django.urls import reverse

from minzheng.cases import queries, queue_views, referrals, services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, Referral
from minzheng.conftest import (
    COUNTY,
    OTHER_COUNTY_VILLAGE,
    OTHER_TOWNSHIP,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    make_id_number,
)
from minzheng.policy.models import Parameter
from minzheng.registry import services as registry

D = datetime.date
ALL_DEMANDED = ["application", "authorisation", "pledge", "income_statement"]
START = D(2025, 3, 3)  # a Monday
_seq = count(100)


def _household(clerk, household_data, region, name):
    return registry.create_household(clerk, household_data(region, [("02", name, make_id_number(seq=next(_seq)))]))


@pytest.fixture
def staff(make_user):
    """Officers of two townships in 张北县 and one township in 桥东区 (another county)."""
    return {
        "A": {
            "clerk": make_user("clerk", TOWNSHIP),
            "assistant": make_user("assistant", VILLAGE),
            "reviewer": make_user("township_reviewer", TOWNSHIP),
        },
        "B": {
            "clerk": make_user("clerk", OTHER_TOWNSHIP),
            "assistant": make_user("assistant", OTHER_VILLAGE),
            "reviewer": make_user("township_reviewer", OTHER_TOWNSHIP),
        },
        "X": {"clerk": make_user("clerk", "130702001000"), "reviewer": make_user("township_reviewer", "130702001000")},
        "county": make_user("county_approver", COUNTY),
        "other_county": make_user("county_approver", "130702000000"),
        "leader": make_user("leader"),
        "auditor": make_user("auditor"),
    }


# (state reached, who acts, action, data, days after the previous step)
_PATH = [
    (wf.INVESTIGATING, "clerk", "start_investigation", {"investigators": ["张工作", "李工作"]}, 1),
    # The 信息核对 the proposal stands on (a paper result, recorded the same day: the dates stay as they were).
    (wf.INVESTIGATING, "reviewer", "request_check", {}, 0),
    (
        wf.INVESTIGATING,
        "reviewer",
        "record_check",
        {"manual": True, "summary": "未见异常", "per_capita_income": "500"},
        0,
    ),
    (wf.FIRST_REVIEW, "clerk", "complete_investigation", {"findings": "入户核实属实"}, 1),
    (wf.NOTICE, "reviewer", "first_review", {"opinion": "approve", "amount": "300"}, 1),
    (wf.COUNTY_REVIEW, "reviewer", "end_notice", {}, 7),
]


@pytest.fixture
def make_case(staff, household_data):
    """A 低保 case driven to `state` through the real services, starting on `start` (all dates in the past)."""

    def make(town: str, state: str, name: str, start: datetime.date = START, region: str | None = None) -> Case:
        officers = staff[town]
        village = region or {"A": VILLAGE, "B": OTHER_VILLAGE, "X": OTHER_COUNTY_VILLAGE}[town]
        household = _household(officers["clerk"], household_data, village, name)
        pending = state == wf.PENDING
        case = services.open_application(
            officers["clerk"],
            household_id=household.pk,
            service_code="dibao",
            applicant_id=household.head_id,
            channel="window",
            received=ALL_DEMANDED[:-1] if pending else ALL_DEMANDED,
            authorisation_signed=True,
            pledge_signed=True,
            today=start,
        )
        day = start
        confirmer = staff["county"] if town != "X" else staff["other_county"]
        if case.parameters.get("confirm_level", {}).get("value") == "township":
            confirmer = officers["reviewer"]
        for _reached, who, action, data, days in _PATH:
            if case.state == state or pending:
                break
            day += datetime.timedelta(days=days)
            case = services.act(officers[who], case.pk, action, today=day, **data)
        if state in (wf.APPROVED, wf.REFUSED, "refusal_delivered"):
            day += datetime.timedelta(days=2)
            if state == wf.APPROVED:
                case = services.act(confirmer, case.pk, "approve", today=day)
            else:
                case = services.act(confirmer, case.pk, "refuse", reasons="家庭人均收入高于低保标准", today=day)
            if state == "refusal_delivered":
                case = services.act(confirmer, case.pk, "deliver_refusal", today=day)
        return case

    return make


def _numbers(html: str) -> set[str]:
    return set(re.findall(r'data-testid="queue-row" data-number="([^"]+)"', html))


def _queue(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("cases:queue"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_each_role_sees_the_cases_it_acts_on_in_its_region(client, staff, make_case):
    a = {s: make_case("A", s, f"甲{i}户") for i, s in enumerate(wf.OPEN_STATES[:6])}
    refused = make_case("A", wf.REFUSED, "甲拒户")
    delivered = make_case("A", "refusal_delivered", "甲送户")
    approved = make_case("A", wf.APPROVED, "甲批户")
    b = {s: make_case("B", s, f"乙{i}户") for i, s in enumerate((wf.PENDING, wf.ACCEPTED, wf.COUNTY_REVIEW))}
    x = make_case("X", wf.COUNTY_REVIEW, "丙审户")
    assert {c.state for c in a.values()} == set(wf.OPEN_STATES[:6])
    assert refused.current_due is not None and delivered.current_due is None

    def numbers(*cases):
        return {c.number for c in cases}

    expect = {
        staff["A"]["clerk"]: numbers(a[wf.PENDING], a[wf.ACCEPTED]),
        staff["A"]["assistant"]: numbers(a[wf.PENDING], a[wf.ACCEPTED], a[wf.INVESTIGATING], a[wf.NOTICE]),
        staff["A"]["reviewer"]: numbers(a[wf.ACCEPTED], a[wf.INVESTIGATING], a[wf.FIRST_REVIEW], a[wf.NOTICE]),
        staff["B"]["clerk"]: numbers(b[wf.PENDING], b[wf.ACCEPTED]),
        staff["B"]["reviewer"]: numbers(b[wf.ACCEPTED]),
        staff["county"]: numbers(a[wf.COUNTY_REVIEW], b[wf.COUNTY_REVIEW], refused),
        staff["other_county"]: numbers(x),
        staff["leader"]: numbers(*a.values(), *b.values(), refused, x),
    }
    for user, wanted in expect.items():
        assert _numbers(_queue(client, user)) == wanted, user.role
    assert approved.number not in _numbers(_queue(client, staff["leader"]))
    assert delivered.number not in _numbers(_queue(client, staff["county"]))


def test_delegated_confirmation_goes_to_the_township_reviewer(client, staff, make_case):
    Parameter.objects.create(
        key="dibao.confirm_level", region_id=OTHER_TOWNSHIP, effective_from=D(2024, 1, 1), value="township"
    )
    delegated = make_case("B", wf.COUNTY_REVIEW, "乙委户")
    refused = make_case("B", wf.REFUSED, "乙拒户")
    county_level = make_case("A", wf.COUNTY_REVIEW, "甲审户")
    assert delegated.parameters["confirm_level"]["value"] == "township"
    assert _numbers(_queue(client, staff["B"]["reviewer"])) == {delegated.number, refused.number}
    assert _numbers(_queue(client, staff["county"])) == {county_level.number}


def test_queue_row_shows_masked_applicant_and_never_identity_numbers(client, staff, make_case):
    case = make_case("A", wf.ACCEPTED, "欧阳娜娜")
    html = _queue(client, staff["A"]["clerk"])
    assert "欧**娜" in html and "欧阳娜娜" not in html
    assert case.applicant.id_number not in html and case.applicant.id_number[:10] not in html
    assert case.household.address not in html
    assert reverse("cases:case", args=[case.pk]) in html
    assert "启动入户调查" in html and "已受理，待调查" in html


def test_ordering_by_due_date_nulls_last_and_deadline_flags(staff, make_case):
    late = make_case("A", wf.ACCEPTED, "甲晚户", start=D(2025, 3, 10))  # survey due 2025-03-13
    early = make_case("A", wf.ACCEPTED, "甲早户", start=D(2025, 3, 3))  # due 2025-03-06
    pending = make_case("A", wf.PENDING, "甲缺户")  # no clock yet
    middle = make_case("A", wf.ACCEPTED, "甲中户", start=D(2025, 3, 5))  # due 2025-03-10 (Monday)
    assert (early.current_due, middle.current_due, late.current_due) == (D(2025, 3, 6), D(2025, 3, 10), D(2025, 3, 13))

    # Tuesday 2025-03-11: `early` 3 working days overdue, `middle` 1, `late` due in 2 (= dibao.due_soon_wd).
    result = queries.work_queue(staff["A"]["clerk"], today=D(2025, 3, 11))
    assert [r.number for r in result.rows] == [early.number, middle.number, late.number, pending.number]
    rows = {r.number: r for r in result.rows}
    assert rows[early.number].overdue_days == 3 and rows[middle.number].overdue_days == 1
    assert rows[late.number].due_soon and rows[late.number].days_left == 2 and not rows[late.number].overdue
    assert not rows[pending.number].overdue and not rows[pending.number].due_soon
    assert (result.total, result.overdue, result.due_soon, result.due_soon_days) == (4, 2, 1, 2)

    # Friday 2025-03-07: `late` is 4 working days away — neither overdue nor due soon; `middle` due Monday is soon.
    result = queries.work_queue(staff["A"]["clerk"], today=D(2025, 3, 7))
    rows = {r.number: r for r in result.rows}
    assert not rows[late.number].due_soon and rows[middle.number].due_soon and rows[middle.number].days_left == 1
    assert rows[early.number].overdue_days == 1

    # A county parameter shortens the warning to 0 days: only what is due today is flagged.
    Parameter.objects.create(key="dibao.due_soon_wd", region_id=COUNTY, effective_from=D(2024, 1, 1), value=0)
    result = queries.work_queue(staff["A"]["clerk"], today=D(2025, 3, 10))
    rows = {r.number: r for r in result.rows}
    assert result.due_soon_days == 0 and rows[middle.number].due_soon and rows[middle.number].days_left == 0
    assert not rows[late.number].due_soon


def test_overdue_highlighting_in_the_page(client, staff, make_case, monkeypatch):
    overdue = make_case("A", wf.ACCEPTED, "甲超户", start=D(2025, 3, 3))
    soon = make_case("A", wf.ACCEPTED, "甲临户", start=D(2025, 3, 10))
    monkeypatch.setattr(queue_views, "_today", lambda: D(2025, 3, 11))
    html = _queue(client, staff["A"]["clerk"])
    row = re.search(rf'<tr class="([^"]*)" data-testid="queue-row" data-number="{overdue.number}"', html)
    assert row.group(1) == "table-danger" and "已超期3个工作日" in html
    row = re.search(rf'<tr class="([^"]*)" data-testid="queue-row" data-number="{soon.number}"', html)
    assert row.group(1) == "table-warning" and "临期，剩2个工作日" in html
    assert re.search(r'data-testid="count-overdue">1<', html) and re.search(r'data-testid="count-due-soon">1<', html)


def test_provisional_due_date_is_marked(client, staff, make_case):
    # Accepted 2026-11-20, investigation started: the 30-working-day total runs into 2027, a year not yet published.
    case = make_case("A", wf.INVESTIGATING, "甲暂户", start=D(2026, 11, 20))
    assert case.current_step == "办理总时限" and case.current_due.year == 2027 and case.due_provisional
    assert "暂定" in _queue(client, staff["A"]["reviewer"])


def test_filters_service_state_and_overdue_only(client, staff, make_case, monkeypatch):
    accepted = make_case("A", wf.ACCEPTED, "甲受户", start=D(2025, 3, 3))
    investigating = make_case("A", wf.INVESTIGATING, "甲查户", start=D(2025, 3, 3))
    fresh = make_case("A", wf.ACCEPTED, "甲新户", start=D(2025, 3, 10))
    monkeypatch.setattr(queue_views, "_today", lambda: D(2025, 3, 11))
    reviewer = staff["A"]["reviewer"]
    assert _numbers(_queue(client, reviewer, state=wf.INVESTIGATING)) == {investigating.number}
    assert _numbers(_queue(client, reviewer, overdue="1")) == {accepted.number}
    assert _numbers(_queue(client, reviewer, service="tekun")) == set()
    assert _numbers(_queue(client, reviewer, service="dibao")) == {accepted.number, investigating.number, fresh.number}
    html = _queue(client, reviewer, state="approved", service="nonsense")
    assert "状态筛选条件无效" in html and "事项筛选条件无效" in html and len(_numbers(html)) == 3


def test_keyset_pages_cover_every_case_once(client, staff, make_case, monkeypatch):
    monkeypatch.setattr(queries, "QUEUE_PAGE_SIZE", 2)
    made = [make_case("A", wf.ACCEPTED, f"甲页{i}户", start=D(2025, 3, 3 + i % 3)) for i in range(4)]
    made.append(make_case("A", wf.PENDING, "甲页缺户"))
    seen, cursor, pages = [], "", 0
    while True:
        page = queries.work_queue(staff["A"]["clerk"], queries.QueueFilters(after=cursor), today=D(2025, 3, 11))
        seen += [r.number for r in page.rows]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 3 and sorted(seen) == sorted(c.number for c in made) and len(seen) == len(set(seen))
    assert seen[-1] == made[-1].number  # no deadline: last
    html = _queue(client, staff["A"]["clerk"], after="garbage")
    assert "翻页参数无效" in html


def test_leader_overview_drills_city_county_township(client, staff, make_case):
    """Issue 15 §4: the city leader's 在办总览 goes city → county → township (it skipped the county)."""
    make_case("A", wf.ACCEPTED, "甲一户")
    make_case("A", wf.NOTICE, "甲二户")
    make_case("B", wf.PENDING, "乙一户")
    make_case("X", wf.ACCEPTED, "丙一户")  # 桥东区, another county of the city
    result = queries.work_queue(staff["leader"], today=D(2025, 3, 4))
    assert result.overview and result.child_level == "县级"
    counts = {c.name: (c.open, c.overdue, c.due_soon, c.leaf) for c in result.children}
    assert counts == {"张北县": (3, 0, 1, False), "桥东区": (1, 0, 1, False)}
    county = queries.work_queue(staff["leader"], queries.QueueFilters(region="130722"), today=D(2025, 3, 4))
    assert [r.name for r in county.trail] == ["张家口市", "张北县"] and county.total == 3
    counts = {c.name: (c.open, c.overdue, c.due_soon, c.leaf) for c in county.children}
    # A/accepted (survey due 03-06) is due soon on 03-04; A/notice runs on its 30-day total; B/pending has no clock.
    assert counts == {"张北镇": (2, 0, 1, True), "公会镇": (1, 0, 0, True)}
    html = _queue(client, staff["leader"])
    assert "下钻查看" in html and 'data-code="130722"' in html
    html = _queue(client, staff["leader"], region="130722")
    assert "张北县各乡级" in html and 'data-code="130722101"' in html and len(_numbers(html)) == 3
    html = _queue(client, staff["leader"], region="130722101")
    assert "在办案件总览" in html and "公会镇" in html and len(_numbers(html)) == 1
    # The older township link still works; a region outside the leader's city is ignored with a note.
    assert len(_numbers(_queue(client, staff["leader"], township="130722101"))) == 1
    assert "不在您的管辖范围内" in _queue(client, staff["leader"], region="110101")


def test_auditor_is_forbidden_and_anonymous_must_log_in(client, staff):
    client.force_login(staff["auditor"])
    assert client.get(reverse("cases:queue")).status_code == 403
    assert client.get(reverse("cases:referrals")).status_code == 403
    client.logout()
    response = client.get(reverse("cases:queue"))
    assert response.status_code == 302 and "/login" in response["Location"]


# ---------------------------------------------------------------- referrals


@pytest.fixture
def referral_household(staff, household_data):
    return _household(staff["A"]["clerk"], household_data, VILLAGE, "赵转办")


def test_create_referral_from_the_page(client, staff, referral_household):
    client.force_login(staff["A"]["clerk"])
    response = client.post(
        reverse("cases:referrals"),
        {"household": referral_household.number.lower(), "department": "health", "need": "大病医疗救助", "days": "5"},
        follow=True,
    )
    assert response.status_code == 200
    referral = Referral.objects.get()
    assert referral.household == referral_household and referral.department == "health"
    html = response.content.decode()
    assert "已转办卫生健康部门" in html and "大病医疗救助" in html and "赵*办" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"household": "X12", "department": "health", "need": "需求", "days": "5"}, "户编号格式不正确"),
        ({"household": "H1", "department": "", "need": "需求", "days": "5"}, "请选择转办部门"),
        ({"household": "H1", "department": "health", "need": "需求", "days": "61"}, "回复期限应为1至60个工作日"),
        ({"household": "H1", "department": "health", "need": "", "days": "5"}, "请填写转办需求"),
    ],
)
def test_create_referral_errors_in_chinese(client, staff, data, message):
    client.force_login(staff["A"]["clerk"])
    response = client.post(reverse("cases:referrals"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Referral.objects.exists()


def test_cannot_refer_a_household_out_of_scope(client, staff, household_data):
    other = _household(staff["B"]["clerk"], household_data, OTHER_VILLAGE, "钱外乡")
    client.force_login(staff["A"]["clerk"])
    response = client.post(
        reverse("cases:referrals"), {"household": other.number, "department": "housing", "need": "危房", "days": "10"}
    )
    assert response.status_code == 400 and "户编号不存在或不在您的管辖范围内" in response.content.decode()
    assert not Referral.objects.exists()


def test_referral_list_open_first_overdue_highlighted_and_filtered(client, staff, referral_household, monkeypatch):
    clerk = staff["A"]["clerk"]
    overdue = referrals.refer(
        clerk, household_id=referral_household.pk, department="housing", need="危房改造", days=5, today=D(2025, 3, 3)
    )
    replied = referrals.refer(
        clerk, household_id=referral_household.pk, department="health", need="医疗", days=5, today=D(2025, 3, 3)
    )
    referrals.record_referral_reply(clerk, replied.pk, "已纳入医疗救助", today=D(2025, 3, 11))  # due 03-10: late
    fresh = referrals.refer(
        clerk, household_id=referral_household.pk, department="education", need="助学", days=10, today=D(2025, 3, 10)
    )
    monkeypatch.setattr(queue_views, "_today", lambda: D(2025, 3, 12))
    client.force_login(clerk)
    html = client.get(reverse("cases:referrals")).content.decode()
    order = [int(pk) for pk in re.findall(r'<tr id="referral-(\d+)"', html)]
    assert order == [overdue.pk, fresh.pk, replied.pk]
    assert re.search(rf'<tr id="referral-{overdue.pk}" class="table-danger"', html)
    assert "已逾期2个工作日" in html and "已纳入医疗救助" in html and 'data-testid="replied-late"' in html
    assert re.search(r'data-testid="count-open">2<', html) and re.search(r'data-testid="count-overdue">1<', html)
    html = client.get(reverse("cases:referrals"), {"department": "education"}).content.decode()
    assert re.findall(r'<tr id="referral-(\d+)"', html) == [str(fresh.pk)]
    html = client.get(reverse("cases:referrals"), {"status": "replied"}).content.decode()
    assert re.findall(r'<tr id="referral-(\d+)"', html) == [str(replied.pk)]


def test_reply_is_recorded_once(client, staff, referral_household):
    clerk = staff["A"]["clerk"]
    referral = referrals.refer(clerk, household_id=referral_household.pk, department="employment", need="就业援助")
    client.force_login(clerk)
    url = reverse("cases:referral_reply", args=[referral.pk])
    response = client.post(url, {"reply": "  "}, follow=True)
    assert "请填写部门回复" in response.content.decode()
    response = client.post(url, {"reply": "已推荐公益性岗位"}, follow=True)
    assert "已登记人力资源社会保障部门的回复" in response.content.decode()
    referral.refresh_from_db()
    assert referral.reply == "已推荐公益性岗位" and referral.replied_on is not None
    response = client.post(url, {"reply": "再次"}, follow=True)
    assert "该转办已登记回复" in response.content.decode()
    assert client.get(url).status_code == 405


def test_reply_out_of_scope_is_404_and_leader_cannot_reply(client, staff, referral_household):
    referral = referrals.refer(
        staff["A"]["clerk"], household_id=referral_household.pk, department="disabled", need="残疾评定"
    )
    url = reverse("cases:referral_reply", args=[referral.pk])
    client.force_login(staff["B"]["clerk"])
    assert client.post(url, {"reply": "越权"}).status_code == 404
    assert str(referral.pk) not in re.findall(
        r'referral-(\d+)"', client.get(reverse("cases:referrals")).content.decode()
    )
    client.force_login(staff["leader"])
    assert client.post(url, {"reply": "越权"}).status_code == 403
    html = client.get(reverse("cases:referrals")).content.decode()
    assert f'id="referral-{referral.pk}"' in html and 'data-testid="reply-form"' not in html
    referral.refresh_from_db()
    assert referral.replied_on is None

"""Issue 18: a case whose history grows (public-notice objections recorded over and over) costs the same to show and
to act on. The case page shows its latest events a page at a time with the total and a way back to the first ones;
what the page derives from the history (every override, the deadlines, the next step, the notices) and the POST of
an action read a bounded part of it."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import documents, eventlog, next_step, services
from minzheng.cases import workflows as wf
from minzheng.cases.confirmation import CONFIRMING_ACTIONS, latest_check
from minzheng.cases.deadlines import clock_statuses
from minzheng.cases.models import Case, CaseEvent
from minzheng.cases.views import _PAGE_EVENTS, HISTORY_PAGE_SIZE
from minzheng.conftest import COUNTY, OTHER_TOWNSHIP
from minzheng.policy.models import Parameter

from .conftest import record_paper_check

D = datetime.date
OBJECTION = {"content": "群众反映家庭收入情况与申报不符", "raised_by": "匿名"}


@pytest.fixture
def clock(monkeypatch):
    now = {"today": D(2025, 3, 12)}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: now["today"])
    return now


def _to_notice(case, officers, checked=True, override=""):
    c = officers
    services.act(c["clerk"], case.pk, "start_investigation", investigators=["张工作", "李工作"], today=D(2025, 3, 5))
    if checked:
        record_paper_check(c["reviewer"], c["county"], case.pk, D(2025, 3, 7))
    services.act(
        c["assistant"],
        case.pk,
        "complete_investigation",
        findings="入户核实属实",
        visit_date="2025-03-05",
        per_capita_income="500",
        today=D(2025, 3, 10),
    )
    extra = {"override_reasons": override} if override else {}
    return services.act(
        c["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 11), **extra
    )


def _record(case, user, n, resolved=False):
    """`n` objections under notice, appended as `services.act` appends them (each answered, with `resolved`)."""
    case.refresh_from_db()
    seq = case.events.order_by("-seq").values_list("seq", flat=True).first()
    rows = []
    for _ in range(n):
        seq += 1
        rows.append(
            CaseEvent(
                case=case,
                seq=seq,
                action="record_objection",
                from_state=wf.NOTICE,
                to_state=wf.NOTICE,
                on=D(2025, 3, 12),
                actor=user,
                data=OBJECTION,
                note="",
            )
        )
        if resolved:
            seq += 1
            rows.append(
                CaseEvent(
                    case=case,
                    seq=seq,
                    action="resolve_objection",
                    from_state=wf.NOTICE,
                    to_state=wf.NOTICE,
                    on=D(2025, 3, 12),
                    actor=user,
                    data={"method": "verified", "result": "经核实不属实", "upheld": False},
                    note="",
                )
            )
    CaseEvent.objects.bulk_create(rows)
    return case.events.count()


def _rows(page: str) -> list[int]:
    table = re.search(r'data-testid="events".*?</table>', page, re.S).group(0)
    return [int(seq) for seq in re.findall(r'data-testid="event-(\d+)"', table)]


def _href(page: str, testid: str) -> str:
    return re.search(rf'href="([^"]+)"[^>]*data-testid="{testid}"', page).group(1).replace("&amp;", "&")


def test_long_history_shows_the_latest_page_the_total_and_the_way_back(client, officers, apply, clock):
    case = _to_notice(apply(), officers)
    total = _record(case, officers["clerk"], 70)
    client.force_login(officers["clerk"])
    url = reverse("cases:case", args=[case.pk])
    page = client.get(url).content.decode()

    assert _rows(page) == list(range(total - HISTORY_PAGE_SIZE + 1, total + 1))  # the latest, oldest first
    header = re.search(r'data-testid="events-total">(.*?)</span>', page, re.S).group(1)
    assert f"共 {total} 条记录" in header and f"显示第 {total - HISTORY_PAGE_SIZE + 1}–{total} 条" in header
    assert "较早的记录" in page and 'data-testid="events-later"' not in page  # nothing newer than the latest

    earlier = client.get(_href(page, "events-earlier")).content.decode()
    assert _rows(earlier) == list(range(total - 2 * HISTORY_PAGE_SIZE + 1, total - HISTORY_PAGE_SIZE + 1))
    assert 'data-testid="events-later"' in earlier and 'data-testid="events-latest"' in earlier

    first = client.get(_href(page, "events-first")).content.decode()
    assert _rows(first)[0] == 1 and _rows(first)[-1] == total - 2 * HISTORY_PAGE_SIZE
    events = re.search(r'data-testid="events".*?</table>', first, re.S).group(0)
    assert "提交申请" in events and "受理" in events and "乡镇初审" in events
    assert 'data-testid="events-earlier"' not in first
    assert _rows(client.get(_href(first, "events-latest")).content.decode()) == _rows(page)

    # A page number that is not one shows the latest page, one beyond the end the earliest.
    assert _rows(client.get(url, {"events_page": "x"}).content.decode()) == _rows(page)
    assert _rows(client.get(url, {"events_page": "999"}).content.decode()) == _rows(first)


def test_short_history_has_no_pager_but_the_total(client, officers, apply):
    case = apply()
    client.force_login(officers["clerk"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert _rows(page) == [1, 2] and "共 2 条记录" in page and 'data-testid="events-pager"' not in page


def test_pager_links_from_a_refused_action_lead_back_to_the_case_page(client, officers, apply, clock):
    """A refused action renders the page at the action's URL: the pager still points at the case page."""
    case = _to_notice(apply(), officers)
    _record(case, officers["clerk"], 40)
    client.force_login(officers["clerk"])
    case.refresh_from_db()
    response = client.post(
        reverse("cases:act", args=[case.pk, "record_objection"]), {"version": case.version, "content": ""}
    )
    assert response.status_code == 200
    assert _href(response.content.decode(), "events-earlier").startswith(reverse("cases:case", args=[case.pk]) + "?")


def test_every_override_is_listed_whichever_page_shows_it(client, officers, apply, clock):
    case = _to_notice(apply(), officers, checked=False, override="县级已电话核实，系统核对暂不可用")
    _record(case, officers["clerk"], 40, resolved=True)
    clock["today"] = D(2025, 3, 18)
    services.act(officers["reviewer"], case.pk, "end_notice")
    services.act(officers["county"], case.pk, "approve", override_reasons="纸质核对材料已存档")
    client.force_login(officers["county"])
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    first_review = case.events.get(action="first_review").seq
    assert first_review not in _rows(page)  # its row is on an earlier page …
    overrides = re.findall(r'data-testid="check-override">(.*?)</div>', page, re.S)
    assert len(overrides) == 2  # … its override is still listed, with the approval's
    assert "乡镇初审" in overrides[0] and "县级已电话核实" in overrides[0]
    assert "审核确认：批准" in overrides[1] and "纸质核对材料已存档" in overrides[1]


@pytest.fixture
def loaded(monkeypatch):
    """How many CaseEvent rows the code under test turned into objects (the whole history, if it loaded it)."""
    counter = {"events": 0}
    original = CaseEvent.from_db.__func__

    def from_db(cls, *args, **kwargs):
        counter["events"] += 1
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(CaseEvent, "from_db", classmethod(from_db))
    return counter


def test_the_case_page_and_an_objection_cost_the_same_at_40_and_200_events(client, officers, apply, clock, loaded):
    case = _to_notice(apply(), officers)
    client.force_login(officers["clerk"])
    url = reverse("cases:case", args=[case.pk])

    def get():
        assert client.get(url).status_code == 200

    def post():
        version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
        response = client.post(
            reverse("cases:act", args=[case.pk, "record_objection"]), {"version": version, **OBJECTION}
        )
        assert response.status_code == 302

    def cost(fn) -> tuple[int, int]:
        loaded["events"] = 0
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx.captured_queries), loaded["events"]

    get()
    counts = {}
    for size in (40, 200):
        _record(case, officers["clerk"], size - case.events.count())
        assert case.events.count() == size
        get()  # shows (and so clears from the session) the previous objection's message: both sizes start alike
        counts[size] = {"page": cost(get), "objection": cost(post)}
    assert counts[40] == counts[200]
    assert counts[200]["page"][1] < HISTORY_PAGE_SIZE + 20 and counts[200]["objection"][1] < 20
    page = client.get(url).content.decode()
    assert len(_rows(page)) == HISTORY_PAGE_SIZE and f"共 {case.events.count()} 条记录" in page


def test_bounded_derivations_equal_the_whole_history(officers, apply, clock):
    """The deadlines from the milestones, and the actions taken in the current state, are what the whole history
    gives: through objections, an upheld one (re-investigation), a second notice, an extension; with the notice
    outside the total limit."""
    Parameter.objects.create(key="dibao.notice_in_total", region_id=COUNTY, effective_from=D(2020, 1, 1), value=False)
    c = officers
    case = _to_notice(apply(), officers)

    def check():
        case.refresh_from_db()
        whole = list(case.events.order_by("seq"))
        assert clock_statuses(case, eventlog.milestones(case)) == clock_statuses(case, whole)
        assert len(eventlog.milestones(case)) < len(whole)
        taken = []
        for e in whole:
            taken = [] if e.to_state == case.state and e.from_state != e.to_state else [*taken, e.action]
        assert next_step._taken_in_state(case) == set(taken)
        # The case page reads its sections' events in one query: each section gets what its own query gives.
        key = eventlog.key_events(case, _PAGE_EVENTS)
        assert eventlog.milestones(case, key) == eventlog.milestones(case)
        assert clock_statuses(case, eventlog.milestones(case, key)) == clock_statuses(case, whole)
        assert latest_check(case, key) == latest_check(case) is not None
        assert documents.available(case, key) == documents.available(case) != []
        confirming = [e for e in whole if e.action in CONFIRMING_ACTIONS]
        assert [e for e in key if e.action in CONFIRMING_ACTIONS] == confirming != []
        assert len(key) < len(whole)

    _record(case, c["clerk"], 5, resolved=True)
    _record(case, c["clerk"], 1)
    check()
    clock["today"] = D(2025, 3, 13)
    services.act(c["reviewer"], case.pk, "reinvestigate", result="异议属实，重新调查")
    services.act(c["clerk"], case.pk, "record_visit", **_visit(c))
    services.act(c["clerk"], case.pk, "request_check")
    services.act(c["county"], case.pk, "extend", reason="跨区域协查")
    check()
    clock["today"] = D(2025, 3, 14)
    services.act(c["assistant"], case.pk, "complete_investigation", findings="复查属实")
    services.act(c["reviewer"], case.pk, "first_review", opinion="approve", amount="280")
    _record(case, c["clerk"], 3, resolved=True)
    check()
    clock["today"] = D(2025, 3, 21)
    services.act(c["reviewer"], case.pk, "end_notice")
    check()
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.days > 45  # the extension, plus both notices' working days


def _visit(officers) -> dict:
    return {
        "visit_date": "2025-03-13",
        "investigators": [officers["clerk"].pk, officers["assistant"].pk],
        "findings": "复查入户",
        "signature": "confirmed",
        "signed_on": "2025-03-13",
    }


def test_api_case_carries_the_latest_events_and_pages_back_to_the_first(client, officers, apply, clock, make_user):
    from minzheng.accounts.services import issue_token

    case = _to_notice(apply(), officers)
    total = _record(case, officers["clerk"], 70)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(officers['clerk'], '接口测试')[1]}"}

    body = client.get(f"/api/v1/cases/{case.pk}", **headers).json()
    assert body["events_total"] == total
    assert [e["seq"] for e in body["events"]] == list(range(total - 29, total + 1))

    seen, before = [], 0
    while True:
        params = {"limit": 25} | ({"before": before} if before else {})
        page = client.get(f"/api/v1/cases/{case.pk}/events", params, **headers).json()
        assert page["total"] == total and len(page["items"]) <= 25
        seen = [e["seq"] for e in page["items"]] + seen
        before = page["next_before"]
        if before is None:
            break
    assert seen == list(range(1, total + 1))
    assert [e["action"] for e in page["items"][:2]] == ["submit", "accept"]

    capped = client.get(f"/api/v1/cases/{case.pk}/events", {"limit": 10**9}, **headers).json()
    assert len(capped["items"]) == total  # under the cap of 200
    assert client.get(f"/api/v1/cases/{case.pk}/events", {"before": -1}, **headers).status_code == 422
    other = issue_token(make_user("clerk", region=OTHER_TOWNSHIP, username="other_clerk"), "接口测试")[1]
    outside = client.get(f"/api/v1/cases/{case.pk}/events", HTTP_AUTHORIZATION=f"Bearer {other}")
    assert outside.status_code == 404

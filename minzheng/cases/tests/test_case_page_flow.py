"""The case page as an officer works it: empty steps refused, actions in the procedure's order, the irreversible ones
confirmed first, and the person (not the role) named as 经办人."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError

from .conftest import record_paper_check

D = datetime.date


def _post(client, case: Case, action: str, **data):
    case.refresh_from_db()
    response = client.post(reverse("cases:act", args=[case.pk, action]), {"version": case.version, **data}, follow=True)
    assert response.status_code == 200
    case.refresh_from_db()
    return response


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_complete_materials_with_nothing_ticked_is_refused(client, apply, officers):
    case = apply(received=["application", "authorisation", "pledge"])
    assert case.state == wf.PENDING
    events_before = case.events.count()
    client.force_login(officers["clerk"])
    response = _post(client, case, "complete_materials", accept="on")
    kinds = _messages(response)
    assert not any(level == "success" for level, _ in kinds)
    assert any(level == "error" and "未勾选本次补齐的材料" in text for level, text in kinds)
    assert case.events.count() == events_before and case.state == wf.PENDING
    # The service refuses it too (the API goes through it), and a material already in the file is no new material.
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "complete_materials", received=["application"])
    assert err.value.code == "nothing_received"
    assert not case.events.filter(action="complete_materials").exists()


def test_deadline_basis_says_the_year_is_entered_but_not_yet_official(client, apply, officers, monkeypatch):
    """Issue 15 §3: after an administrator enters 2027-01-01 (元旦) the basis no longer says 尚未录入."""
    import re

    from django.utils import timezone

    from minzheng.core.models import CalendarDay, CalendarYear

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2026, 12, 15))
    case = apply(today=D(2026, 12, 15))
    client.force_login(officers["clerk"])

    def total_row() -> str:
        page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
        return re.search(r'<tr[^>]*data-testid="deadline-total".*?</tr>', page, re.S).group(0)

    assert "尚未录入" in total_row()
    year = CalendarYear.objects.create(year=2027)
    CalendarDay.objects.create(calendar_year=year, date=D(2027, 1, 1), is_workday=False, name="元旦")
    row = total_row()
    assert "暂定" in row and "尚未录入" not in row
    assert "2027年的安排已录入，尚未标记为已按国务院办公厅通知正式录入" in row
    year.official = True
    year.save()
    assert "暂定" not in total_row()


def _actions(client, case) -> list[tuple[str, bool, bool]]:
    """(code, is the next step, asks for confirmation) of each action on the case page, top to bottom."""
    import re

    html = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    out = []
    for block in re.findall(r'(<details class="card mb-2.*?</details>)', html, re.S):
        code = re.search(r'data-testid="action-([a-z_]+)"', block).group(1)
        out.append((code, 'data-next="1"' in block, "data-confirm=" in block))
    return out


def test_actions_follow_the_procedure_with_the_next_step_first(client, apply, officers):
    client.force_login(officers["clerk"])
    case = apply(received=["application", "authorisation", "pledge"])  # the income statement is missing
    actions = _actions(client, case)
    assert actions[0] == ("notify_missing", True, False)
    assert [code for code, _n, _c in actions[1:3]] == ["complete_materials", "accept"]
    assert actions[-2:] == [("reject_intake", False, True), ("withdraw", False, True)]
    assert sum(1 for _c, is_next, _f in actions if is_next) == 1

    services.act(officers["clerk"], case.pk, "notify_missing", today=D(2025, 3, 3))
    assert _actions(client, case)[0] == ("complete_materials", True, False)
    services.act(officers["clerk"], case.pk, "complete_materials", received=["income_statement"], today=D(2025, 3, 4))
    assert _actions(client, case)[0] == ("accept", True, False)  # the file is complete: accept it
    services.act(officers["clerk"], case.pk, "accept", today=D(2025, 3, 4))
    case.refresh_from_db()
    assert case.state == wf.ACCEPTED
    actions = _actions(client, case)
    assert actions[0] == ("start_investigation", True, False) and actions[-1] == ("withdraw", False, True)

    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 5))
    assert _actions(client, case)[0] == ("record_visit", True, False)  # the home visit, then the data check
    visit = {
        "visit_date": "2025-03-05",
        "investigators": [officers["clerk"].pk, officers["assistant"].pk],
        "findings": "入户查看住房及生活情况",
        "signature": "confirmed",
        "signed_on": "2025-03-05",
    }
    services.act(officers["clerk"], case.pk, "record_visit", today=D(2025, 3, 5), **visit)
    assert _actions(client, case)[0] == ("request_check", True, False)
    services.act(officers["clerk"], case.pk, "request_check", today=D(2025, 3, 5))
    client.force_login(officers["reviewer"])  # the reviewer records the check, next
    assert _actions(client, case)[0] == ("record_check", True, False)


def test_irreversible_actions_ask_first_and_events_name_the_person(client, household, make_user):
    """The confirmation is the page's (data-confirm, answered in static/js/minzheng.js); 经办人 is the officer's
    name, the role only on hover."""
    import re

    clerk = make_user("clerk", last_name="王", first_name="丽娟")
    case = services.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
        today=D(2025, 3, 3),
    )
    client.force_login(clerk)
    html = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert 'data-confirm="确认“申请人撤回”？此操作办理后不能撤销。"' in html
    actors = re.findall(r'data-testid="event-actor"[^>]*>([^<]*)<', html)
    assert actors and set(actors) == {"王丽娟"}


def test_objection_steps_appear_only_with_an_objection_open(client, apply, officers):
    case = apply(today=D(2025, 3, 3))
    clerk, reviewer = officers["clerk"], officers["reviewer"]
    services.act(clerk, case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    record_paper_check(reviewer, officers["county"], case.pk, D(2025, 3, 4))
    services.act(clerk, case.pk, "complete_investigation", findings="属实", today=D(2025, 3, 5))
    services.act(reviewer, case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 6))
    client.force_login(reviewer)
    codes = [code for code, _n, _c in _actions(client, case)]
    assert codes[0] == "end_notice" and "resolve_objection" not in codes and "reinvestigate" not in codes
    services.act(clerk, case.pk, "record_objection", content="收入不实", today=D(2025, 3, 7))
    actions = _actions(client, case)
    assert actions[0] == ("resolve_objection", True, False)
    assert ("reinvestigate", False, True) in actions


def test_an_empty_proposed_amount_asks_for_the_amount(client, apply, officers, monkeypatch):
    """Issue 15 §3: leaving 拟救助金额 empty on a proposed approval asks for it (not 应为数字); nothing changes."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2025, 3, 6))  # the check is fresh
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    record_paper_check(officers["reviewer"], officers["county"], case.pk, D(2025, 3, 4))
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实", today=D(2025, 3, 5))
    case.refresh_from_db()
    assert case.state == wf.FIRST_REVIEW
    events_before = case.events.count()
    client.force_login(officers["reviewer"])
    response = _post(client, case, "first_review", opinion="approve", amount="")
    texts = [text for level, text in _messages(response) if level == "error"]
    assert texts == ["“乡镇初审”未办理：请填写拟救助金额"]
    assert case.events.count() == events_before and case.state == wf.FIRST_REVIEW and case.proposed_amount is None
    response = _post(client, case, "first_review", opinion="approve", amount="abc")
    assert any("拟救助金额（元/月）" in text for level, text in _messages(response) if level == "error")
    assert case.state == wf.FIRST_REVIEW

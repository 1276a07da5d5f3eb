"""The case page as an officer works it: empty steps refused, actions in the procedure's order, the irreversible ones
confirmed first, and the person (not the role) named as 经办人."""

import datetime

import pytest
from django.urls import reverse

from minzheng.cases import services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError

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

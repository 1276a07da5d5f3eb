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

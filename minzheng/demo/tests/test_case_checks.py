"""The demo's cases are checked against the parameters in force (issue 15 §1): no 无法判断（低保标准未配置） result, the
summary is what the check found, the cases waiting for their check are checked once the data are in, and no case is
confirmed against its check without a recorded override."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, CaseEvent
from minzheng.demo import checks as check_demo
from minzheng.demo.cases import generate_cases
from minzheng.demo.population import generate_population

pytestmark = pytest.mark.django_db

PREFIX = "130722100"
AS_OF = datetime.date(2026, 11, 1)


def test_demo_cases_carry_checks_that_say_what_they_found(tmp_path):
    generate_population(PREFIX, 400, seed=7, as_of=datetime.date(2026, 1, 1))
    call_command("create_demo_users", prefix="1307", stdout=StringIO())
    result = generate_cases(60, seed=3, today=AS_OF)
    assert result.created > 30
    checks = CaseEvent.objects.filter(action="record_check")
    assert checks.exists()
    waiting = Case.objects.filter(state=wf.INVESTIGATING, events__action="request_check").exclude(
        events__action="record_check"
    )
    n_waiting = waiting.count()
    assert n_waiting > 0  # left for the data check, which needs the departments' data
    data = check_demo.generate_check_data(PREFIX, as_of=AS_OF, seed=3, out_dir=tmp_path / "checks")
    assert data.cases_checked == n_waiting
    assert not Case.objects.filter(state=wf.INVESTIGATING, events__action="request_check").exclude(
        events__action="record_check"
    )
    for event in CaseEvent.objects.filter(action="record_check"):
        d = event.data
        assert d.get("verdict_code") != "unconfigured", d
        assert "低保标准未配置" not in d["verdict"]
        assert d["summary"] == d["verdict"]  # what the check found, not a canned sentence
        assert "未发现" not in d["summary"]
    # Every confirmation stands on its check, or carries the override's reasons.
    for event in CaseEvent.objects.filter(action__in=("first_review", "approve"), case__service__workflow="dibao"):
        if event.action == "first_review" and event.data.get("opinion") != "approve":
            continue
        check = (
            CaseEvent.objects.filter(case=event.case, action="record_check", seq__lt=event.seq).order_by("-seq").first()
        )
        if check is not None and not check.data.get("eligible"):
            assert event.data.get("check_override", {}).get("reasons"), (event.case.number, event.action)
        elif check is not None and "amount_reason" not in event.data and event.action == "first_review":
            assert event.data["amount"] == check.data["amount"]  # the computed amount, proposed as it stands

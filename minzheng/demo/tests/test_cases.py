import datetime

from django.core.management import call_command

from minzheng.cases import eventlog
from minzheng.cases import workflows as wf
from minzheng.cases.deadlines import current
from minzheng.cases.models import Case
from minzheng.conftest import OTHER_VILLAGE, VILLAGE, make_id_number
from minzheng.demo.cases import generate_cases
from minzheng.registry import services as registry

TODAY = datetime.date(2026, 11, 23)


def _households(n, clerk, region, household_data, offset):
    for i in range(n):
        registry.create_household(
            clerk, household_data(region, [("02", f"户主{i}", make_id_number(birth="19500101", seq=offset + 2 * i))])
        )


def test_demo_cases_spread_over_steps_with_overdue(db, household_data):
    call_command("create_demo_users", "--prefix", "1307")
    from minzheng.accounts.models import User

    _households(30, User.objects.get(username="clerk"), VILLAGE, household_data, 101)
    _households(10, User.objects.get(username="clerk2"), OTHER_VILLAGE, household_data, 301)
    result = generate_cases(36, seed=3, today=TODAY)
    assert result.created >= 30
    states = set(Case.objects.values_list("state", flat=True))
    assert len(states & set(wf.OPEN_STATES)) >= 4 and wf.APPROVED in states
    assert Case.objects.filter(current_due__lt=TODAY).exists()  # some are overdue
    for case in Case.objects.all():
        events = list(case.events.order_by("seq"))
        assert events[0].action == "submit" and events[-1].to_state == case.state
        assert all(e.on <= TODAY for e in events)
        step = current(eventlog.deadlines(case))
        expected = step.deadline.due if step and case.state not in (wf.APPROVED, wf.NOT_ACCEPTED) else None
        assert case.current_due == expected  # the cached deadline is the one derived from the events
    assert Case.objects.filter(region_id=OTHER_VILLAGE).exists()  # the second township too


def test_command_refuses_without_population(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("generate_cases", "--cases", "5")

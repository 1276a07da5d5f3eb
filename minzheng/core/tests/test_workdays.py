import datetime

import pytest

from minzheng.core.errors import DomainError
from minzheng.core.models import CalendarDay, CalendarYear
from minzheng.core.workdays import OFFICIAL_BASIS, WorkingCalendar, add_working_days

D = datetime.date


def test_domain_worked_example_3():
    """Accepted Monday 2025-03-03: investigation starts within 3 working days → 2025-03-06; the whole 30-working-day
    procedure (start day excluded, 清明 4–6 April off) ends 2025-04-15."""
    assert add_working_days(D(2025, 3, 3), 3).due == D(2025, 3, 6)
    whole = add_working_days(D(2025, 3, 3), 30)
    assert whole.due == D(2025, 4, 15) and not whole.provisional and whole.basis == OFFICIAL_BASIS


def test_make_up_workday_counts_and_holiday_does_not():
    # 2026: National Day holiday 10-01..10-07, Saturday 10-10 a 调休 workday; Saturday 02-14 a 调休 workday.
    calendar = WorkingCalendar()
    assert calendar.is_workday(D(2026, 10, 10)) == (True, False)
    assert calendar.is_workday(D(2026, 10, 5)) == (False, False)
    assert add_working_days(D(2026, 9, 30), 1).due == D(2026, 10, 8)
    assert add_working_days(D(2026, 10, 8), 2).due == D(2026, 10, 10)
    assert add_working_days(D(2026, 2, 13), 1).due == D(2026, 2, 14)


def test_zero_days_is_the_start_day():
    assert add_working_days(D(2025, 3, 3), 0).due == D(2025, 3, 3)


@pytest.mark.parametrize("days", [-1, 1000])
def test_bad_day_counts_refused(days):
    with pytest.raises(DomainError):
        add_working_days(D(2025, 3, 3), days)


@pytest.mark.django_db
def test_deadline_in_a_year_the_library_does_not_know_is_provisional():
    """Issue 3's case: accepted 2026-12-15, 30 working days → into 2027, which chinesecalendar raises for."""
    deadline = add_working_days(D(2026, 12, 15), 30)
    assert deadline.provisional and "暂定" in deadline.label
    # Monday–Friday only: 2026-12-16..31 has 12 working days, so 18 more in January 2027 → 2027-01-26.
    assert deadline.due == D(2027, 1, 26)


@pytest.mark.django_db
def test_admin_table_for_2027_moves_the_deadline_and_official_flag_clears_provisional():
    year = CalendarYear.objects.create(year=2027)
    CalendarDay.objects.create(calendar_year=year, date=D(2027, 1, 1), is_workday=False, name="元旦")
    moved = add_working_days(D(2026, 12, 15), 30)
    assert moved.due == D(2027, 1, 27) and moved.provisional
    year.official = True
    year.save()
    official = add_working_days(D(2026, 12, 15), 30)
    assert official.due == D(2027, 1, 27) and not official.provisional


@pytest.mark.django_db
def test_working_days_between():
    calendar = WorkingCalendar()
    assert calendar.working_days_between(D(2025, 3, 3), D(2025, 4, 15)) == 30
    assert calendar.working_days_between(D(2025, 4, 15), D(2025, 3, 3)) == 0


@pytest.mark.django_db
def test_admin_refuses_a_year_the_library_knows(client, make_user):
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))  # the installation's top administrator
    response = client.post(
        "/admin/core/calendaryear/add/",
        {
            "year": 2026,
            "notice": "",
            "days-TOTAL_FORMS": "0",
            "days-INITIAL_FORMS": "0",
        },
    )
    assert "已内置" in response.content.decode()
    assert not CalendarYear.objects.exists()


@pytest.mark.django_db
def test_basis_tells_an_entered_but_unofficial_year_from_a_missing_one():
    from minzheng.core.workdays import PROVISIONAL_BASIS

    assert add_working_days(D(2026, 12, 15), 30).basis == PROVISIONAL_BASIS
    year = CalendarYear.objects.create(year=2027)
    CalendarDay.objects.create(calendar_year=year, date=D(2027, 1, 1), is_workday=False, name="元旦")
    basis = add_working_days(D(2026, 12, 15), 30).basis
    assert "尚未录入" not in basis and "2027年的安排已录入" in basis and "尚未标记" in basis

"""The kernel's small helpers: money (Decimal, half up, integer fen), month arithmetic (relativedelta), cron schedules."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from minzheng.core import money, months, schedules
from minzheng.core.errors import DomainError

D = datetime.date


def test_money_rounds_half_up_and_converts_fen_exactly():
    assert money.cents("643.325") == Decimal("643.33")  # 1,930 × 1/3 in DOMAIN.md example 4, rounded half up
    assert money.to_fen("0.29") == 29 and money.to_fen("") is None
    assert money.from_fen(30000) == Decimal("300.00") and money.from_fen(None) == Decimal("0.00")
    assert money.fmt(Decimal("1234.5")) == "1,234.50" and money.fmt(None) == ""
    assert money.fmt_fen(104000) == "1,040.00"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "请填写金额"),
        ("abc", "金额应为数字"),
        ("-5", "金额应大于0"),
        ("0", "金额应大于0"),
        ("2000000", "金额过大"),
        ("NaN", "金额应为数字"),
    ],
)
def test_money_parse_refuses_in_chinese(raw, message):
    with pytest.raises(DomainError, match=message):
        money.parse(raw)


def test_money_parse_accepts_full_width_free_plain_amounts():
    assert money.parse(" 300 ") == Decimal("300.00") and money.parse("0", allow_zero=True) == Decimal("0.00")


def test_months_clamp_to_the_last_day_and_count_calendar_months():
    assert months.add_months(D(2027, 1, 31), 1) == D(2027, 2, 28)
    assert months.add_months(D(2028, 3, 31), -1) == D(2028, 2, 29)
    assert months.first_of_next_month(D(2026, 12, 31)) == D(2027, 1, 1)
    assert months.month_start_before(D(2026, 12, 6), 12) == D(2025, 12, 1)
    assert months.months_between(D(2027, 1, 15), D(2027, 3, 1)) == 2


def test_cron_schedules_validate_and_name_their_next_run():
    assert schedules.monthly(1, 2) == "0 2 1 * *" and schedules.daily(*schedules.parse_time("02:30")) == "30 2 * * *"
    after = timezone.make_aware(datetime.datetime(2026, 12, 6, 16, 0))
    assert timezone.localtime(schedules.next_run("0 2 1 * *", after)).date() == D(2027, 1, 1)
    for bad in ("25:00", "7", "", "02:60"):
        with pytest.raises(DomainError, match="执行时刻"):
            schedules.parse_time(bad)
    with pytest.raises(DomainError, match="1 至 28 日"):
        schedules.monthly(31, 2)

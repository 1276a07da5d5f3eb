"""Calendar-month arithmetic (payments, look-back windows, review schedules), through dateutil's relativedelta."""

import datetime

from dateutil.relativedelta import relativedelta


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (earlier when negative), clamped to the month's last day: 01-31 + 1 = 02-28."""
    return day + relativedelta(months=months)


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def first_of_next_month(day: datetime.date) -> datetime.date:
    return first_of_month(day) + relativedelta(months=1)


def month_start_before(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month `months` before `day`'s month: the start of an N-month income look-back."""
    return first_of_month(day) - relativedelta(months=months)


def months_between(start: datetime.date, end: datetime.date) -> int:
    """Whole calendar months from `start`'s month to `end`'s month (2027-01 → 2027-03 is 2)."""
    return (end.year - start.year) * 12 + end.month - start.month

"""Recurring jobs as django-q2 cron schedules (`minzheng qcluster` runs them): one schedule per job and region,
created or updated in place, with its first run computed from the cron expression by croniter."""

import datetime
import re

from croniter import croniter
from django.utils import timezone

from .errors import DomainError

_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_time(raw: str) -> tuple[int, int]:
    """'02:00' -> (2, 0), or a Chinese error."""
    match = _TIME.match(str(raw or ""))
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DomainError(f"执行时刻“{raw}”格式错误，应为 HH:MM（24小时制），例如 02:00", "invalid_time")
    return hour, minute


def daily(hour: int, minute: int = 0) -> str:
    return f"{minute} {hour} * * *"


def monthly(day: int, hour: int, minute: int = 0) -> str:
    if not 1 <= day <= 28:
        raise DomainError("每月执行日应为 1 至 28 日（每个月都有的日期）", "invalid_day")
    if not 0 <= hour <= 23:
        raise DomainError("执行时刻应为 0 至 23 时", "invalid_hour")
    return f"{minute} {hour} {day} * *"


def next_run(cron: str, after: datetime.datetime | None = None) -> datetime.datetime:
    """The first local time the cron expression names strictly after `after` (now)."""
    return croniter(cron, timezone.localtime(after)).get_next(datetime.datetime)


def ensure(func: str, args: tuple, *, name: str, cron: str):
    """Create or update the schedule of `func(*args)` (one per job and arguments)."""
    from django_q.models import Schedule

    key = repr(args[0]) if len(args) == 1 else repr(args)
    schedule = Schedule.objects.filter(func=func, args=key).order_by("pk").first() or Schedule(func=func, args=key)
    schedule.name = name
    schedule.schedule_type = Schedule.CRON
    schedule.cron = cron
    schedule.repeats = -1
    schedule.next_run = next_run(cron)
    schedule.save()
    return schedule


def listed(func: str) -> list:
    from django_q.models import Schedule

    return list(Schedule.objects.filter(func=func).order_by("name"))


def delete(func: str, args: tuple) -> int:
    from django_q.models import Schedule

    key = repr(args[0]) if len(args) == 1 else repr(args)
    deleted, _ = Schedule.objects.filter(func=func, args=key).delete()
    return deleted

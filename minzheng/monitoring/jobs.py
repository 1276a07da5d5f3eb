"""Monitoring sweeps run by the system: the nightly schedule (django-q2 `Schedule`) and the command line.

A system sweep has no user: it is recorded with `started_by=None` and audited as the system. It runs the same
`services.run_sweep` as a sweep started from the page, so the warnings are identical, and running it again over the
same signals raises nothing new (duplicate suppression).
"""

import datetime
import re
from collections.abc import Callable

from django.utils import timezone

from minzheng.checks.jobs import parse_date, region_for
from minzheng.core.errors import DomainError
from minzheng.regions.models import Region

from .models import Sweep

JOB = "minzheng.monitoring.jobs.nightly_sweep"
AS_OF_LABEL = "比对基准日"

__all__ = [
    "JOB",
    "delete_schedule",
    "ensure_schedule",
    "list_schedules",
    "nightly_sweep",
    "parse_as_of",
    "parse_time",
    "region_for",
    "system_sweep",
]


def parse_as_of(raw: str | None) -> datetime.date:
    """The sweep's base date from the command line: today when absent; never in the future."""
    if raw is None or not str(raw).strip():
        return timezone.localdate()
    day = parse_date(raw, AS_OF_LABEL)
    if day > timezone.localdate():
        raise DomainError(f"{AS_OF_LABEL}{day:%Y-%m-%d}晚于今天：监测比对只能读取已经送达的部门信号", "future_date")
    return day


def system_sweep(region_code: str, as_of: datetime.date, progress: Callable[[int, str], None] | None = None) -> Sweep:
    """Start and run a sweep of the region as the system, synchronously."""
    from . import services

    region = region_for(region_code)
    sweep = services.start_sweep(None, region.code, as_of, enqueue=False)
    return services.run_sweep(sweep.pk, progress=progress)


def nightly_sweep(region_code: str, as_of: str | None = None) -> int:
    """The scheduled task: sweep the region as of the run day (or `as_of`); returns the sweep's id."""
    return system_sweep(region_code, parse_as_of(as_of)).pk


# ---------------------------------------------------------------------------------------------------- schedules

_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_time(raw: str) -> tuple[int, int]:
    """'02:00' -> (2, 0), or a Chinese error."""
    match = _TIME.match(str(raw or ""))
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DomainError(f"执行时刻“{raw}”格式错误，应为 HH:MM（24小时制），例如 02:00", "invalid_time")
    return hour, minute


def schedule_name(region: Region) -> str:
    return f"监测比对 {region.official_code} {region.name}"


def _next_run(hour: int, minute: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """The next local `hour:minute`, strictly after now."""
    now = timezone.localtime(now)
    candidate = timezone.make_aware(datetime.datetime(now.year, now.month, now.day, hour, minute))
    if candidate <= now:
        tomorrow = now.date() + datetime.timedelta(days=1)
        candidate = timezone.make_aware(datetime.datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, minute))
    return candidate


def ensure_schedule(region_code: str, *, at: str = "02:00"):
    """Create or update the nightly sweep of a region (one schedule per region; running again updates it)."""
    from django_q.models import Schedule

    hour, minute = parse_time(at)
    region = region_for(region_code)
    schedule = Schedule.objects.filter(func=JOB, args=repr(region.code)).order_by("pk").first() or Schedule(
        func=JOB, args=repr(region.code)
    )
    schedule.name = schedule_name(region)
    schedule.schedule_type = Schedule.DAILY
    schedule.repeats = -1
    schedule.next_run = _next_run(hour, minute)
    schedule.save()
    return schedule


def list_schedules():
    from django_q.models import Schedule

    return list(Schedule.objects.filter(func=JOB).order_by("name"))


def delete_schedule(region_code: str) -> int:
    from django_q.models import Schedule

    region = region_for(region_code)
    deleted, _ = Schedule.objects.filter(func=JOB, args=repr(region.code)).delete()
    return deleted

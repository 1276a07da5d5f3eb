"""Batch re-checks run by the system: the monthly schedule (django-q2 `Schedule`) and the command line.

A scheduled run has no user: it is recorded with `started_by=None` and audited as the system. It runs the same
`services.run_batch` as a run started from the page, so the results are identical; nothing changes a case or a benefit
(officers review the differences and act through the case procedures).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.regions import codes
from minzheng.regions.models import Region

from .models import CheckRun

JOB = "minzheng.checks.jobs.scheduled_batch"


def first_of_next_month(day: datetime.date | None = None) -> datetime.date:
    """The default as-of date of a re-check started by hand: the month the next payment roll is for."""
    day = day or timezone.localdate()
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def region_for(code: str) -> Region:
    """A region from an official code of 2–12 digits (e.g. 1307), or a Chinese error."""
    canonical = codes.canonical(str(code))
    region = Region.objects.filter(pk=canonical).first()
    if region is None:
        raise DomainError(f"区划代码 {code} 不存在", "unknown_region")
    return region


def parse_date(raw: str, label: str = "核对基准日") -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise DomainError(f"{label}“{raw}”格式错误，应为 YYYY-MM-DD，例如 2026-12-01", "invalid_date") from None


def create_system_run(region_code: str, as_of: datetime.date) -> CheckRun:
    """A queued batch run started by the system (schedule or command line without a user)."""
    region = region_for(region_code)
    with transaction.atomic():
        run = CheckRun.objects.create(
            kind=CheckRun.Kind.BATCH, region=region, as_of=as_of, started_by=None, message="排队中"
        )
        audit.record(
            audit.Action.CHECK,
            object_type="check_run",
            object_id=run.pk,
            label=f"批量复核 {region.name}（系统定时）",
            region_code=region.code,
            detail={"username": "system", "as_of": as_of.isoformat()},
        )
    return run


def scheduled_batch(region_code: str, as_of: str | None = None) -> int:
    """The scheduled task: re-check every recipient household of the region as of the run day (or `as_of`)."""
    from . import services

    day = parse_date(as_of) if as_of else timezone.localdate()
    run = create_system_run(region_code, day)
    services.run_batch(run.pk)
    return run.pk


# ---------------------------------------------------------------------------------------------------- schedules


def schedule_name(region: Region) -> str:
    return f"批量复核 {region.official_code} {region.name}"


def _next_run(day: int, hour: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """The next local time on `day` of a month at `hour`:00, strictly after now."""
    now = timezone.localtime(now)
    year, month = now.year, now.month
    for _ in range(2):
        candidate = timezone.make_aware(datetime.datetime(year, month, day, hour))
        if candidate > now:
            return candidate
        year, month = year + month // 12, month % 12 + 1
    raise AssertionError("unreachable")


def ensure_schedule(region_code: str, *, day: int = 1, hour: int = 2):
    """Create or update the monthly re-check of a region (one schedule per region)."""
    from django_q.models import Schedule

    if not 1 <= day <= 28:
        raise DomainError("每月执行日应为 1 至 28 日（每个月都有的日期）", "invalid_day")
    if not 0 <= hour <= 23:
        raise DomainError("执行时刻应为 0 至 23 时", "invalid_hour")
    region = region_for(region_code)
    schedule = Schedule.objects.filter(func=JOB, args=repr(region.code)).order_by("pk").first() or Schedule(
        func=JOB, args=repr(region.code)
    )
    schedule.name = schedule_name(region)
    schedule.schedule_type = Schedule.MONTHLY
    schedule.repeats = -1
    schedule.next_run = _next_run(day, hour)
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

"""Monitoring sweeps run by the system: the nightly schedule (a django-q2 cron schedule) and the command line.

A system sweep has no user: it is recorded with `started_by=None` and audited as the system. It runs the same
`services.run_sweep` as a sweep started from the page, so the warnings are identical, and running it again over the
same signals raises nothing new (duplicate suppression).
"""

import datetime

from django.utils import timezone

from minzheng.core import schedules
from minzheng.core.commands import parse_date
from minzheng.core.errors import DomainError
from minzheng.regions.models import Region
from minzheng.regions.schedules import RegionSchedule

JOB = "minzheng.monitoring.jobs.nightly_sweep"
SCHEDULE = RegionSchedule(JOB, "监测比对")
AS_OF_LABEL = "比对基准日"


def parse_as_of(raw: str | None) -> datetime.date:
    """The sweep's base date from the command line: today when absent; never in the future."""
    if raw is None or not str(raw).strip():
        return timezone.localdate()
    day = parse_date(raw, AS_OF_LABEL)
    if day > timezone.localdate():
        raise DomainError(f"{AS_OF_LABEL}{day:%Y-%m-%d}晚于今天：监测比对只能读取已经送达的部门信号", "future_date")
    return day


def nightly_sweep(region_code: str, as_of: str | None = None) -> int:
    """The scheduled task: sweep the region as of the run day (or `as_of`); returns the sweep's id."""
    from . import services

    sweep = services.start_sweep(None, region_code, parse_as_of(as_of), enqueue=False)
    return services.run_sweep(sweep.pk).pk


def ensure_schedule(region_code: str, *, at: str = "02:00"):
    """Create or update the nightly sweep of a region (one schedule per region; running again updates it)."""
    cron = schedules.daily(*schedules.parse_time(at))
    return SCHEDULE.ensure(Region.objects.by_code(region_code), cron)


list_schedules = SCHEDULE.listed
delete_schedule = SCHEDULE.delete

"""Batch re-checks run by the system: the monthly schedule (a django-q2 cron schedule) and the command line.

A scheduled run has no user: it is recorded with `started_by=None` and audited as the system. It runs the same
`services.run_batch` as a run started from the page, so the results are identical; nothing changes a case or a benefit
(officers review the differences and act through the case procedures).
"""

import datetime

from django.utils import timezone

from minzheng.core import schedules
from minzheng.core.commands import parse_date
from minzheng.core.months import first_of_next_month
from minzheng.regions.models import Region
from minzheng.regions.schedules import RegionSchedule

JOB = "minzheng.checks.jobs.scheduled_batch"
SCHEDULE = RegionSchedule(JOB, "批量复核")
AS_OF_LABEL = "核对基准日"


def default_as_of(day: datetime.date | None = None) -> datetime.date:
    """The default as-of date of a re-check started by hand: the month the next payment roll is for."""
    return first_of_next_month(day or timezone.localdate())


def scheduled_batch(region_code: str, as_of: str | None = None) -> int:
    """The scheduled task: re-check every recipient household of the region as of the run day (or `as_of`)."""
    from . import services

    day = parse_date(as_of, AS_OF_LABEL) if as_of else timezone.localdate()
    run = services.start_batch(None, region_code, day, enqueue=False)
    services.run_batch(run.pk)
    return run.pk


def ensure_schedule(region_code: str, *, day: int = 1, hour: int = 2):
    """Create or update the monthly re-check of a region (one schedule per region)."""
    cron = schedules.monthly(day, hour)
    return SCHEDULE.ensure(Region.objects.by_code(region_code), cron)


list_schedules = SCHEDULE.listed
delete_schedule = SCHEDULE.delete

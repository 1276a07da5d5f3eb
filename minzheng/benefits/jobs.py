"""Monthly roll preparation by the system: a django-q2 cron schedule per region (`schedule_rolls`), on the day the
`payments.roll_day` parameter names, preparing next month's rolls with the same `rolls.prepare` as the page."""

import datetime

from django.utils import timezone

from minzheng.core import schedules
from minzheng.core.months import first_of_next_month
from minzheng.policy.parameters import resolve
from minzheng.regions.models import Region
from minzheng.regions.schedules import RegionSchedule

JOB = "minzheng.benefits.jobs.scheduled_rolls"
SCHEDULE = RegionSchedule(JOB, "编制发放名册")


def default_month(day: datetime.date | None = None) -> datetime.date:
    """The month a roll prepared today is for: next month (paid at its start)."""
    return first_of_next_month(day or timezone.localdate())


def scheduled_rolls(region_code: str) -> int:
    from . import rolls

    run = rolls.start_preparation(None, region_code, default_month(), enqueue=False)
    rolls.prepare(run.pk)
    return run.pk


def ensure_schedule(region_code: str, *, day: int | None = None, hour: int = 3):
    region = Region.objects.by_code(region_code)
    day = day or int(resolve("payments.roll_day", region.code, timezone.localdate()).value)
    return SCHEDULE.ensure(region, schedules.monthly(day, hour))


list_schedules = SCHEDULE.listed
delete_schedule = SCHEDULE.delete

"""A batch job scheduled once per region (the monthly re-check, the nightly sweep, the monthly rolls): its schedule is
a django-q2 cron schedule named after the region and keyed by the region's code, so scheduling again updates it."""

from minzheng.core import schedules

from .models import Region


class RegionSchedule:
    def __init__(self, job: str, title: str):
        self.job, self.title = job, title

    def name(self, region: Region) -> str:
        return f"{self.title} {region.official_code} {region.name}"

    def ensure(self, region: Region, cron: str):
        """Create or update the region's schedule."""
        return schedules.ensure(self.job, (region.code,), name=self.name(region), cron=cron)

    def listed(self) -> list:
        return schedules.listed(self.job)

    def delete(self, region_code: str) -> int:
        return schedules.delete(self.job, (Region.objects.by_code(region_code).code,))

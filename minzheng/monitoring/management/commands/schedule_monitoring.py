"""minzheng schedule_monitoring --region 1307 [--time 02:00] | --list | --region 1307 --delete: the nightly sweep."""

from minzheng.core.commands import ScheduleCommand
from minzheng.monitoring import jobs


class Command(ScheduleCommand):
    help = (
        "定时监测比对：为区划创建或修改每天一次的监测比对任务（django-q 定时任务，由 minzheng qcluster 执行；"
        "重复运行只更新该区划的同一任务）；--list 列出，--delete 删除。"
    )
    what = "定时监测比对"
    jobs = jobs

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--time", dest="at", default="02:00", help="每天执行时刻 HH:MM（缺省 02:00）")

    def ensure(self, region: str, *, at: str, **options):
        return jobs.ensure_schedule(region, at=at)

    def timing(self, schedule) -> str:
        minute, hour, *_ = schedule.cron.split()
        return f"每天 {int(hour):02d}:{int(minute):02d} "

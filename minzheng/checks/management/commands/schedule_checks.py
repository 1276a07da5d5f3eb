"""minzheng schedule_checks --region 1307 --day 1 --hour 2 | --list | --region 1307 --delete: the monthly re-check."""

from minzheng.checks import jobs
from minzheng.core.commands import ScheduleCommand


class Command(ScheduleCommand):
    help = (
        "定时批量复核：为区划创建或修改每月一次的批量复核任务（django-q 定时任务，由 minzheng qcluster 执行）；"
        "--list 列出，--delete 删除。"
    )
    what = "定时批量复核"
    jobs = jobs

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--day", type=int, default=1, help="每月几日执行（1–28，缺省 1 日）")
        parser.add_argument("--hour", type=int, default=2, help="几时执行（0–23，缺省 2 时）")

    def ensure(self, region: str, *, day: int, hour: int, **options):
        return jobs.ensure_schedule(region, day=day, hour=hour)

    def timing(self, schedule) -> str:
        _minute, hour, day, *_ = schedule.cron.split()
        return f"每月 {day} 日 {hour} 时"

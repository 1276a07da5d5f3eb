"""minzheng schedule_rolls --region 1307 [--day 10] [--hour 3]: prepare next month's rolls every month."""

from minzheng.core.commands import ScheduleCommand

from ... import jobs


class Command(ScheduleCommand):
    help = "设定每月自动编制发放名册（默认每月 payments.roll_day 日 3 时）"
    what = "发放名册编制计划"
    jobs = jobs

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--day", type=int, help="每月几日（1–28），默认取参数 payments.roll_day")
        parser.add_argument("--hour", type=int, default=3, help="几时（0–23），默认 3")

    def ensure(self, region: str, *, day=None, hour=3, **options):
        return jobs.ensure_schedule(region, day=day, hour=hour)

    def timing(self, schedule) -> str:
        _minute, hour, day, *_ = schedule.cron.split()
        return f"每月 {day} 日 {hour} 时"

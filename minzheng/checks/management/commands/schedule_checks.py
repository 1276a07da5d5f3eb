"""minzheng schedule_checks --region 1307 --day 1 --hour 2 | --list | --region 1307 --delete: the monthly re-check."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minzheng.checks import jobs
from minzheng.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "定时批量复核：为区划创建或修改每月一次的批量复核任务（django-q 定时任务，由 minzheng qcluster 执行）；"
        "--list 列出，--delete 删除。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", help="区划代码（2、4、6、9或12位），例如 1307")
        parser.add_argument("--day", type=int, default=1, help="每月几日执行（1–28，缺省 1 日）")
        parser.add_argument("--hour", type=int, default=2, help="几时执行（0–23，缺省 2 时）")
        parser.add_argument("--list", dest="list_only", action="store_true", help="列出全部定时批量复核")
        parser.add_argument("--delete", action="store_true", help="删除该区划的定时批量复核")

    def handle(self, *args, region, day, hour, list_only: bool, delete: bool, **options):
        try:
            if list_only:
                self._list()
                return
            if not region:
                raise CommandError("请用 --region 指定区划代码（或用 --list 列出全部定时任务）")
            if delete:
                count = jobs.delete_schedule(region)
                if not count:
                    raise CommandError(f"区划 {region} 没有定时批量复核")
                self.stdout.write(self.style.SUCCESS(f"已删除区划 {region} 的定时批量复核"))
                return
            schedule = jobs.ensure_schedule(region, day=day, hour=hour)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"已设定“{schedule.name}”：每月 {day} 日 {hour} 时执行，"
                f"下次 {timezone.localtime(schedule.next_run):%Y-%m-%d %H:%M}（需运行 minzheng qcluster）"
            )
        )

    def _list(self) -> None:
        schedules = jobs.list_schedules()
        if not schedules:
            self.stdout.write("尚无定时批量复核")
            return
        for s in schedules:
            next_run = f"{timezone.localtime(s.next_run):%Y-%m-%d %H:%M}" if s.next_run else "—"
            self.stdout.write(f"{s.pk}\t{s.name}\t每月\t下次 {next_run}")

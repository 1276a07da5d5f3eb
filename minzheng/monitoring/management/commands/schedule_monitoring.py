"""minzheng schedule_monitoring --region 1307 [--time 02:00] | --list | --region 1307 --delete: the nightly sweep."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minzheng.core.errors import DomainError
from minzheng.monitoring import jobs


class Command(BaseCommand):
    help = (
        "定时监测比对：为区划创建或修改每天一次的监测比对任务（django-q 定时任务，由 minzheng qcluster 执行；"
        "重复运行只更新该区划的同一任务）；--list 列出，--delete 删除。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", help="区划代码（2、4、6、9或12位），例如 1307")
        parser.add_argument("--time", dest="at", default="02:00", help="每天执行时刻 HH:MM（缺省 02:00）")
        parser.add_argument("--list", dest="list_only", action="store_true", help="列出全部定时监测比对")
        parser.add_argument("--delete", action="store_true", help="删除该区划的定时监测比对")

    def handle(self, *args, region, at: str, list_only: bool, delete: bool, **options):
        try:
            if list_only:
                self._list()
                return
            if not region:
                raise CommandError("请用 --region 指定区划代码（或用 --list 列出全部定时任务）")
            if delete:
                if not jobs.delete_schedule(region):
                    raise CommandError(f"区划 {region} 没有定时监测比对")
                self.stdout.write(self.style.SUCCESS(f"已删除区划 {region} 的定时监测比对"))
                return
            code = jobs.region_for(region).code
            existed = any(s.args == repr(code) for s in jobs.list_schedules())
            schedule = jobs.ensure_schedule(region, at=at)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        local = timezone.localtime(schedule.next_run)
        self.stdout.write(
            self.style.SUCCESS(
                f"已{'更新' if existed else '设定'}“{schedule.name}”：每天 {local:%H:%M} 执行，"
                f"下次 {local:%Y-%m-%d %H:%M}（需运行 minzheng qcluster）"
            )
        )

    def _list(self) -> None:
        schedules = jobs.list_schedules()
        if not schedules:
            self.stdout.write("尚无定时监测比对")
            return
        for s in schedules:
            next_run = f"{timezone.localtime(s.next_run):%Y-%m-%d %H:%M}" if s.next_run else "—"
            self.stdout.write(f"{s.pk}\t{s.name}\t每天\t下次 {next_run}")

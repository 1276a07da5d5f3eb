"""minzheng schedule_reviews --region 130722 --user officer: open review cases (复核) for recipients due or overdue."""

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.commands import domain, starter

from ... import reviews


class Command(BaseCommand):
    help = "为到期（30日内）或逾期未复核的救助家庭发起动态复核案件"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码，例如 130722")
        parser.add_argument("--user", required=True, help="发起复核的工作人员用户名（县级或乡镇）")

    def handle(self, *args, region, user, **options):
        who = domain(starter, user)
        if who is None:
            raise CommandError("请用 --user 指定发起复核的工作人员")
        result = domain(reviews.schedule_due, who, region)
        self.stdout.write(self.style.SUCCESS(f"到期待复核 {result['due']} 户，已发起复核案件 {result['opened']} 件"))
        for household, message in result["failed"]:
            self.stdout.write(f"家庭 H{household:09d} 未发起：{message}")

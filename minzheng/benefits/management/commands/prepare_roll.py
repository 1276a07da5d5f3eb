"""minzheng prepare_roll --region 1307 --month 2027-01: the month's payment rolls of every county in the region."""

from minzheng.core.commands import RunCommand, domain, starter

from ... import rolls
from ...jobs import default_month


class Command(RunCommand):
    help = "编制发放名册（发放前比对后生成每县每类待遇的月度名册）"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（县级或以上），例如 1307 或 130722")
        parser.add_argument("--month", help="发放月份 YYYY-MM，默认下月")
        parser.add_argument("--user", help="以该用户身份编制（默认：系统）")

    def handle(self, *args, region, month, user, **options):
        who = domain(starter, user)
        run = domain(rolls.start_preparation, who, region, month or default_month(), enqueue=False)
        run = self.run_with_progress(rolls.prepare, run, "编制发放名册失败")
        stats = run.stats
        self.stdout.write(
            self.style.SUCCESS(
                f"已编制 {stats['rolls']} 本名册（第 {run.pk} 次）：当月 {stats['regular_lines']} 笔，"
                f"补发 {stats['arrears_lines']} 笔；暂停待核实 "
                f"{sum(stats['holds'].values())} 笔；新增追回 {stats['recoveries']} 笔"
            )
        )
        if stats["skipped_rolls"]:
            self.stdout.write(f"已审核的名册未重新编制：{', '.join(map(str, stats['skipped_rolls']))}")

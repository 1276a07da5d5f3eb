from django.core.management.base import BaseCommand, CommandError

from minzheng.core.audit import verify_chain


class Command(BaseCommand):
    help = "校验审计日志的哈希链：逐条重算哈希，发现被篡改、删除的记录。发现问题时以非零状态退出。"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000, help="每批读取的记录数（按序号分段，缺省5000）")

    def handle(self, *args, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch 必须为正整数")
        checked, problems = verify_chain(batch=batch)
        self.stdout.write(f"共校验审计记录 {checked} 条")
        if problems:
            self.stdout.write(f"发现 {len(problems)} 处问题：")
            for problem in problems:
                self.stdout.write(f"  - {problem.message}")
            raise CommandError(f"审计日志校验未通过：发现 {len(problems)} 处问题，日志可能已被篡改")
        self.stdout.write(self.style.SUCCESS("审计日志完整：哈希链校验通过"))

from django.core.management.base import BaseCommand, CommandError

from minzheng.core import backups
from minzheng.core.commands import domain


class Command(BaseCommand):
    help = (
        "从 minzheng backup 的备份目录恢复：先核对清单中每个文件的SHA-256，再恢复数据库和数据目录，最后校验审计日志"
        "哈希链并与备份时的链尾哈希比对。目标数据库已有用户或审计记录时拒绝执行，除非加 --force。"
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="备份目录")
        parser.add_argument("--force", action="store_true", help="覆盖已有数据的数据库和数据目录")

    def handle(self, *args, folder: str, force: bool, **options) -> None:
        done = domain(backups.restore, folder, force=force)
        expected = done.manifest["audit_head"]
        self.stdout.write(f"已恢复备份（{done.manifest['created_at']}，{done.manifest['engine']}）")
        self.stdout.write(f"共校验审计记录 {done.checked} 条")
        if done.problems:
            for problem in done.problems:
                self.stdout.write(f"  - {problem.message}")
            raise CommandError(f"审计日志校验未通过：发现 {len(done.problems)} 处问题")
        if not done.head_matches:
            raise CommandError(
                f"审计日志链尾与备份不符：备份时第 {expected['seq']} 条 {expected['hash']}，"
                f"恢复后第 {done.head['seq']} 条 {done.head['hash']}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"审计日志完整，链尾哈希与备份一致：第 {done.head['seq']} 条，{done.head['hash'] or '（空）'}"
            )
        )

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.regions.importer import import_regions, verify_checksums


class Command(BaseCommand):
    help = "导入国家统计局2023年五级区划代码（随软件包发布）。可重复运行：更新名称、补充新代码、不会重复。"

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="", help="只导入该代码下的区划，如 13、1307、130702；缺省为全国")
        parser.add_argument("--verify", action="store_true", help="先校验数据文件的 SHA-256")

    def handle(self, *args, prefix: str, verify: bool, **options):
        try:
            if verify:
                verify_checksums()
            result = import_regions(prefix)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"读取 {result.rows_read} 条，新增 {result.added} 条，更新 {result.updated} 条，用时 {result.seconds:.1f} 秒"
        )
        for line in result.summary_lines():
            self.stdout.write(line)

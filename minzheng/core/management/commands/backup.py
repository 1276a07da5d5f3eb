from django.core.management.base import BaseCommand

from minzheng.core import backups
from minzheng.core.commands import domain


class Command(BaseCommand):
    help = (
        "备份数据库（PostgreSQL 用 pg_dump，SQLite 用在线备份接口）、数据目录（部门数据快照、行存储）和审计日志链尾哈希"
        "到一个新目录，附清单（每个文件的大小和SHA-256）。可在平台运行时执行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="备份目录（不存在或为空），例如 /var/backups/minzheng/2026-12-06")

    def handle(self, *args, folder: str, **options) -> None:
        done = domain(backups.backup, folder)
        rows = sum(done.tables.values())
        self.stdout.write(f"数据库（{done.engine}）：{len(done.tables)} 张表，{rows} 行")
        self.stdout.write(f"文件：{len(done.files)} 个，共 {done.total_bytes:,} 字节")
        self.stdout.write(f"审计日志链尾：第 {done.head['seq']} 条，哈希 {done.head['hash'] or '（空）'}")
        self.stdout.write(self.style.SUCCESS(f"已备份到 {done.folder}"))

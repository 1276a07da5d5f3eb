"""minzheng derive_entitlements: entitlements for cases approved before the benefits app existed (idempotent)."""

from django.core.management.base import BaseCommand

from ... import backfill


class Command(BaseCommand):
    help = "为此前已批准但尚无救助待遇的案件建立待遇（可重复执行，已有待遇的案件跳过）"

    def handle(self, *args, **options):
        result = backfill.derive_missing()
        self.stdout.write(self.style.SUCCESS(f"新建救助待遇 {result['created']} 项"))
        for number, message in result["skipped"]:
            self.stdout.write(f"案件 {number} 未建立：{message}")

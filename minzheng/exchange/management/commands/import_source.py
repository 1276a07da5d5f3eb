import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minzheng.accounts.models import User
from minzheng.core.errors import DomainError
from minzheng.exchange import files, importer, sources


class Command(BaseCommand):
    help = (
        "导入一个部门数据文件（CSV、xlsx 或 Parquet），校验后生成数据快照，拒收行写入拒收报告。"
        f"数据来源：{'、'.join(f'{code}（{s.name}）' for code, s in sources.ALL_SOURCES.items())}"
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="数据来源代码，如 wage、pension")
        parser.add_argument("file", help="数据文件路径")
        parser.add_argument("--region", required=True, help="数据覆盖的区划代码，如 1307、130722")
        parser.add_argument("--period", help="数据截至日期 YYYY-MM-DD，缺省为今天")
        parser.add_argument("--user", help="以该用户名导入（校验其权限和辖区，并记为导入人）")
        parser.add_argument(
            "--confirm-smaller",
            action="store_true",
            help="确认数据完整：有效行数明显少于该区划现行数据（IMPORT_MIN_REPLACED_SHARE）时仍导入",
        )

    def handle(self, *args, source, file, region, period, user, **options):
        if period:
            try:
                day = datetime.date.fromisoformat(period)
            except ValueError:
                raise CommandError(f"数据截至日期“{period}”格式不正确，应为 YYYY-MM-DD") from None
        else:
            day = timezone.localdate()
        importer_user = None
        if user:
            importer_user = User.objects.filter(username=user).select_related("region").first()
            if importer_user is None:
                raise CommandError(f"用户“{user}”不存在")
        try:
            outcome = importer.import_file(
                source,
                file,
                region_code=region,
                period=day,
                user=importer_user,
                confirm_smaller=options["confirm_smaller"],
            )
        except DomainError as exc:
            if getattr(exc, "rejects_path", ""):  # refused for its share of rejected rows: the report says which
                self.stdout.write(f"拒收报告：{files.rejects_file(exc.rejects_path)}")
            raise CommandError(exc.message) from None
        out = self.stdout
        if outcome.duplicate:
            out.write(outcome.message)
        out.write(f"总行数：{outcome.rows_total}")
        out.write(f"有效：{outcome.rows_valid}")
        out.write(f"拒收：{outcome.rows_rejected}")
        out.write(f"未匹配：{outcome.rows_unmatched}（身份号码有效但未在本平台登记，已保留）")
        if outcome.snapshot is not None:
            snap = outcome.snapshot
            out.write(
                f"快照：{snap.get_source_display()} {snap.region.name}（{snap.region_id}）"
                f" 截至{snap.period:%Y-%m-%d} 第{snap.version}版 → {files.snapshot_path(snap)}"
            )
        if outcome.rejects_path:
            out.write(f"拒收报告：{files.rejects_file(outcome.rejects_path)}")
        if outcome.snapshot is None:
            raise CommandError("没有有效数据行，未生成快照（原因见拒收报告）")
        if not outcome.duplicate:
            out.write(self.style.SUCCESS(outcome.message))

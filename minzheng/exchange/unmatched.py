"""未匹配信号报告: the rows of a signal delivery whose identity number matched no registered person at import. They
are kept in the snapshot and never silently dropped (issue 5 §2); this report lists them so the department or the
registry can be put right. Read-only; identity numbers masked."""

import io
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import duckdb
import xlsxwriter
from django.conf import settings
from django.db.models import Q

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.errors import PermissionDeniedError
from minzheng.core.masking import mask_id_number
from minzheng.core.scoping import get_in

from .models import Snapshot
from .selectors import snapshots_for
from .sources import ALL_SOURCES, MONITORING_FEEDS


@dataclass
class UnmatchedReport:
    snapshot: Snapshot
    headers: list[str]
    rows: list[list]  # row number and numbers as numbers (xlsx cells stay numeric), the rest as shown text

    @property
    def title(self) -> str:
        return (
            f"未匹配信号-{self.snapshot.get_source_display()}-{self.snapshot.region.name}-{self.snapshot.period:%Y%m%d}"
        )

    @property
    def filename(self) -> str:
        return f"{self.title}-快照{self.snapshot.pk}.xlsx"


def _allowed(user) -> None:
    if not (has_capability(user, Capability.IMPORT_DATA) or has_capability(user, Capability.RUN_MONITORING)):
        raise PermissionDeniedError("您的角色无权执行此操作：查看未匹配信号", "forbidden")


def readable_snapshot(user, snapshot_id: int) -> Snapshot:
    """A monitoring-feed snapshot covering the user's region, a region above it or one under it; else NotFound."""
    _allowed(user)
    snapshots = snapshots_for(user).filter(Q(source__in=MONITORING_FEEDS))
    return get_in(snapshots, user, "部门数据快照不存在或不在您的管辖范围内", pk=snapshot_id)


def _shown(field, value):
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not field.choices:
        return value
    if field.kind == "id_number":
        return mask_id_number(str(value))
    if field.choices:
        return field.choices.get(str(value), str(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def unmatched_rows(user, snapshot_id: int) -> UnmatchedReport:
    """The snapshot's rows with no person key, in file order: row number, then the feed's fields (number masked)."""
    snap = readable_snapshot(user, snapshot_id)
    spec = ALL_SOURCES[snap.source]
    headers = ["行号", *[f.label for f in spec.fields]]
    path = settings.CHECKS_DATA_DIR / snap.path
    rows: list[list] = []
    if path.is_file():
        columns = ", ".join(f'"{f.name}"' for f in spec.fields)
        con = duckdb.connect(config={"threads": 1})
        try:
            result = con.execute(
                f"SELECT row_no, {columns} FROM read_parquet(?) WHERE person_key IS NULL ORDER BY row_no", [str(path)]
            ).fetchall()
        finally:
            con.close()
        for row in result:
            rows.append([row[0], *[_shown(f, v) for f, v in zip(spec.fields, row[1:], strict=True)]])
    return UnmatchedReport(snap, headers, rows)


def unmatched_xlsx(report: UnmatchedReport) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("未匹配信号")
    bold = book.add_format({"bold": True, "bg_color": "#F1F1F1", "border": 1})
    snap = report.snapshot
    sheet.write_string(
        0,
        0,
        f"{snap.get_source_display()}（{ALL_SOURCES[snap.source].department}），{snap.region.name}，"
        f"数据截至 {snap.period:%Y-%m-%d}，快照 #{snap.pk}：公民身份号码未匹配到登记人员的行（号码已脱敏）",
    )
    for col, title in enumerate(report.headers):
        sheet.set_column(col, col, 22 if col else 8)
        sheet.write_string(2, col, title, bold)
    money = book.add_format({"num_format": "#,##0.00"})
    for i, row in enumerate(report.rows, start=3):
        for col, value in enumerate(row):
            if isinstance(value, Decimal):
                sheet.write_number(i, col, float(value), money)
            elif isinstance(value, int):
                sheet.write_number(i, col, value)
            else:
                sheet.write_string(i, col, value)
    book.close()
    return buffer.getvalue()


def content_disposition(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"

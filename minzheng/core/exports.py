"""Office outputs of a list page: an Excel file (xlsxwriter, constant memory) and a print view, from one table.

The caller builds the rows from its own scoped query with personal data already masked (`core.masking`); this module
only lays them out and records the export in the audit log — every download and every print view is an EXPORT entry
with the filters, the row count and the format.
"""

import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from . import audit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# One export's ceiling: a county's open cases or households fit many times over; a province's must be narrowed first.
MAX_ROWS = 100_000
PRINT_ROWS = 5_000  # a print view longer than this is a job for the Excel file


@dataclass(frozen=True)
class Column:
    title: str
    width: int = 14
    kind: str = "text"  # text | money | int | date


@dataclass
class Table:
    title: str  # 待办案件, 家庭名单, ...
    columns: Sequence[Column]
    rows: Iterable[Sequence]  # values in column order, masked already
    scope: str = ""  # the region and filters, printed under the title
    filename: str = ""  # without extension
    notes: list[str] = field(default_factory=list)  # printed under the table (e.g. 仅导出前 N 行)


@dataclass(frozen=True)
class AuditTarget:
    """What the export is recorded as: e.g. object_type="case_queue", label="待办案件导出"."""

    object_type: str
    label: str
    region_code: str = ""
    detail: dict = field(default_factory=dict)


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, (Decimal, int, float)):
        return f"{Decimal(value):,.2f}"
    if isinstance(value, datetime.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def write_xlsx(table: Table) -> tuple[bytes, int]:
    """The table as an .xlsx workbook: title, scope line, header, rows. Returns (bytes, data rows written)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet(table.title[:31])
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "bg_color": "#F1F1F1", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, column.width)
    sheet.write_string(0, 0, table.title, title)
    sheet.write_string(1, 0, table.scope)
    sheet.write_row(2, 0, [c.title for c in table.columns], header)
    row_no = 2
    count = 0
    for count, values in enumerate(table.rows, start=1):
        row_no = count + 2
        for col, (column, value) in enumerate(zip(table.columns, values, strict=True)):
            if value is None or value == "":
                continue
            if column.kind == "money" and isinstance(value, (Decimal, int, float)):
                sheet.write_number(row_no, col, float(value), money)
            elif column.kind == "int" and isinstance(value, int):
                sheet.write_number(row_no, col, value)
            elif column.kind == "date" and isinstance(value, datetime.date):
                sheet.write_datetime(row_no, col, datetime.datetime.combine(value, datetime.time()), date)
            else:
                sheet.write_string(row_no, col, str(value))
        if count >= MAX_ROWS:
            break
    for offset, note in enumerate(table.notes, start=2):
        sheet.write_string(row_no + offset, 0, note)
    sheet.freeze_panes(3, 0)
    book.close()
    return buffer.getvalue(), count


def _record(user, target: AuditTarget, rows: int, fmt: str) -> None:
    audit.record(
        audit.Action.EXPORT,
        user=user,
        object_type=target.object_type,
        label=target.label,
        region_code=target.region_code,
        detail={**target.detail, "rows": rows, "format": fmt},
    )


def xlsx_response(request: HttpRequest, table: Table, target: AuditTarget) -> HttpResponse:
    content, rows = write_xlsx(table)
    _record(request.user, target, rows, "xlsx")
    name = f"{table.filename or table.title}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response


def print_response(request: HttpRequest, table: Table, target: AuditTarget) -> HttpResponse:
    """A page holding only the table, laid out for A4 (the browser's print dialog does the rest)."""
    rows = [
        [(c.title, _cell(v, c.kind), c.kind in ("money", "int")) for c, v in zip(table.columns, values, strict=True)]
        for values in itertools.islice(table.rows, PRINT_ROWS + 1)
    ]
    notes = list(table.notes)
    if len(rows) > PRINT_ROWS:
        rows = rows[:PRINT_ROWS]
        notes.append(f"仅打印前 {PRINT_ROWS} 行，完整名单请导出 Excel")
    _record(request.user, target, len(rows), "print")
    response = render(
        request,
        "exports/print.html",
        {
            "table": table,
            "rows": rows,
            "notes": notes,
            "printed_at": timezone.localtime(),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


def respond(request: HttpRequest, table: Table, target: AuditTarget) -> HttpResponse | None:
    """`?export=xlsx` or `?export=print` on a list page: the file or the print view; None for the page itself."""
    kind = request.GET.get("export", "")
    if kind == "xlsx":
        return xlsx_response(request, table, target)
    if kind == "print":
        return print_response(request, table, target)
    return None


def wants_export(request: HttpRequest) -> bool:
    return request.GET.get("export", "") in ("xlsx", "print")

"""Limits per delivery (settings `IMPORT_*`, documented in settings.py): what a department may hand the importer at
once, checked before the expensive step each one guards, so that no file can be made to cost hours or gigabytes.

- the file's size, before it is read at all (the web upload stops storing a file at this size);
- an .xlsx's members, from the zip's central directory before openpyxl opens it: the declared uncompressed sizes (in
  total, per worksheet, and per part that openpyxl reads whole — the shared strings above all, which cost about ten
  times their size in memory). Python's zipfile never inflates a member beyond its declared size (it stops there
  and fails the CRC check), so a declared size that lies only truncates: the sizes checked are the sizes read;
- the number of rows: from a Parquet file's footer, an .xlsx sheet's declared dimension (then counted while it
  streams, never trusting the declaration), a CSV's table once loaded, a push's list;
- the share of rejected rows: a delivery that is mostly wrong is refused whole, and the delivery in force stays;
- the rows against the delivery it would replace: a delivery far smaller than the one in force for the same region
  (a few rows where there were thousands) is refused unless the importer confirms that it is complete.

Each refusal is a `DeliveryRefused` (413 for size and rows, 422 for the rejected share) with a Chinese message; the
importer audits it and lands nothing.
"""

import pathlib
import struct
import zipfile
from dataclasses import dataclass

from django.conf import settings

from minzheng.core.errors import DomainError

# Excel's own sheet size: 1,048,576 rows including the header row.
XLSX_SHEET_ROWS = 1_048_576
# A real workbook has tens of members and a central directory of a few KiB; these bound what zipfile parses.
MAX_XLSX_MEMBERS = 10_000
MAX_CENTRAL_DIRECTORY_BYTES = 4 * 1024 * 1024
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
WORKSHEET_REL = "/worksheet"

BROKEN_XLSX = "无法读取Excel文件：文件已损坏或不是有效的.xlsx文件"


class DeliveryRefused(DomainError):
    """A delivery over a limit: refused whole, nothing lands, the refusal is audited."""

    status = 413
    code = "delivery_too_large"


class TooManyRejected(DeliveryRefused):
    status = 422
    code = "too_many_rejected"


class TooFewRows(DeliveryRefused):
    status = 422
    code = "too_few_rows"


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    rows: int
    xlsx_total_bytes: int
    xlsx_sheet_bytes: int
    xlsx_part_bytes: int
    rejected_share: float
    replaced_share: float
    push_rows: int
    push_bytes: int

    @property
    def xlsx_rows(self) -> int:
        """Data rows an .xlsx may hold: the setting, or Excel's own sheet size below the header row."""
        return min(self.rows, XLSX_SHEET_ROWS - 1)


def current() -> Limits:
    return Limits(
        file_bytes=settings.IMPORT_MAX_FILE_BYTES,
        rows=settings.IMPORT_MAX_ROWS,
        xlsx_total_bytes=settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES,
        xlsx_sheet_bytes=settings.IMPORT_XLSX_MAX_SHEET_BYTES,
        xlsx_part_bytes=settings.IMPORT_XLSX_MAX_PART_BYTES,
        rejected_share=settings.IMPORT_MAX_REJECTED_SHARE,
        replaced_share=settings.IMPORT_MIN_REPLACED_SHARE,
        push_rows=min(settings.IMPORT_MAX_PUSH_ROWS, settings.IMPORT_MAX_ROWS),
        push_bytes=min(settings.IMPORT_MAX_PUSH_BYTES, settings.IMPORT_MAX_FILE_BYTES),
    )


def size_text(n: int) -> str:
    """Bytes as people read them: 1.5 GB, 64 MB, 980 KB."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}".rstrip("0").rstrip(".") + unit
    return f"{n}字节"


def percent_text(share: float) -> str:
    return f"{share * 100:.1f}".rstrip("0").rstrip(".") + "%"


def _share_text(share: float) -> str:
    """Like percent_text, but a share that rounds to nothing says so (2 rows of 24,359 is not 「0%」)."""
    return "不到0.1%" if 0 < share < 0.0005 else percent_text(share)


# --- size and rows ------------------------------------------------------------------------------------------------


def check_file_size(size: int, limits: Limits | None = None, *, at_least: bool = False) -> None:
    """`at_least`: the size is what arrived before the upload was cut off."""
    limits = limits or current()
    if size > limits.file_bytes:
        raise DeliveryRefused(
            f"文件过大：{'超过' if at_least else ''}{size_text(size)}，每次报送最多{size_text(limits.file_bytes)}；"
            "请按区划或月份拆分后分批导入",
            "file_too_large",
            size=size,
            limit=limits.file_bytes,
        )


def check_rows(count: int, limit: int, *, xlsx: bool = False) -> None:
    """`count` may be a lower bound (a sheet refused as soon as it passes the limit)."""
    if count <= limit:
        return
    if xlsx and limit == XLSX_SHEET_ROWS - 1:
        message = (
            f"Excel工作表超过{limit:,}个数据行（Excel一个工作表最多{XLSX_SHEET_ROWS:,}行），文件不是Excel保存的正常文件"
        )
    else:
        message = f"数据行过多：超过每次报送{limit:,}行的上限"
    raise DeliveryRefused(message + "；请拆分后分批导入，或改用CSV", "too_many_rows", limit=limit)


def check_rejected_share(total: int, rejected: int, limits: Limits | None = None, **context) -> None:
    """Refuse a delivery whose share of rejected rows is above the limit (a file with one valid row out of millions
    would otherwise become the delivery in force, its version outranking the real one)."""
    limits = limits or current()
    if total == 0 or limits.rejected_share >= 1 or rejected / total <= limits.rejected_share:
        return
    raise TooManyRejected(
        f"拒收行占{percent_text(rejected / total)}（{total}行中{rejected}行不合格），超过允许的"
        f"{percent_text(limits.rejected_share)}：整批数据不予导入，现行数据不变。请根据拒收报告更正后重新报送",
        "too_many_rejected",
        rows_total=total,
        rows_rejected=rejected,
        **context,
    )


def check_replacement(valid: int, in_force: int, limits: Limits | None = None, *, what: str, **context) -> None:
    """Refuse a delivery with far fewer valid rows than `in_force`, the rows the delivery in force holds for the same
    region (`what` names it): an incomplete file, or a tiny one meant to displace the real data, would become the
    data every check of the region reads."""
    limits = limits or current()
    if in_force == 0 or limits.replaced_share <= 0 or valid >= in_force * limits.replaced_share:
        return
    raise TooFewRows(
        f"本次有效数据{valid:,}行，只有现行{what}{in_force:,}行的{_share_text(valid / in_force)}，少于"
        f"{percent_text(limits.replaced_share)}：可能是不完整的文件，未予导入，现行数据不变。"
        "如确为完整数据（如辖区人员大量减少），请勾选“确认数据完整，替换现行数据”后重新导入",
        "too_few_rows",
        rows_valid=valid,
        rows_in_force=in_force,
        **context,
    )


# --- xlsx -----------------------------------------------------------------------------------------------------------


def check_xlsx(path: pathlib.Path, limits: Limits | None = None) -> None:
    """Check an .xlsx's members before openpyxl opens it: the central directory's size, then each member's declared
    uncompressed size against the total, the worksheet and the whole-read part limits."""
    limits = limits or current()
    entries, directory = _central_directory(path)
    if entries > MAX_XLSX_MEMBERS or directory > MAX_CENTRAL_DIRECTORY_BYTES:
        raise DeliveryRefused(
            f"Excel文件结构异常：包含{entries}个部件（正常的工作簿只有几十个），可能是恶意构造的文件", "xlsx_too_large"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > limits.xlsx_total_bytes:
                raise _bomb(f"解压后共{size_text(total)}，最多{size_text(limits.xlsx_total_bytes)}")
            largest = max(members, key=lambda m: m.file_size, default=None)
            if largest is None:
                raise DomainError(BROKEN_XLSX, "broken_file")
            if largest.file_size > limits.xlsx_sheet_bytes:
                raise _bomb(
                    f"其中“{largest.filename[:80]}”解压后{size_text(largest.file_size)}，"
                    f"单个工作表最多{size_text(limits.xlsx_sheet_bytes)}"
                )
            # Every part but the worksheets openpyxl streams is read whole: parse what says which those are (each
            # small, within the part limit) and hold everything else to the part limit.
            streamed = _streamed_parts(archive, limits)
            for member in members:
                if member.filename not in streamed and member.file_size > limits.xlsx_part_bytes:
                    raise _bomb(
                        f"其中“{member.filename[:80]}”解压后{size_text(member.file_size)}，"
                        f"共享字符串、样式等部件最多{size_text(limits.xlsx_part_bytes)}"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, TypeError, SyntaxError, EOFError, OSError):
        raise DomainError(BROKEN_XLSX, "broken_file") from None


def _bomb(what: str) -> DeliveryRefused:
    return DeliveryRefused(
        f"Excel文件解压后过大：{what}（可能是恶意构造的压缩炸弹）；请拆分后分批导入，或另存为CSV",
        "xlsx_too_large",
    )


def _streamed_parts(archive: zipfile.ZipFile, limits: Limits) -> set[str]:
    """The members openpyxl (read-only, links not kept) streams rather than reads whole: targets of worksheet
    relationships, declared as worksheets if declared at all, and named by no other relationship or fixed part.
    Anything in doubt counts as read whole (the stricter limit)."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.packaging.relationship import get_dependents
    from openpyxl.xml.constants import (
        ARC_APP,
        ARC_CONTENT_TYPES,
        ARC_CORE,
        ARC_CUSTOM,
        ARC_STYLE,
        ARC_THEME,
        ARC_WORKBOOK,
        WORKSHEET_TYPE,
    )
    from openpyxl.xml.functions import fromstring

    names = {m.filename: m for m in archive.infolist()}
    small = [n for n in names if n == ARC_CONTENT_TYPES or n.endswith(".rels")]
    for name in small:  # read before the check below, so each must be small itself
        if names[name].file_size > limits.xlsx_part_bytes:
            raise _bomb(f"其中“{name[:80]}”解压后{size_text(names[name].file_size)}")
    if ARC_CONTENT_TYPES not in names:
        raise DomainError(BROKEN_XLSX, "broken_file")
    declared: dict[str, set[str]] = {}
    for override in Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES))).Override:
        declared.setdefault(override.PartName.lstrip("/"), set()).add(override.ContentType)
    sheets: set[str] = set()
    other: set[str] = {ARC_CONTENT_TYPES, ARC_WORKBOOK, ARC_STYLE, ARC_THEME, ARC_CORE, ARC_APP, ARC_CUSTOM}
    for name in small:
        if name == ARC_CONTENT_TYPES:
            continue
        for rel in get_dependents(archive, name):
            if rel.TargetMode == "External":
                continue
            (sheets if (rel.Type or "").endswith(WORKSHEET_REL) else other).add(rel.target)
    return {
        name
        for name in sheets - other
        if declared.get(name, {WORKSHEET_TYPE}) == {WORKSHEET_TYPE} and not name.endswith(".rels")
    }


def _central_directory(path: pathlib.Path) -> tuple[int, int]:
    """(entries, bytes) of a zip's central directory, read from its end record (zip64 too) without parsing it."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        tail_size = min(size, 22 + 0xFFFF)
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
        at = tail.rfind(_EOCD)
        if at < 0 or at + 22 > len(tail):
            raise DomainError(BROKEN_XLSX, "broken_file")
        entries, directory = struct.unpack_from("<HI", tail, at + 10)
        if entries != 0xFFFF and directory != 0xFFFFFFFF:
            return entries, directory
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _ZIP64_LOCATOR:
            raise DomainError(BROKEN_XLSX, "broken_file")
        (record_at,) = struct.unpack_from("<Q", tail, locator + 8)
        handle.seek(record_at)
        record = handle.read(56)
        if len(record) < 56 or record[:4] != _ZIP64_EOCD:
            raise DomainError(BROKEN_XLSX, "broken_file")
        entries64, directory64 = struct.unpack_from("<QQ", record, 24)
        return entries64, directory64

"""Importing departmental data (CSV, xlsx, Parquet files, or rows pushed through the API) into Parquet snapshots.

Everything after reading the file is set-based, in an in-memory DuckDB connection:

1. the file lands in a table of text columns (`raw`; CSV and Parquet read by DuckDB itself, xlsx streamed from
   openpyxl in Arrow batches), its headers mapped to the source's declared fields by name or Chinese label;
2. one SELECT normalises every field and gives each row at most one Chinese reason — the first failing field in
   declared order (the identity number's checksum, birth date and area code are computed in SQL, in the same order
   and with the same wording as `registry.identifiers.parse_identity_number`); rows identical after normalisation
   beyond the first are rejected as duplicates;
3. identity numbers are resolved once to the registry's integer person keys by a hash join against
   `registry_person(id, id_number)` read in chunks from the Django connection; unregistered people are kept with a
   NULL key and counted as unmatched;
4. the valid rows are written, sorted by person key, to `snapshots/<source>/<snapshot id>.parquet` inside the
   transaction that creates the `Snapshot` row, and the rejected ones to a CSV report (UTF-8 with BOM) beside
   the original values.

A file whose structure is wrong (unknown source or region, future period, unreadable or empty file, missing
required columns) is refused with a DomainError and lands nothing. The same bytes imported again for the same
source and region land nothing and return the existing snapshot.
"""

import codecs
import datetime
import hashlib
import json
import math
import os
import pathlib
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from stdnum import numdb

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.models import AuditEntry
from minzheng.core.scoping import in_scope
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region
from minzheng.registry.identifiers import fold_input
from minzheng.registry.models import Person

from . import rowstore, sources
from .models import Snapshot
from .sources import Field, Source

MAX_API_ROWS = 50_000
XLSX_BATCH_ROWS = 50_000
PERSON_BATCH_ROWS = 200_000
LOOKUP_BY_INDEX_ROWS = 20_000  # up to this many distinct valid numbers, look them up instead of reading the registry
LOOKUP_BATCH = 500
# Snapshot row groups. A window check reads each source's row group holding the household (the file is sorted by
# person key) and decompresses it whole: 32,768 rows cut the window's reads by a fifth against DuckDB's default
# 122,880 at no measurable cost to the batch (benchmarks/checks.py, 2026-12-06).
ROW_GROUP_SIZE = 32_768
_HASH_CHUNK = 1 << 20

# NFKC maps the full-width forms U+FF01–U+FF5E onto ASCII U+0021–U+007E and the ideographic space onto a space.
_FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_FOLD_TABLE = str.maketrans(_FULL_WIDTH, _HALF_WIDTH)
# `identifiers.fold_input`'s separators. RE2's \s is ASCII-only, so Python's ASCII whitespace is spelled out; any
# other non-ASCII character left after folding sends the value to fold_input itself (see `_validate`).
_ID_SEPARATORS = r"[\t\n\x{0B}\x{0C}\r\x{1C}-\x{1F} _.\-‐‑‒–—―·]"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REJECTS_NAME = re.compile(r"^rejects/[a-z_]+-[0-9a-f]{12}\.csv$")

MSG_OLD_ID = "不支持15位旧版身份证号码，请使用18位公民身份号码（可在户籍地公安机关查询）"


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_many_rows"


@dataclass(frozen=True)
class ImportOutcome:
    snapshot: Snapshot | None  # None when no row was valid
    duplicate: bool  # same file already imported for this source+region: nothing new landed
    rows_total: int
    rows_valid: int
    rows_rejected: int
    rows_unmatched: int
    rejects_path: str  # relative to CHECKS_DATA_DIR, "" when nothing was rejected

    @property
    def message(self) -> str:
        """One Chinese sentence for pages and the command."""
        if self.duplicate and self.snapshot is not None:
            return (
                f"该文件已于{timezone.localtime(self.snapshot.imported_at):%Y-%m-%d %H:%M}导入"
                f"（第{self.snapshot.version}版），未重复导入"
            )
        counts = f"共{self.rows_total}行：有效{self.rows_valid}行，拒收{self.rows_rejected}行，未匹配到登记人员{self.rows_unmatched}行"
        if self.snapshot is None:
            return f"导入失败，没有有效数据行。{counts}"
        return f"已导入第{self.snapshot.version}版。{counts}"


# --- public API ---------------------------------------------------------------------------------------------------


def import_file(
    source: str,
    path,
    *,
    region_code: str,
    period: datetime.date,
    user=None,
    original_name: str = "",
) -> ImportOutcome:
    """Import one delivered file (CSV, xlsx or Parquet, told apart by content)."""
    spec, region = _check_request(source, region_code, period, user)
    path = pathlib.Path(path)
    original_name = (original_name or path.name)[:200]
    if not path.is_file():
        raise DomainError(f"文件不存在：{original_name}", "file_missing")
    if path.stat().st_size == 0:
        raise DomainError("文件为空，没有任何内容", "empty_file")
    file_sha = _file_sha256(path)
    existing = _existing(spec, region, file_sha)
    if existing is not None:
        return existing
    file_format = _detect_format(path, original_name)
    with _Workspace() as ws:
        loader = {"csv": ws.load_csv, "xlsx": ws.load_xlsx, "parquet": ws.load_parquet}[file_format]
        loader(path)
        return _finish(ws, spec, region, period, user, file_format, original_name, file_sha)


def import_rows(
    source: str,
    rows: list[dict],
    *,
    region_code: str,
    period: datetime.date,
    user=None,
) -> ImportOutcome:
    """Import rows pushed through the API (each a dict keyed by field name or Chinese label); same validation."""
    spec, region = _check_request(source, region_code, period, user)
    if len(rows) > MAX_API_ROWS:
        raise PayloadTooLarge(
            f"单次推送最多{MAX_API_ROWS}行，本次{len(rows)}行；请分批推送或改用文件导入", "too_many_rows"
        )
    if not rows:
        raise DomainError("没有数据行", "empty_file")
    rows = _canonical_rows(spec, rows)
    canonical = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    file_sha = hashlib.sha256(canonical.encode()).hexdigest()
    existing = _existing(spec, region, file_sha)
    if existing is not None:
        return existing
    with _Workspace() as ws:
        ws.load_rows(rows)
        return _finish(ws, spec, region, period, user, "api", "", file_sha)


def _canonical_rows(spec: Source, rows: list[dict]) -> list[dict]:
    """Rows keyed by field name (a pushed row may use the Chinese label instead); unknown keys are kept as given."""
    keys = {_header_key(f.name): f.name for f in spec.fields} | {_header_key(f.label): f.name for f in spec.fields}
    result = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DomainError(f"第{index}行应为一个对象（字段名: 值）", "invalid_rows")
        out: dict[str, object] = {}
        for key, value in row.items():
            name = keys.get(_header_key(str(key)), str(key))
            if name in out:
                raise DomainError(f"第{index}行的“{name}”字段出现了两次，请只保留一个", "duplicate_column")
            out[name] = value
        result.append(out)
    return result


def data_dir() -> pathlib.Path:
    return pathlib.Path(settings.CHECKS_DATA_DIR)


def snapshot_path(snapshot) -> pathlib.Path:
    return data_dir() / snapshot.path


def rejects_file(relative: str) -> pathlib.Path:
    """The absolute path of a rejects report; anything but a name this module writes is refused (no traversal)."""
    if not isinstance(relative, str) or not _REJECTS_NAME.match(relative):
        raise NotFound("拒收报告不存在", "not_found")
    return data_dir() / relative


def snapshots_for(user, source: str | None = None):
    """Snapshots a user may list: those covering the user's region, a region above it, or any region under it."""
    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    if region is None or not user.is_active:
        return Snapshot.objects.none()
    low, high = region.subtree_range()
    above = [r.code for r in region.ancestors()]
    qs = Snapshot.objects.filter(Q(region__gte=low, region__lte=high) | Q(region__in=above))
    if source:
        qs = qs.filter(source=source)
    return qs.select_related("region", "imported_by")


def rejects_readable(user, relative: str) -> tuple[pathlib.Path, str]:
    """A rejects report, with the region it belongs to, for a user holding IMPORT_DATA whose region covers an import
    that produced it; anything else is NotFound (out of scope looks exactly like missing).

    The report is found through the snapshot that names it, or — when no row of the file was valid and so no
    snapshot exists — through the import's audit entry.
    """
    require(user, Capability.IMPORT_DATA)
    path = rejects_file(relative)
    regions = set(Snapshot.objects.filter(rejects_path=relative).values_list("region_id", flat=True))
    if not regions:
        regions = set(
            AuditEntry.objects.filter(object_type="snapshot", detail__rejects_path=relative).values_list(
                "region_code", flat=True
            )
        )
    allowed = sorted(code for code in regions if code and in_scope(user, code))
    if not allowed or not path.is_file():
        raise NotFound("拒收报告不存在或不在您的管辖范围内", "not_found")
    return path, allowed[0]


# --- request checks -----------------------------------------------------------------------------------------------


def _check_request(source: str, region_code: str, period, user) -> tuple[Source, Region]:
    if user is not None:
        require(user, Capability.IMPORT_DATA)
    spec = sources.get(source)
    code = region_codes.canonical(str(region_code or ""))
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound(f"区划代码“{region_code}”不存在", "unknown_region", field="region")
    if user is not None and not in_scope(user, region.code):
        raise PermissionDeniedError(
            f"您只能导入本辖区（{user.region.name}）及下辖区划的数据，不能导入{region.name}的数据", "forbidden"
        )
    if not isinstance(period, datetime.date) or isinstance(period, datetime.datetime):
        raise DomainError("数据截至日期应为日期（YYYY-MM-DD）", "invalid_period", field="period")
    if period > timezone.localdate():
        raise DomainError(f"数据截至日期{period:%Y-%m-%d}晚于今天", "future_period", field="period")
    return spec, region


def _existing(spec: Source, region: Region, file_sha: str) -> ImportOutcome | None:
    snapshot = Snapshot.objects.filter(source=spec.code, region=region, file_sha256=file_sha).first()
    if snapshot is None:
        return None
    return ImportOutcome(
        snapshot=snapshot,
        duplicate=True,
        rows_total=snapshot.rows_total,
        rows_valid=snapshot.rows_valid,
        rows_rejected=snapshot.rows_rejected,
        rows_unmatched=snapshot.rows_unmatched,
        rejects_path=snapshot.rejects_path,
    )


def _file_sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _detect_format(path: pathlib.Path, name: str) -> str:
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = pathlib.PurePath(name).suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DomainError("不支持旧版Excel（.xls）文件，请另存为.xlsx或CSV后导入", "unsupported_format")
    if suffix in (".xlsx", ".xlsm"):
        raise DomainError("无法读取Excel文件：文件已损坏或不是有效的.xlsx文件", "broken_file")
    if suffix == ".parquet":
        raise DomainError("无法读取Parquet文件：文件已损坏或格式不正确", "broken_file")
    if suffix == ".xls":
        raise DomainError("不支持旧版Excel（.xls）文件，请另存为.xlsx或CSV后导入", "unsupported_format")
    return "csv"


# --- the DuckDB workspace -----------------------------------------------------------------------------------------


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


@lru_cache(maxsize=1)
def known_area_codes() -> tuple[str, ...]:
    """Every county code stdnum's GB/T 2260 history knows in any period: the set `identifiers._area_known` accepts."""
    found: set[str] = set()

    def walk(nodes, prefix: str) -> None:
        for length, low, high, props, children in nodes:
            for value in range(int(low), int(high) + 1):
                code = prefix + str(value).zfill(length)
                if "county" in props and len(code) == 6:
                    found.add(code)
                walk(children, code)

    walk(numdb.get("cn/loc").prefixes, "")
    return tuple(sorted(found))


def _text(value) -> str | None:
    """A cell or pushed value as the text a CSV would have held."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 1e15:
            # Beyond a double's exact digits (an identity number typed as a number): keep the mangled form visible.
            return repr(value)
        if value.is_integer():
            return str(int(value))
        return repr(round(value, 8))  # spreadsheet arithmetic noise (1234.5600000000002) goes, real digits stay
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


class _Workspace:
    """An in-memory DuckDB connection holding one import: `raw` (the file as text) and what is derived from it."""

    def __enter__(self) -> "_Workspace":
        self.scratch = data_dir() / "tmp"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(config={"temp_directory": str(self.scratch / f"duckdb-{uuid.uuid4().hex}")})
        self.temp_files: list[pathlib.Path] = []
        self.columns: list[str] = []
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()
        for path in self.temp_files:
            path.unlink(missing_ok=True)

    def temp_file(self, suffix: str) -> pathlib.Path:
        path = self.scratch / f"{uuid.uuid4().hex}{suffix}"
        self.temp_files.append(path)
        return path

    # Loading: each leaves a table `raw` of VARCHAR columns named as in the file, in file order (rowid = order).

    def load_csv(self, path: pathlib.Path) -> None:
        if not _is_utf8(path):
            path = self._transcode(path)
        try:
            self.con.execute(
                f"CREATE TABLE raw AS SELECT * FROM read_csv({_lit(str(path))}, all_varchar = true, header = true,"
                " null_padding = true, encoding = 'utf-8')"
            )
        except duckdb.Error as exc:
            raise DomainError(f"无法读取CSV文件：{_duckdb_reason(exc)}", "broken_file") from None
        self._columns()

    def _transcode(self, path: pathlib.Path) -> pathlib.Path:
        """Staff files are often GB18030 (Excel's 'CSV' on Chinese Windows); DuckDB reads UTF-8, so convert once."""
        target = self.temp_file(".csv")
        try:
            with path.open("r", encoding="gb18030", newline="") as src, target.open("w", encoding="utf-8") as dst:
                shutil.copyfileobj(src, dst, _HASH_CHUNK)
        except UnicodeDecodeError:
            raise DomainError("无法识别CSV文件的字符编码：请另存为UTF-8或GBK/GB18030编码的CSV", "broken_file") from None
        return target

    def load_xlsx(self, path: pathlib.Path) -> None:
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:
            raise DomainError("无法读取Excel文件：文件已损坏或不是有效的.xlsx文件", "broken_file") from None
        try:
            if not book.worksheets:
                raise DomainError("Excel文件中没有工作表", "empty_file")
            rows = book.worksheets[0].iter_rows(values_only=True)
            try:
                header = next(rows, None)
                names = _unique_names([_text(v) for v in header or ()])
                while names and names[-1].startswith("列") and header[len(names) - 1] is None:
                    names.pop()  # trailing empty header cells
                if not names:
                    raise DomainError("Excel文件第一个工作表是空的，第一行应为列名", "empty_file")
                width = len(names)
                self.con.execute(f"CREATE TABLE raw ({', '.join(f'{_qi(n)} VARCHAR' for n in names)})")
                batch: list[list[str | None]] = [[] for _ in names]
                for row in rows:
                    cells = list(row[:width]) + [None] * (width - len(row))
                    for column, value in zip(batch, cells, strict=True):
                        column.append(_text(value))
                    if len(batch[0]) >= XLSX_BATCH_ROWS:
                        self._append(names, batch)
                        batch = [[] for _ in names]
                self._append(names, batch)
            except DomainError:
                raise
            except Exception:
                raise DomainError("无法读取Excel文件：文件已损坏或内容无法解析", "broken_file") from None
        finally:
            book.close()
        self._columns()

    def load_parquet(self, path: pathlib.Path) -> None:
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})").fetchall()
            casts = []
            for name, kind, *_ in described:
                column = _qi(name)
                if kind.startswith("TIMESTAMP"):
                    expr = (
                        f"CASE WHEN {column} = date_trunc('day', {column}) THEN CAST(CAST({column} AS DATE) AS VARCHAR)"
                        f" ELSE CAST({column} AS VARCHAR) END"
                    )
                else:
                    expr = f"CAST({column} AS VARCHAR)"
                casts.append(f"{expr} AS {column}")
            self.con.execute(f"CREATE TABLE raw AS SELECT {', '.join(casts)} FROM read_parquet({_lit(str(path))})")
        except duckdb.Error as exc:
            raise DomainError(f"无法读取Parquet文件：{_duckdb_reason(exc)}", "broken_file") from None
        self._columns()

    def load_rows(self, rows: list[dict]) -> None:
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(row))
        ordered = list(names)
        if not ordered:
            raise DomainError("数据行中没有任何字段", "empty_file")
        self.con.execute(f"CREATE TABLE raw ({', '.join(f'{_qi(n)} VARCHAR' for n in ordered)})")
        self._append(ordered, [[_text(row.get(name)) for row in rows] for name in ordered])
        self._columns()

    def _append(self, names: list[str], batch: list[list[str | None]]) -> None:
        if not batch or not batch[0]:
            return
        table = pa.table({f"c{i}": pa.array(col, type=pa.string()) for i, col in enumerate(batch)})
        self.con.register("batch_in", table)
        try:
            self.con.execute("INSERT INTO raw SELECT * FROM batch_in")
        finally:
            self.con.unregister("batch_in")

    def _columns(self) -> None:
        self.columns = [row[0] for row in self.con.execute("DESCRIBE raw").fetchall()]


def _unique_names(values: list[str | None]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(values, start=1):
        name = (value or "").strip() or f"列{index}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names


def _is_utf8(path: pathlib.Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _duckdb_reason(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    return "文件格式不正确或已损坏" + (f"（{text[:160]}）" if text else "")


# --- mapping headers ----------------------------------------------------------------------------------------------


def _map_columns(spec: Source, columns: list[str]) -> dict[str, str]:
    """Field name -> raw column, matching headers by field name or Chinese label (full-/half-width alike)."""
    keys: dict[str, Field] = {}
    for f in spec.fields:
        keys[_header_key(f.name)] = f
        keys[_header_key(f.label)] = f
    mapping: dict[str, str] = {}
    for column in columns:
        f = keys.get(_header_key(column))
        if f is None:
            continue
        if f.name in mapping:
            raise DomainError(
                f"“{f.label}”列出现了两次（“{mapping[f.name]}”和“{column}”），请只保留一列", "duplicate_column"
            )
        mapping[f.name] = column
    missing = [f for f in spec.fields if f.required and f.name not in mapping]
    if missing:
        listed = "、".join(f"{f.label}（{f.name}）" for f in missing)
        raise DomainError(
            f"缺少必填列：{listed}。{spec.name}数据应包含列："
            + "、".join(f.label + ("" if f.required else "（可选）") for f in spec.fields),
            "missing_columns",
            missing=[f.name for f in missing],
        )
    return mapping


# --- validation SQL -----------------------------------------------------------------------------------------------


def _fold(expr: str) -> str:
    """Full-width forms to ASCII (what NFKC does to them), then trimmed; empty becomes NULL."""
    return f"NULLIF(trim({_full_width_to_ascii(expr)}), '')"


def _full_width_to_ascii(expr: str) -> str:
    # `translate` is slow per character, so only values holding a non-ASCII character go through it.
    return (
        f"CASE WHEN regexp_matches({expr}, '[^\\x00-\\x7F]')"
        f" THEN translate({expr}, {_lit(_FULL_WIDTH)}, {_lit(_HALF_WIDTH)}) ELSE {expr} END"
    )


_DATE_RE = r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
_MONTH_RE = r"^([0-9]{4})[-/.年]([0-9]{1,2})月?$"


def _date_expr(v: str) -> str:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or YYYYMMDD (a midnight time part is tolerated) -> DATE."""
    return (
        f"CAST(CASE WHEN regexp_full_match({v}, '[0-9]{{8}}') THEN try_strptime({v}, '%Y%m%d')"
        f" WHEN regexp_matches({v}, {_lit(_DATE_RE)})"
        f" THEN try_strptime(regexp_replace({v}, {_lit(_DATE_RE)}, '\\1-\\2-\\3'), '%Y-%m-%d') END AS DATE)"
    )


def _month_expr(v: str) -> str:
    """YYYY-MM, YYYY/MM, YYYY年M月, YYYYMM, or any accepted date -> the first day of that month."""
    return (
        f"CAST(CASE WHEN regexp_full_match({v}, '[0-9]{{6}}') THEN try_strptime({v}, '%Y%m')"
        f" WHEN regexp_matches({v}, {_lit(_MONTH_RE)})"
        f" THEN try_strptime(regexp_replace({v}, {_lit(_MONTH_RE)}, '\\1-\\2'), '%Y-%m')"
        f" ELSE date_trunc('month', {_date_expr(v)}) END AS DATE)"
    )


def _field_sql(f: Field, column: str | None, index: int, today: str) -> tuple[str, str, str]:
    """(clean text expr over `src`, typed value expr over `clean`, reason expr over `typed`) for one field."""
    c, v = f"c{index}", f"v{index}"
    label = f.label
    if column is None:
        return "CAST(NULL AS VARCHAR)", f"CAST(NULL AS {f.sql_type})", "CAST(NULL AS VARCHAR)"
    raw = _qi(column)
    required = f"WHEN {c} IS NULL THEN {_lit(label + '：必须填写')}" if f.required else f"WHEN {c} IS NULL THEN NULL"
    if f.kind == "text":
        return f"NULLIF(trim({raw}), '')", c, f"CASE {required} END"
    if f.kind == "code":
        folded = {code: label_.translate(_FOLD_TABLE) for code, label_ in f.choices.items()}
        whens = " ".join(f"WHEN lower({c}) = {_lit(code.lower())} THEN {_lit(code)}" for code in f.choices)
        whens += " " + " ".join(f"WHEN {c} = {_lit(text)} THEN {_lit(code)}" for code, text in folded.items())
        allowed = "、".join(f.choices.values())
        reason = (
            f"CASE {required} WHEN {v} IS NULL THEN {_lit(label + '：“')} || {c} || "
            f"{_lit('”不在规定取值内（可填：' + allowed + '，或其代码）')} END"
        )
        return _fold(raw), f"CASE {whens} END", reason
    if f.kind == "money":
        clean = f"NULLIF(replace(replace({_fold(raw)}, ',', ''), ' ', ''), '')"
        shape = r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
        value = (
            f"CASE WHEN regexp_full_match({c}, {_lit(shape)})"
            f" AND length(rtrim(split_part({c}, '.', 2), '0')) <= 2 THEN TRY_CAST({c} AS DECIMAL(18,2)) END"
        )
        reason = (
            f"CASE {required}"
            f" WHEN NOT regexp_full_match({c}, {_lit(shape)}) THEN {_lit(label + '：“')} || {c} || {_lit('”不是有效的金额数字')}"
            f" WHEN length(rtrim(split_part({c}, '.', 2), '0')) > 2 THEN {_lit(label + '：金额最多保留两位小数，实为“')} || {c} || '”'"
            f" WHEN {v} IS NULL THEN {_lit(label + '：金额过大')}"
            f" WHEN {v} < 0 THEN {_lit(label + '：金额不能为负数，实为')} || {c} END"
        )
        return clean, value, reason
    if f.kind == "int":
        value = f"CASE WHEN regexp_full_match({c}, '-?[0-9]+') THEN TRY_CAST({c} AS INTEGER) END"
        reason = f"CASE {required} WHEN {v} IS NULL THEN {_lit(label + '：“')} || {c} || {_lit('”不是有效的整数')} END"
        return _fold(raw), value, reason
    if f.kind in ("date", "month"):
        is_month = f.kind == "month"
        value = _month_expr(c) if is_month else _date_expr(c)
        shape = (
            "年月格式不正确（应为YYYY-MM、YYYYMM或YYYY-MM-DD）"
            if is_month
            else "日期格式不正确或日期不存在（应为YYYY-MM-DD、YYYY/MM/DD或YYYYMMDD）"
        )
        late = "不能晚于本月" if is_month else "不能晚于今天"
        reason = (
            f"CASE {required} WHEN {v} IS NULL THEN {_lit(label + '：“')} || {c} || {_lit('”' + shape)}"
            f" WHEN {v} > {today} THEN {_lit(label + '：')} || strftime({v}, '%Y-%m-%d') || {_lit(late)}"
            f" WHEN year({v}) < 1890 THEN {_lit(label + '：')} || strftime({v}, '%Y-%m-%d') || {_lit('不合理')} END"
        )
        return _fold(raw), value, reason
    raise AssertionError(f"unhandled field kind {f.kind}")


def _id_check_char_sql(n: str) -> str:
    """GB 11643: check = (12 − Σ aᵢ·Wᵢ mod 11) mod 11, 10 → X; i.e. "10X98765432"[Σ mod 11]."""
    total = " + ".join(f"CAST(substr({n}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    return f"substr('10X98765432', ({total}) % 11 + 1, 1)"


def _id_reason_sql(n: str, birth: str, area_known: str, today: str) -> str:
    """The reason `parse_identity_number` would give, checked in the same order; NULL when the number is valid."""
    return (
        "CASE"
        f" WHEN {n} IS NULL OR {n} = '' THEN '请填写公民身份号码'"
        f" WHEN length({n}) = 15 AND regexp_full_match({n}, '[0-9]{{15}}') THEN {_lit(MSG_OLD_ID)}"
        f" WHEN length({n}) <> 18 THEN '公民身份号码应为18位，您输入了' || length({n}) || '位'"
        f" WHEN NOT regexp_full_match({n}, '[0-9]{{17}}[0-9X]') THEN '公民身份号码只能由数字和末位的X组成'"
        f" WHEN substr({n}, 18, 1) <> {_id_check_char_sql(n)} THEN '公民身份号码校验位不正确，请核对是否输错'"
        f" WHEN {birth} IS NULL THEN '公民身份号码中的出生日期不存在'"
        f" WHEN {birth} > {today} THEN '公民身份号码中的出生日期晚于今天'"
        f" WHEN year({birth}) < 1890 THEN '公民身份号码中的出生日期不合理'"
        f" WHEN NOT {area_known} THEN '公民身份号码的地址码“' || substr({n}, 1, 6) || '”不是有效的行政区划代码'"
        " END"
    )


def _id_birth_sql(n: str) -> str:
    # Year 0000 is no date (Python's date() refuses it); DuckDB would read it as 1 BC.
    return (
        f"CASE WHEN regexp_full_match({n}, '[0-9]{{17}}[0-9X]') AND substr({n}, 7, 4) <> '0000'"
        f" THEN CAST(try_strptime(substr({n}, 7, 8), '%Y%m%d') AS DATE) END"
    )


def _id_fold_sql(expr: str) -> str:
    value = f"coalesce({expr}, '')"
    return f"upper(regexp_replace({_full_width_to_ascii(value)}, {_lit(_ID_SEPARATORS)}, '', 'g'))"


def _validate(
    ws: _Workspace, spec: Source, mapping: dict[str, str], today: datetime.date, *, dedupe: bool = True
) -> None:
    """Build `checked(row_no, reason, n, v1..vk)`: one row per non-blank data row, reason NULL when valid."""
    con = ws.con
    today_sql = f"DATE {_lit(today.isoformat())}"
    con.register("known_areas_in", pa.table({"code": pa.array(known_area_codes(), pa.string())}))
    con.execute("CREATE TABLE known_areas AS SELECT code FROM known_areas_in")
    con.unregister("known_areas_in")

    id_column = _qi(mapping["id_number"])
    blank = " AND ".join(f"NULLIF(trim({_qi(c)}), '') IS NULL" for c in ws.columns)
    con.execute(
        f"CREATE TABLE src AS SELECT rowid + 1 AS __row_no, *, {_id_fold_sql(id_column)} AS __id FROM raw"
        f" WHERE NOT ({blank})"
    )
    # Values the SQL fold leaves non-ASCII (other compatibility characters) get Python's NFKC fold, so the result is
    # exactly `fold_input`'s; there are normally none.
    odd = con.execute(f"SELECT DISTINCT {id_column} FROM src WHERE regexp_matches(__id, '[^\\x00-\\x7F]')").fetchall()
    con.execute("CREATE TABLE id_fallback (raw VARCHAR, folded VARCHAR)")
    if odd:
        con.executemany("INSERT INTO id_fallback VALUES (?, ?)", [(r[0], fold_input(r[0])) for r in odd])

    others = [f for f in spec.fields if f.name != "id_number"]
    parts = [_field_sql(f, mapping.get(f.name), i, today_sql) for i, f in enumerate(others, start=1)]
    cleans = ", ".join(f"{clean} AS c{i}" for i, (clean, _, _) in enumerate(parts, start=1))
    values = ", ".join(f"{value} AS v{i}" for i, (_, value, _) in enumerate(parts, start=1))
    reasons = ", ".join(reason for _, _, reason in parts)
    v_columns = ", ".join(f"v{i}" for i in range(1, len(parts) + 1))
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH clean AS (
            SELECT s.__row_no AS row_no, CASE WHEN f.raw IS NOT NULL THEN f.folded ELSE s.__id END AS n{", " + cleans if parts else ""}
            FROM src s LEFT JOIN id_fallback f ON f.raw = s.{id_column}
        ), typed AS (
            SELECT *, {_id_birth_sql("n")} AS birth{", " + values if parts else ""} FROM clean
        ), judged AS (
            SELECT t.*, coalesce({_id_reason_sql("t.n", "t.birth", "(a.code IS NOT NULL)", today_sql)}
                                 {", " + reasons if parts else ""}) AS reason
            FROM typed t LEFT JOIN known_areas a ON a.code = substr(t.n, 1, 6)
        )
        SELECT row_no, n{", " + v_columns if parts else ""},
               CASE WHEN reason IS NOT NULL THEN reason
                    WHEN {"first_row < row_no" if dedupe else "false"} THEN '与第' || first_row || '行重复' END AS reason
        FROM (
            SELECT *, CASE WHEN reason IS NULL THEN
                   min(row_no) OVER (PARTITION BY reason IS NULL, n{", " + v_columns if parts else ""}) END AS first_row
            FROM judged
        )
        """
    )


def identity_reasons(values: list[str | None], *, today: datetime.date | None = None) -> list[str | None]:
    """The reason the import's SQL gives each identity number (None when valid), for proving it agrees with
    `registry.identifiers.parse_identity_number` — the same checks, in the same order, with the same wording."""
    spec = Source("identity", "公民身份号码", "", "", (sources.ID,))
    with _Workspace() as ws:
        ws.load_rows([{"id_number": value if value is not None else ""} for value in values])
        _validate(ws, spec, {"id_number": "id_number"}, today or timezone.localdate(), dedupe=False)
        found = dict(ws.con.execute("SELECT row_no, reason FROM checked").fetchall())
    # Blank rows are skipped by the import; as a single value they are a missing number.
    return [found.get(index, "请填写公民身份号码") for index in range(1, len(values) + 1)]


# --- persons ------------------------------------------------------------------------------------------------------


def _load_persons(ws: _Workspace) -> None:
    """`persons(id, id_number)`: the registry's keys for the file's valid numbers.

    A small delivery (an API push, a few thousand rows) looks its numbers up through the unique index; a large one
    reads the whole (id, id_number) column pair once, in chunks (a server-side cursor on PostgreSQL), which beats
    hundreds of thousands of index probes.
    """
    con = ws.con
    con.execute("CREATE TABLE persons (id BIGINT, id_number VARCHAR)")
    table = connection.ops.quote_name(Person._meta.db_table)
    wanted = con.execute("SELECT count(DISTINCT n) FROM checked WHERE reason IS NULL").fetchall()[0][0]
    with connection.chunked_cursor() as cursor:
        if wanted <= LOOKUP_BY_INDEX_ROWS:
            numbers = [r[0] for r in con.execute("SELECT DISTINCT n FROM checked WHERE reason IS NULL").fetchall()]
            for start in range(0, len(numbers), LOOKUP_BATCH):
                batch = numbers[start : start + LOOKUP_BATCH]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(f"SELECT id, id_number FROM {table} WHERE id_number IN ({marks})", batch)
                _append_persons(con, cursor.fetchall())
            return
        cursor.execute(f"SELECT id, id_number FROM {table}")
        while rows := cursor.fetchmany(PERSON_BATCH_ROWS):
            _append_persons(con, rows)


def _append_persons(con, rows: list[tuple]) -> None:
    if not rows:
        return
    batch = pa.table(
        {"id": pa.array([r[0] for r in rows], pa.int64()), "id_number": pa.array([r[1] for r in rows], pa.string())}
    )
    con.register("persons_in", batch)
    try:
        con.execute("INSERT INTO persons SELECT * FROM persons_in")
    finally:
        con.unregister("persons_in")


# --- the import ---------------------------------------------------------------------------------------------------


def _finish(
    ws: _Workspace,
    spec: Source,
    region: Region,
    period: datetime.date,
    user,
    file_format: str,
    original_name: str,
    file_sha: str,
) -> ImportOutcome:
    mapping = _map_columns(spec, ws.columns)
    today = timezone.localdate()
    _validate(ws, spec, mapping, today)
    con = ws.con
    total, rejected = con.execute("SELECT count(*), count(reason) FROM checked").fetchall()[0]
    if total == 0:
        raise DomainError("文件中没有数据行（第一行应为列名，其后为数据）", "empty_file")
    valid = total - rejected

    rejects_path = _write_rejects(ws, spec, file_sha) if rejected else ""
    counts = {"rows_total": total, "rows_valid": valid, "rows_rejected": rejected}
    detail = {
        "source": spec.code,
        "period": period.isoformat(),
        "file_format": file_format,
        "original_name": original_name,
        "file_sha256": file_sha,
        "rejects_path": rejects_path,
        **counts,
    }
    if valid == 0:
        detail["rows_unmatched"] = 0
        audit.record(
            audit.Action.CREATE,
            user=user,
            object_type="snapshot",
            object_id="",
            label=f"导入{spec.name}数据（{region.name}，{period:%Y-%m-%d}）：无有效数据",
            region_code=region.code,
            detail=detail,
        )
        return ImportOutcome(None, False, total, 0, rejected, 0, rejects_path)

    _load_persons(ws)
    others = [f for f in spec.fields if f.name != "id_number"]
    con.execute(
        "CREATE TABLE good AS SELECT c.*, p.id AS person_key FROM checked c"
        " LEFT JOIN persons p ON p.id_number = c.n WHERE c.reason IS NULL"
    )
    unmatched = con.execute("SELECT count(*) FROM good WHERE person_key IS NULL").fetchall()[0][0]
    detail["rows_unmatched"] = unmatched
    columns = ", ".join(f"CAST(v{i} AS {f.sql_type}) AS {_qi(f.name)}" for i, f in enumerate(others, start=1))

    folder = data_dir() / "snapshots" / spec.code
    folder.mkdir(parents=True, exist_ok=True)
    final: pathlib.Path | None = None
    temp: pathlib.Path | None = None
    try:
        with transaction.atomic():
            Region.objects.select_for_update().filter(code=region.code).first()  # serialise imports per region
            if (again := _existing(spec, region, file_sha)) is not None:
                return again
            latest = Snapshot.objects.filter(source=spec.code, region=region, period=period).aggregate(
                v=Max("version")
            )["v"]
            snapshot = Snapshot.objects.create(
                source=spec.code,
                region=region,
                period=period,
                version=(latest or 0) + 1,
                file_format=file_format,
                original_name=original_name,
                file_sha256=file_sha,
                content_sha256="",
                path="",
                rows_total=total,
                rows_valid=valid,
                rows_rejected=rejected,
                rows_unmatched=unmatched,
                rejects_path=rejects_path,
                imported_by=user if getattr(user, "is_authenticated", False) else None,
            )
            final = folder / f"{snapshot.pk}.parquet"
            temp = folder / f".{snapshot.pk}.{uuid.uuid4().hex}.parquet.tmp"
            con.execute(
                f"COPY (SELECT CAST({int(snapshot.pk)} AS BIGINT) AS snapshot_id, CAST(row_no AS INTEGER) AS row_no,"
                f" CAST(person_key AS BIGINT) AS person_key, n AS id_number{', ' + columns if columns else ''}"
                f" FROM good ORDER BY person_key NULLS LAST, row_no)"
                f" TO {_lit(str(temp))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
            )
            snapshot.content_sha256 = _file_sha256(temp)
            snapshot.path = final.relative_to(data_dir()).as_posix()
            os.replace(temp, final)
            snapshot.save(update_fields=["content_sha256", "path"])
            # The window reads one household's rows from the row store; fill it once the snapshot is committed, and
            # drop the deliveries this one supersedes.
            transaction.on_commit(
                partial(
                    rowstore.load_quietly,
                    rowstore.store_path(data_dir()),
                    spec.code,
                    final,
                    [snapshot_path(s) for s in _superseded(snapshot)],
                )
            )
            audit.record(
                audit.Action.CREATE,
                user=user,
                object_type="snapshot",
                object_id=snapshot.pk,
                label=f"导入{spec.name}数据（{region.name}，{period:%Y-%m-%d}，第{snapshot.version}版）",
                region_code=region.code,
                detail={**detail, "version": snapshot.version, "path": snapshot.path},
            )
    except IntegrityError:
        _discard(temp, final)
        again = _existing(spec, region, file_sha)
        if again is not None:
            return again
        raise Conflict("同一数据来源正在被另一次导入写入，请稍后重试", "import_conflict") from None
    except BaseException:
        _discard(temp, final)
        raise
    return ImportOutcome(snapshot, False, total, valid, rejected, unmatched, rejects_path)


def _superseded(snapshot: Snapshot) -> list[Snapshot]:
    """The earlier deliveries of the snapshot's source for its region, if it is the newest: for any date from its
    period on, the engine reads it instead (a back-filled older period supersedes nothing)."""
    same = Snapshot.objects.filter(source=snapshot.source, region_id=snapshot.region_id).exclude(pk=snapshot.pk)
    later = Q(period__gt=snapshot.period) | Q(period=snapshot.period, version__gt=snapshot.version)
    if same.filter(later).exists():
        return []
    return list(same.exclude(path=""))


def _discard(*paths: pathlib.Path | None) -> None:
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


def _write_rejects(ws: _Workspace, spec: Source, file_sha: str) -> str:
    """The rejected rows with their original values and reason, as CSV with a BOM (Excel then reads it as UTF-8)."""
    relative = f"rejects/{spec.code}-{file_sha[:12]}.csv"
    target = data_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    body = ws.temp_file(".csv")
    originals = ", ".join(
        # A cell starting with = + - @ would run as a formula when the report is opened in Excel; plain numbers stay.
        f"CASE WHEN regexp_matches(s.{_qi(c)}, '^[=+\\-@\\t\\r]') AND NOT regexp_full_match(s.{_qi(c)}, '-?[0-9.,]+')"
        f" THEN '''' || s.{_qi(c)} ELSE s.{_qi(c)} END AS {_qi(c)}"
        for c in ws.columns
    )
    ws.con.execute(
        f'COPY (SELECT c.row_no AS "行号", {originals}, c.reason AS "拒收原因"'
        f" FROM checked c JOIN src s ON s.__row_no = c.row_no WHERE c.reason IS NOT NULL ORDER BY c.row_no)"
        f" TO {_lit(str(body))} (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')"
    )
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temp.open("wb") as out, body.open("rb") as src:
            out.write(b"\xef\xbb\xbf")
            shutil.copyfileobj(src, out, _HASH_CHUNK)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return relative

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
required columns) is refused with a DomainError and lands nothing. A delivery over a limit (`limits`: size, rows, an
.xlsx's uncompressed members, the share of rejected rows) is refused whole with a `limits.DeliveryRefused`, lands
nothing (a too-often-rejected one keeps only its rejects report, for the department to correct its file) and the
refusal is audited. The same bytes imported again for the same source and region land nothing and return the
existing snapshot.
"""

import datetime
import hashlib
import itertools
import json
import os
import pathlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit, masking
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.scoping import in_scope
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region
from minzheng.registry.models import Person

from . import limits, rowstore, sources
from .files import data_dir, rejects_url, snapshot_path
from .models import Snapshot
from .sources import Source
from .validation import _id_fold_sql, header_key, map_columns, validate
from .workspace import HASH_CHUNK, Workspace, lit, qi

Progress = Callable[[int, str], None]
PERSON_BATCH_ROWS = 200_000
LOOKUP_BY_INDEX_ROWS = 20_000  # up to this many distinct valid numbers, look them up instead of reading the registry
LOOKUP_BATCH = 500
# Snapshot row groups. A window check reads each source's row group holding the household (the file is sorted by
# person key) and decompresses it whole: 32,768 rows cut the window's reads by a fifth against DuckDB's default
# 122,880 at no measurable cost to the batch (benchmarks/checks.py, 2026-12-06).
ROW_GROUP_SIZE = 32_768


class PayloadTooLarge(limits.DeliveryRefused):
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
    progress: Progress | None = None,
    landed: Callable[[ImportOutcome], None] | None = None,
    confirm_smaller: bool = False,
) -> ImportOutcome:
    """Import one delivered file (CSV, xlsx or Parquet, told apart by content). `progress(percent, message)` hears
    how far it is; `landed(outcome)` is called inside the transaction that creates the snapshot (a batch run marks
    itself complete there); `confirm_smaller`: the importer confirmed the file is complete though far smaller than
    the delivery in force for the region (`limits.check_replacement`)."""
    spec, region = check_request(source, region_code, period, user)
    path = pathlib.Path(path)
    original_name = (original_name or path.name)[:200]
    if not path.is_file():
        raise DomainError(f"文件不存在：{original_name}", "file_missing")
    size = path.stat().st_size
    if size == 0:
        raise DomainError("文件为空，没有任何内容", "empty_file")
    report = progress or (lambda percent, message: None)
    bounds = limits.current()
    with refusals_audited(user, spec.code, region.code, period, original_name=original_name, size=size):
        limits.check_file_size(size, bounds)
        report(2, "检查文件")
        file_sha = _file_sha256(path)
        existing = _existing(spec, region, file_sha)
        if existing is not None:
            return existing
        file_format = _detect_format(path, original_name)
        if file_format == "xlsx":
            limits.check_xlsx(path, bounds)
        elif file_format == "parquet":
            limits.check_rows(_parquet_rows(path), bounds.rows)
        with Workspace(report) as ws:
            report(5, "读取文件")
            if file_format == "xlsx":
                ws.load_xlsx(path, bounds.xlsx_rows)
            else:
                {"csv": ws.load_csv, "parquet": ws.load_parquet}[file_format](path)
            limits.check_rows(ws.con.execute("SELECT count(*) FROM raw").fetchall()[0][0], bounds.rows)
            return _finish(
                ws, spec, region, period, user, file_format, original_name, file_sha, bounds, landed, confirm_smaller
            )


def import_rows(
    source: str,
    rows: list[dict],
    *,
    region_code: str,
    period: datetime.date,
    user=None,
    confirm_smaller: bool = False,
) -> ImportOutcome:
    """Import rows pushed through the API (each a dict keyed by field name or Chinese label); same validation, same
    limits (IMPORT_MAX_PUSH_ROWS rows a push, the share of rejected rows)."""
    spec, region = check_request(source, region_code, period, user)
    bounds = limits.current()
    with refusals_audited(user, spec.code, region.code, period, original_name="", size=None):
        if len(rows) > bounds.push_rows:
            raise PayloadTooLarge(
                f"单次推送最多{bounds.push_rows}行，本次{len(rows)}行；请分批推送或改用文件导入", "too_many_rows"
            )
        if not rows:
            raise DomainError("没有数据行", "empty_file")
        rows = _canonical_rows(spec, rows)
        canonical = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        file_sha = hashlib.sha256(canonical.encode()).hexdigest()
        existing = _existing(spec, region, file_sha)
        if existing is not None:
            return existing
        with Workspace() as ws:
            ws.load_rows(rows)
            return _finish(ws, spec, region, period, user, "api", "", file_sha, bounds, None, confirm_smaller)


@contextmanager
def refusals_audited(user, source: str, region_code: str, period, **detail) -> Iterator[None]:
    """Audit a delivery refused for a limit (and let the refusal through): who tried to land what, and why."""
    try:
        yield
    except limits.DeliveryRefused as exc:
        audit_refusal(exc, user=user, source=source, region_code=region_code, period=period, **detail)
        raise


def audit_refusal(exc: limits.DeliveryRefused, *, user, source: str, region_code: str, period, **detail) -> None:
    spec = sources.ALL_SOURCES.get(source)
    region = Region.objects.filter(code=region_code).first() if region_code else None
    what = f"导入{spec.name if spec else source}数据（{region.name if region else '区划未定'}"
    what += f"，{period:%Y-%m-%d}）" if isinstance(period, datetime.date) else "）"
    audit.record(
        audit.Action.CREATE,
        user=user,
        object_type="snapshot",
        object_id="",
        label=f"{what}：超出限制，整批拒收",
        region_code=region.code if region else "",
        detail={
            "source": source,
            "period": period.isoformat() if isinstance(period, datetime.date) else "",
            "refused": exc.code,
            "message": exc.message,
            "rejects_path": getattr(exc, "rejects_path", ""),
            **{k: v for k, v in detail.items() if v is not None},
            **{k: v for k, v in exc.context.items() if k != "rejects_url"},
        },
    )


def _canonical_rows(spec: Source, rows: list[dict]) -> list[dict]:
    """Rows keyed by field name (a pushed row may use the Chinese label instead); unknown keys are kept as given."""
    keys = {header_key(f.name): f.name for f in spec.fields} | {header_key(f.label): f.name for f in spec.fields}
    result = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DomainError(f"第{index}行应为一个对象（字段名: 值）", "invalid_rows")
        out: dict[str, object] = {}
        for key, value in row.items():
            name = keys.get(header_key(str(key)), str(key))
            if name in out:
                raise DomainError(f"第{index}行的“{name}”字段出现了两次，请只保留一个", "duplicate_column")
            out[name] = value
        result.append(out)
    return result


def check_request(source: str, region_code: str, period, user) -> tuple[Source, Region]:
    """The request's source and region, if the user may import it: checked before anything is read or queued."""
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
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _parquet_rows(path: pathlib.Path) -> int:
    """The row count a Parquet file's footer declares, read before the file is."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError):
        raise DomainError("无法读取Parquet文件：文件已损坏或格式不正确", "broken_file") from None


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


# --- persons ------------------------------------------------------------------------------------------------------


def _load_persons(ws: Workspace) -> None:
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
    _append(
        con,
        "persons",
        id=pa.array([r[0] for r in rows], pa.int64()),
        id_number=pa.array([r[1] for r in rows], pa.string()),
    )


def _append(con, table: str, **columns: pa.Array) -> None:
    """Rows read from the database, appended to a workspace table (columns in the table's order)."""
    batch = pa.table(columns)
    if batch.num_rows == 0:
        return
    con.register("rows_in", batch)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM rows_in")
    finally:
        con.unregister("rows_in")


# --- the import ---------------------------------------------------------------------------------------------------


def _finish(
    ws: Workspace,
    spec: Source,
    region: Region,
    period: datetime.date,
    user,
    file_format: str,
    original_name: str,
    file_sha: str,
    bounds: limits.Limits,
    landed: Callable[[ImportOutcome], None] | None,
    confirm_smaller: bool = False,
) -> ImportOutcome:
    mapping = map_columns(spec, ws.columns)
    today = timezone.localdate()
    ws.progress(35, "校验数据行")
    validate(ws, spec, mapping, today)
    con = ws.con
    total, rejected = con.execute("SELECT count(*), count(reason) FROM checked").fetchall()[0]
    if total == 0:
        raise DomainError("文件中没有数据行（第一行应为列名，其后为数据）", "empty_file")
    valid = total - rejected

    rejects_path = _write_rejects(ws, spec, file_sha, mapping["id_number"]) if rejected else ""
    try:
        limits.check_rejected_share(total, rejected, bounds, rejects_url=rejects_url(rejects_path))
    except limits.TooManyRejected as exc:
        exc.rejects_path = rejects_path
        raise
    if valid and not confirm_smaller:
        in_force, what = _rows_in_force(ws, spec, region, period)
        limits.check_replacement(valid, in_force, bounds, what=what, rows_total=total, rows_rejected=rejected)
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

    ws.progress(55, "匹配登记人员")
    _load_persons(ws)
    others = [f for f in spec.fields if f.name != "id_number"]
    con.execute(
        "CREATE TABLE good AS SELECT c.*, p.id AS person_key FROM checked c"
        " LEFT JOIN persons p ON p.id_number = c.n WHERE c.reason IS NULL"
    )
    unmatched = con.execute("SELECT count(*) FROM good WHERE person_key IS NULL").fetchall()[0][0]
    detail["rows_unmatched"] = unmatched
    columns = ", ".join(f"CAST(v{i} AS {f.sql_type}) AS {qi(f.name)}" for i, f in enumerate(others, start=1))

    folder = data_dir() / "snapshots" / spec.code
    folder.mkdir(parents=True, exist_ok=True)
    final: pathlib.Path | None = None
    temp: pathlib.Path | None = None
    ws.progress(75, "写入数据快照")
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
            temp = ws.temp_file(".parquet.tmp")  # in the import's scratch folder: a killed import's is swept
            con.execute(
                f"COPY (SELECT CAST({int(snapshot.pk)} AS BIGINT) AS snapshot_id, CAST(row_no AS INTEGER) AS row_no,"
                f" CAST(person_key AS BIGINT) AS person_key, n AS id_number{', ' + columns if columns else ''}"
                f" FROM good ORDER BY person_key NULLS LAST, row_no)"
                f" TO {lit(str(temp))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
            )
            snapshot.content_sha256 = _file_sha256(temp)
            snapshot.path = final.relative_to(data_dir()).as_posix()
            os.replace(temp, final)
            snapshot.save(update_fields=["content_sha256", "path"])
            # The window reads one household's rows of the checking sources from the row store; fill it once the
            # snapshot is committed, and drop the deliveries this one supersedes. (Signal feeds are read by the sweep
            # from their Parquet files only.)
            if spec.code in sources.SOURCES:
                transaction.on_commit(
                    partial(
                        rowstore.load_quietly,
                        rowstore.store_path(data_dir()),
                        spec.code,
                        final,
                        [snapshot_path(s) for s in _superseded(snapshot)],
                    )
                )
            label = f"导入{spec.name}数据（{region.name}，{period:%Y-%m-%d}，第{snapshot.version}版）"
            detail |= {"version": snapshot.version, "path": snapshot.path}
            audit.record(audit.Action.CREATE, user=user, obj=snapshot, label=label, detail=detail)
            outcome = ImportOutcome(snapshot, False, total, valid, rejected, unmatched, rejects_path)
            if landed is not None:
                landed(outcome)
    except IntegrityError:
        _discard(temp, final)
        again = _existing(spec, region, file_sha)
        if again is not None:
            return again
        raise Conflict("同一数据来源正在被另一次导入写入，请稍后重试", "import_conflict") from None
    except BaseException:
        _discard(temp, final)
        raise
    return outcome


def _rows_in_force(ws: Workspace, spec: Source, region: Region, period: datetime.date) -> tuple[int, str]:
    """The rows of the delivery in force for `region` on `period` (its own, or a wider region's: then the rows of the
    people registered in `region`), with words for it; (0, "") when there is none."""
    current = (
        Snapshot.objects.filter(
            source=spec.code, region_id__in=region_codes.lineage(region.code), period__lte=period, rows_valid__gt=0
        )
        .exclude(path="")
        .select_related("region")
        .order_by("-period", "-version", "-id")
        .first()
    )
    if current is None:
        return 0, ""
    what = f"{spec.name}数据（{current.region.name}，{current.period:%Y-%m-%d}，第{current.version}版）"
    if current.region_id == region.code:
        return current.rows_valid, what
    path = snapshot_path(current)
    if not path.is_file():  # kept where only the cluster reads it: nothing to compare with here
        return 0, ""
    low, high = region.subtree_range()
    con = ws.con
    con.execute("CREATE OR REPLACE TABLE region_people (id BIGINT)")
    people = Person.objects.filter(region_id__gte=low, region_id__lte=high).values_list("id", flat=True)
    ids = people.iterator(chunk_size=PERSON_BATCH_ROWS)  # streamed: a city holds millions of people
    while chunk := list(itertools.islice(ids, PERSON_BATCH_ROWS)):
        _append(con, "region_people", id=pa.array(chunk, pa.int64()))
    (count,) = con.execute(
        f"SELECT count(*) FROM read_parquet({lit(str(path))}) WHERE person_key IN (SELECT id FROM region_people)"
    ).fetchone()
    return count, f"{what}在{region.name}的"


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


# An identity number in any other column of a rejects report (a guardian's, a spouse's) is masked as well.
_ID_SHAPE = "[0-9]{17}[0-9X]|[0-9]{15}"


def _write_rejects(ws: Workspace, spec: Source, file_sha: str, id_column: str) -> str:
    """The rejected rows with their original values and reason, as CSV with a BOM (Excel then reads it as UTF-8).
    Identity numbers are masked (`core.masking`): the identity column whatever it holds, and any value elsewhere
    shaped like one; the row number tells the department which line of its file to correct."""
    relative = f"rejects/{spec.code}-{file_sha[:12]}.csv"
    target = data_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    body = ws.temp_file(".csv")
    text = duckdb.sqltype("VARCHAR")
    ws.con.create_function("mask_id", masking.mask_id_number, [text], text)
    masked = []
    for i, c in enumerate(ws.columns):
        value = f"s.{qi(c)}"
        if c == id_column:
            masked.append(f"mask_id({value}) AS m{i}")
        else:
            shaped = f"regexp_full_match({_id_fold_sql(value)}, {lit(_ID_SHAPE)})"
            masked.append(f"CASE WHEN {shaped} THEN mask_id({value}) ELSE {value} END AS m{i}")
    originals = ", ".join(
        # A cell starting with = + - @ would run as a formula when the report is opened in Excel; plain numbers stay.
        f"CASE WHEN regexp_matches(m{i}, '^[=+\\-@\\t\\r]') AND NOT regexp_full_match(m{i}, '-?[0-9.,]+')"
        f" THEN '''' || m{i} ELSE m{i} END AS {qi(c)}"
        for i, c in enumerate(ws.columns)
    )
    ws.con.execute(
        f'COPY (SELECT row_no AS "行号", {originals}, reason AS "拒收原因" FROM ('
        f" SELECT c.row_no, c.reason, {', '.join(masked)}"
        f" FROM checked c JOIN src s ON s.__row_no = c.row_no WHERE c.reason IS NOT NULL) ORDER BY row_no)"
        f" TO {lit(str(body))} (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')"
    )
    temp = ws.temp_file(".csv.tmp")
    with temp.open("wb") as out, body.open("rb") as src:
        out.write(b"\xef\xbb\xbf")
        shutil.copyfileobj(src, out, HASH_CHUNK)
    os.replace(temp, target)
    return relative

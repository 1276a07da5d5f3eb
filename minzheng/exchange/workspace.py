"""An import's scratch DuckDB connection: the delivered file (CSV, xlsx, Parquet) or pushed rows as a table `raw` of
text columns named as in the file, in file order.

Each import has its own scratch folder `tmp/import-<hex>/` (DuckDB's spill files, a transcoded CSV, the snapshot's
`*.parquet.tmp` before its rename, the rejects report being written), locked by `tmp/import-<hex>.lock` (flock) for
as long as the import lives. Every import starts by sweeping the folders whose lock nobody holds: a killed import's
(SIGKILL, OOM, power cut) — the kernel drops a dead process's locks —, never a running one's. The sweep and the
creation of a folder exclude each other through `tmp/.sweep.lock`, so a folder is never swept before it is locked.
"""

import codecs
import contextlib
import datetime
import fcntl
import json
import math
import os
import pathlib
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import duckdb
import pyarrow as pa
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from minzheng.core.errors import DomainError

from . import limits
from .files import data_dir, scratch_dir

XLSX_BATCH_ROWS = 50_000
# A worksheet's <row> elements (any namespace prefix; not <rowBreaks>): counted in the inflated XML before openpyxl
# parses a row, so a sheet without a dimension is refused in the time it takes to inflate it.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref="([^"]{1,40})"')
SHEET_HEAD_BYTES = 64 * 1024  # the <dimension> comes before <sheetData>, within the first few hundred bytes
MAX_XLSX_COLUMNS = 256  # a source has a dozen fields; a cell at column XFD must not make every row 16,384 wide
HASH_CHUNK = 1 << 20


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cell_text(value) -> str | None:
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


SWEEP_LOCK = ".sweep.lock"
Progress = Callable[[int, str], None]


@contextlib.contextmanager
def _sweep_lock(root: pathlib.Path, mode: int) -> Iterator[None]:
    fd = os.open(root / SWEEP_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def sweep_abandoned() -> list[str]:
    """Remove what killed imports left behind: scratch folders whose lock no live import holds, and the temporary
    snapshot and report files an earlier version wrote beside their targets. Returns the names removed."""
    root = scratch_dir()
    root.mkdir(parents=True, exist_ok=True)
    removed: list[str] = []
    with _sweep_lock(root, fcntl.LOCK_EX):
        for lock in root.glob("import-*.lock"):
            try:
                fd = os.open(lock, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live import
                continue
            try:
                folder = root / lock.name.removesuffix(".lock")
                if folder.exists():
                    removed.extend(str(p.relative_to(root)) for p in sorted(folder.rglob("*")) if p.is_file())
                    shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
        # The layout before scratch folders: files loose in tmp/, temporaries beside snapshots and reports. Only an
        # earlier version wrote them, so whatever is left is a dead import's.
        for path in root.iterdir():
            if not path.name.startswith(("import-", SWEEP_LOCK)):
                removed.append(path.name)
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        for pattern in ("snapshots/*/.*.parquet.tmp", "rejects/.*.tmp"):
            for path in data_dir().glob(pattern):
                removed.append(path.name)
                path.unlink(missing_ok=True)
    return removed


class Workspace:
    """An in-memory DuckDB connection holding one import: `raw` (the file as text) and what is derived from it, with
    its own locked scratch folder (removed on exit, or by the next import's sweep if the process is killed)."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress or (lambda percent, message: None)

    def __enter__(self) -> "Workspace":
        sweep_abandoned()
        root = scratch_dir()
        name = f"import-{uuid.uuid4().hex}"
        with _sweep_lock(root, fcntl.LOCK_SH):
            self._lock = os.open(root / f"{name}.lock", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            self.scratch = root / name
            self.scratch.mkdir()
        try:
            self.con = duckdb.connect(config={"temp_directory": str(self.scratch / "duckdb")})
        except BaseException:
            self._release()
            raise
        self.columns: list[str] = []
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.con.close()
        finally:
            self._release()

    def _release(self) -> None:
        try:
            shutil.rmtree(self.scratch, ignore_errors=True)
            (self.scratch.parent / f"{self.scratch.name}.lock").unlink(missing_ok=True)
        finally:
            os.close(self._lock)

    def temp_file(self, suffix: str) -> pathlib.Path:
        """A path in this import's scratch folder (same file system as the data folder: it can be renamed there)."""
        return self.scratch / f"{uuid.uuid4().hex}{suffix}"

    # Loading: each leaves a table `raw` of VARCHAR columns named as in the file, in file order (rowid = order).

    def load_csv(self, path: pathlib.Path) -> None:
        if not _is_utf8(path):
            path = self._transcode(path)
        try:
            self.con.execute(
                f"CREATE TABLE raw AS SELECT * FROM read_csv({lit(str(path))}, all_varchar = true, header = true,"
                " null_padding = true, encoding = 'utf-8')"
            )
        except duckdb.Error as exc:
            raise DomainError(f"无法读取CSV文件：{duckdb_reason(exc)}", "broken_file") from None
        self._columns()

    def _transcode(self, path: pathlib.Path) -> pathlib.Path:
        """Staff files are often GB18030 (Excel's 'CSV' on Chinese Windows); DuckDB reads UTF-8, so convert once."""
        target = self.temp_file(".csv")
        try:
            with path.open("r", encoding="gb18030", newline="") as src, target.open("w", encoding="utf-8") as dst:
                shutil.copyfileobj(src, dst, HASH_CHUNK)
        except UnicodeDecodeError:
            raise DomainError("无法识别CSV文件的字符编码：请另存为UTF-8或GBK/GB18030编码的CSV", "broken_file") from None
        return target

    def load_xlsx(self, path: pathlib.Path, max_rows: int) -> None:
        """The first sheet, streamed (openpyxl read-only). Opened by content, not by its name's extension (an upload
        may have none); `limits.check_xlsx` has vetted the members first. The sheet's declared dimension refuses an
        oversized sheet at once; the rows are counted as they stream all the same (a declaration may lie)."""
        with path.open("rb") as handle:
            try:
                book = _open_book(handle)
            except Exception:
                raise DomainError(limits.BROKEN_XLSX, "broken_file") from None
            try:
                self._read_sheet(book, max_rows)
            except DomainError:
                raise
            except Exception:
                raise DomainError("无法读取Excel文件：文件已损坏或内容无法解析", "broken_file") from None
            finally:
                book.close()
        self._columns()

    def _read_sheet(self, book, max_rows: int) -> None:
        if not book.worksheets:
            raise DomainError("Excel文件中没有工作表", "empty_file")
        sheet = book.worksheets[0]
        declared = _declared_rows(sheet)
        if declared:
            limits.check_rows(declared - 1, max_rows, xlsx=True)
        _count_row_tags(sheet, max_rows)
        # What is there is read, not what the dimension says (openpyxl would drop rows past a short one, and pad to a
        # long one); every row no wider than the header, the header no wider than MAX_XLSX_COLUMNS.
        header = next(sheet.iter_rows(max_row=1, max_col=MAX_XLSX_COLUMNS, values_only=True), None)
        names = _unique_names([cell_text(v) for v in header or ()])
        while names and names[-1].startswith("列") and header[len(names) - 1] is None:
            names.pop()  # trailing empty header cells
        if not names:
            raise DomainError("Excel文件第一个工作表是空的，第一行应为列名", "empty_file")
        width = len(names)
        self.con.execute(f"CREATE TABLE raw ({', '.join(f'{qi(n)} VARCHAR' for n in names)})")
        batch: list[list[str | None]] = [[] for _ in names]
        for count, row in enumerate(sheet.iter_rows(min_row=2, max_col=width, values_only=True), start=1):
            if count > max_rows:
                limits.check_rows(count, max_rows, xlsx=True)
            cells = list(row[:width]) + [None] * (width - len(row))
            for column, value in zip(batch, cells, strict=True):
                column.append(cell_text(value))
            if len(batch[0]) >= XLSX_BATCH_ROWS:
                self._append(names, batch)
                batch = [[] for _ in names]
                self.progress(10, f"已读取{count}行")
        self._append(names, batch)

    def load_parquet(self, path: pathlib.Path) -> None:
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
            casts = []
            for name, kind, *_ in described:
                column = qi(name)
                if kind.startswith("TIMESTAMP"):
                    expr = (
                        f"CASE WHEN {column} = date_trunc('day', {column}) THEN CAST(CAST({column} AS DATE) AS VARCHAR)"
                        f" ELSE CAST({column} AS VARCHAR) END"
                    )
                else:
                    expr = f"CAST({column} AS VARCHAR)"
                casts.append(f"{expr} AS {column}")
            self.con.execute(f"CREATE TABLE raw AS SELECT {', '.join(casts)} FROM read_parquet({lit(str(path))})")
        except duckdb.Error as exc:
            raise DomainError(f"无法读取Parquet文件：{duckdb_reason(exc)}", "broken_file") from None
        self._columns()

    def load_rows(self, rows: list[dict]) -> None:
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(row))
        ordered = list(names)
        if not ordered:
            raise DomainError("数据行中没有任何字段", "empty_file")
        self.con.execute(f"CREATE TABLE raw ({', '.join(f'{qi(n)} VARCHAR' for n in ordered)})")
        self._append(ordered, [[cell_text(row.get(name)) for row in rows] for name in ordered])
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


class _LazySheet(ReadOnlyWorksheet):
    """A read-only worksheet that does not look for its size when opened: openpyxl parses a sheet without a
    <dimension> to its very end for it (3 minutes for 2.48 million rows, before the first row is read)."""

    def _get_size(self) -> None:
        return None


class _WorksheetsOnly(ExcelReader):
    """openpyxl's reader listing the worksheets as `_LazySheet`s and skipping chartsheets (read whole otherwise)."""

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in (rel.Type or ""):
                ws = _LazySheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)


def _open_book(handle):
    """`openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)`, through `_WorksheetsOnly`."""
    reader = _WorksheetsOnly(handle, read_only=True, keep_vba=False, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


def _declared_rows(sheet) -> int | None:
    """The last row the sheet's <dimension> declares, read from its first bytes (None if it declares none)."""
    with sheet._get_source() as source:
        head = source.read(SHEET_HEAD_BYTES)
    found = _DIMENSION.search(head)
    try:
        return range_boundaries(found[1].decode("ascii"))[3] if found else None
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _count_row_tags(sheet, max_rows: int) -> None:
    """Refuse a sheet with more <row> elements than the header and `max_rows`, reading the inflated XML by chunks
    (a tag is never cut: what follows the last "<" near a chunk's end waits for the next chunk)."""
    count, tail = 0, b""
    with sheet._get_source() as source:
        while chunk := source.read(HASH_CHUNK):
            data = tail + chunk
            cut = data.rfind(b"<", max(0, len(data) - 64))
            body, tail = (data, b"") if cut < 0 else (data[:cut], data[cut:])
            count += len(_ROW_TAG.findall(body))
            if count - 1 > max_rows:
                limits.check_rows(count - 1, max_rows, xlsx=True)
    count += len(_ROW_TAG.findall(tail))
    limits.check_rows(count - 1, max_rows, xlsx=True)


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
            while chunk := handle.read(HASH_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def duckdb_reason(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    return "文件格式不正确或已损坏" + (f"（{text[:160]}）" if text else "")

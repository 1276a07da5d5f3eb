"""An import's scratch DuckDB connection: the delivered file (CSV, xlsx, Parquet) or pushed rows as a table `raw` of
text columns named as in the file, in file order."""

import codecs
import datetime
import json
import math
import pathlib
import shutil
import uuid
from decimal import Decimal

import duckdb
import pyarrow as pa

from minzheng.core.errors import DomainError

from .files import data_dir

XLSX_BATCH_ROWS = 50_000
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


class Workspace:
    """An in-memory DuckDB connection holding one import: `raw` (the file as text) and what is derived from it."""

    def __enter__(self) -> "Workspace":
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
                names = _unique_names([cell_text(v) for v in header or ()])
                while names and names[-1].startswith("列") and header[len(names) - 1] is None:
                    names.pop()  # trailing empty header cells
                if not names:
                    raise DomainError("Excel文件第一个工作表是空的，第一行应为列名", "empty_file")
                width = len(names)
                self.con.execute(f"CREATE TABLE raw ({', '.join(f'{qi(n)} VARCHAR' for n in names)})")
                batch: list[list[str | None]] = [[] for _ in names]
                for row in rows:
                    cells = list(row[:width]) + [None] * (width - len(row))
                    for column, value in zip(batch, cells, strict=True):
                        column.append(cell_text(value))
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

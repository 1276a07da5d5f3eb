"""Bank files of the socialised payment: the layouts (bank_layouts.toml), writing an approved roll in a layout, and
reading a bank's return file (回盘) in the same layout. Reading validates everything and raises a Chinese error
naming the line; the caller applies nothing unless the whole file is good."""

import csv
import io
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from minzheng.core.errors import DomainError

from .kinds import label as benefit_label

MAX_RETURN_BYTES = 512 * 1024 * 1024
CONTROL_LABEL = "合计"
PAID_WORDS = {"成功": True, "S": True, "0000": True, "失败": False, "F": False}


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    width: int = 0
    align: str = "left"


@dataclass(frozen=True)
class Layout:
    code: str
    name: str
    format: str  # csv / xlsx / fixed
    encoding: str  # gbk / utf-8
    amount: str  # yuan / fen
    control: str  # header / trailer
    columns: tuple[Column, ...]
    return_columns: tuple[Column, ...]
    full_id: bool = False

    @property
    def extension(self) -> str:
        return {"csv": "csv", "xlsx": "xlsx", "fixed": "txt"}[self.format]

    @property
    def content_type(self) -> str:
        if self.format == "xlsx":
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return (
            f"text/plain; charset={self.encoding}" if self.format == "fixed" else f"text/csv; charset={self.encoding}"
        )

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]


@cache
def _config() -> dict:
    return tomllib.loads(resources.files("minzheng.benefits").joinpath("bank_layouts.toml").read_text("utf-8"))


@cache
def layouts() -> dict[str, Layout]:
    out = {}
    for code, body in _config()["layouts"].items():
        ret = body.get("return_columns") or [
            {"field": "status", "label": "状态"},
            {"field": "reason", "label": "失败原因"},
        ]
        out[code] = Layout(
            code=code,
            name=body["name"],
            format=body["format"],
            encoding=body["encoding"],
            amount=body.get("amount", "yuan"),
            control=body.get("control", "trailer"),
            columns=tuple(Column(**c) for c in body["columns"]),
            return_columns=tuple(Column(**c) for c in ret),
            full_id=bool(body.get("full_id", False)),
        )
    return out


def layout(code: str) -> Layout:
    try:
        return layouts()[code]
    except KeyError:
        raise DomainError(f"未知的银行文件格式：{code}（可用：{'、'.join(layouts())}）", "unknown_layout") from None


@cache
def luhn_lengths() -> dict[str, tuple[int, ...]]:
    return {bank: tuple(spec.get("luhn_lengths", ())) for bank, spec in _config().get("banks", {}).items()}


def amount_text(fen: int, unit: str) -> str:
    return str(fen) if unit == "fen" else f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


# ---------------------------------------------------------------- writing


def _fit(text: str, width: int, encoding: str, align: str) -> bytes:
    raw = text.encode(encoding, errors="replace")
    if len(raw) > width:  # cut on a character boundary, never inside a double-byte character
        raw = text.encode(encoding, errors="replace")[:width].decode(encoding, errors="ignore").encode(encoding)
    pad = b" " * (width - len(raw))
    return pad + raw if align == "right" else raw + pad


def write(lay: Layout, rows, count: int, total_fen: int) -> bytes:
    """`rows` yields dicts with the layout's fields (amount in fen); the control line carries count and total."""
    return write_values(lay, (_values(lay, row) for row in rows), count, total_fen)


def write_values(lay: Layout, values, count: int, total_fen: int) -> bytes:
    """`values` yields each line's cells as strings in the layout's column order (amount already as text)."""
    control = {"seq": CONTROL_LABEL, "name": str(count), "amount": amount_text(total_fen, lay.amount)}
    if lay.format == "xlsx":
        return _write_xlsx(lay, values, control)
    if lay.format == "fixed":
        return _write_fixed(lay, values, control)
    return _write_csv(lay, values, control)


def _values(lay: Layout, row: dict) -> list[str]:
    out = []
    for c in lay.columns:
        value = row.get(c.field, "")
        if c.field == "amount":
            value = amount_text(value, lay.amount)
        out.append("" if value is None else str(value))
    return out


def _control_values(lay: Layout, control: dict) -> list[str]:
    # The control line: 合计 in the first column, the count under the name column (or the second), the total under
    # the amount column.
    values = [""] * len(lay.columns)
    values[0] = CONTROL_LABEL
    count_at = next((i for i, c in enumerate(lay.columns) if c.field == "name"), 1)
    values[count_at] = control["name"]
    values[lay.fields.index("amount")] = control["amount"]
    return values


def _write_csv(lay: Layout, values, control: dict) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    if lay.control == "header":
        writer.writerow(_control_values(lay, control))
    writer.writerow([c.label for c in lay.columns])
    writer.writerows(values)
    if lay.control == "trailer":
        writer.writerow(_control_values(lay, control))
    return buffer.getvalue().encode(lay.encoding, errors="replace")


def _fit_text(text: str, width: int, encoding: str, align: str) -> str:
    """`_fit` as text: padded so that it encodes to exactly `width` bytes (ASCII cells need no encoding to measure)."""
    size = len(text) if text.isascii() else len(text.encode(encoding, errors="replace"))
    if size > width:
        return _fit(text, width, encoding, align).decode(encoding)
    pad = " " * (width - size)
    return pad + text if align == "right" else text + pad


# Fields whose cells are ASCII by construction (digits, an X, a point): padded without measuring their bytes.
_ASCII_FIELDS = frozenset({"seq", "id_number", "account", "amount", "month", "region"})


def _ascii_fit(width: int, align: str):
    # Cut as `_fit` cuts (the first `width` characters), then padded on the column's side.
    if align == "right":
        return lambda v: v[:width].rjust(width) if v.isascii() else None
    return lambda v: v[:width].ljust(width) if v.isascii() else None


def _write_fixed(lay: Layout, values, control: dict) -> bytes:
    """Each line built as text with every cell padded to its width in bytes, the whole file encoded once. Cells of
    ASCII fields are padded as text; the others are measured in the file's encoding (a CJK character is 2 bytes)."""
    enc = lay.encoding
    fits = []
    for c in lay.columns:
        if c.field in _ASCII_FIELDS:
            quick = _ascii_fit(c.width, c.align)
            fits.append(lambda v, quick=quick, c=c: quick(v) or _fit_text(v, c.width, enc, c.align))
        else:
            fits.append(lambda v, c=c: _fit_text(v, c.width, enc, c.align))

    def line(cells) -> str:
        return "".join([fit(v) for fit, v in zip(fits, cells, strict=True)]) + "\r\n"

    parts = []
    if lay.control == "header":
        parts.append(line(_control_values(lay, control)))
    parts.extend(map(line, values))
    if lay.control == "trailer":
        parts.append(line(_control_values(lay, control)))
    return "".join(parts).encode(enc, errors="replace")


def _write_xlsx(lay: Layout, rows, control: dict) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = book.add_worksheet("发放明细")
    r = 0
    if lay.control == "header":
        sheet.write_row(r, 0, _control_values(lay, control))
        r += 1
    sheet.write_row(r, 0, [c.label for c in lay.columns])
    r += 1
    for cells in rows:
        sheet.write_row(r, 0, cells)  # text cells: accounts and ids keep every digit
        r += 1
    if lay.control == "trailer":
        sheet.write_row(r, 0, _control_values(lay, control))
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- reading a return


@dataclass
class ReturnFile:
    seq: np.ndarray  # int64 line ids
    amount_fen: np.ndarray  # int64
    account: list[str]
    paid: np.ndarray  # bool
    reason: list[str]
    control_count: int
    control_fen: int


def _bad(line_no: int, message: str) -> DomainError:
    return DomainError(f"回盘文件第{line_no}行：{message}，未导入任何结果", "invalid_return", line=line_no)


def _parse_amount(text: str, unit: str, line_no: int) -> int:
    text = text.strip().replace(",", "")
    try:
        if unit == "fen":
            if not text.isascii() or not text.lstrip("-").isdigit():
                raise ValueError
            fen = int(text)
        else:
            whole, _, frac = text.partition(".")
            if (
                not text.isascii()
                or not whole.lstrip("-").isdigit()
                or (frac and (not frac.isdigit() or len(frac) > 2))
            ):
                raise ValueError
            fen = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0) * (-1 if text.startswith("-") else 1)
    except ValueError:
        raise _bad(line_no, f"金额“{text}”格式错误") from None
    if fen < 0:
        raise _bad(line_no, "金额不能为负数")
    return fen


def _records(lay: Layout, data: bytes) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty line, in the layout's columns followed by status and reason."""
    if lay.format == "xlsx":
        return _xlsx_records(data)
    try:
        text = data.decode(lay.encoding)
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        other = "UTF-8" if lay.encoding.lower() != "utf-8" else "GBK"
        raise _bad(line_no, f"不是 {lay.encoding.upper()} 编码（可能是 {other} 编码的文件）") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if lay.format == "csv":
        return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1) if any(row)]
    cols = (*lay.columns, *lay.return_columns)
    out = []
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        encoded = raw.encode(lay.encoding)
        cells, pos = [], 0
        for c in cols:
            cells.append(encoded[pos : pos + c.width].decode(lay.encoding, errors="replace").strip())
            pos += c.width
        out.append((i, cells))
    return out


def _xlsx_records(data: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise DomainError("回盘文件不是有效的 Excel（xlsx）文件，未导入任何结果", "invalid_return") from None
    sheet = book.worksheets[0]
    out = []
    for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = ["" if v is None else str(v).strip() for v in row]
        if any(cells):
            out.append((i, cells))
    book.close()
    return out


def read_return(lay: Layout, data: bytes) -> ReturnFile:
    """The return file read and validated. A well-formed CSV or fixed-width file in the canonical form the layout
    writes is read column-wise (`_read_columns`); anything else — and every file with a problem — goes through the
    line-by-line reader, which names the first bad line."""
    if not data:
        raise DomainError("回盘文件为空，未导入任何结果", "invalid_return")
    if len(data) > MAX_RETURN_BYTES:
        raise DomainError("回盘文件过大，未导入任何结果", "invalid_return")
    fast = _read_columns(lay, data)
    return fast if fast is not None else _read_lines(lay, data)


class _FixedColumns:
    """The columns of a fixed-width file, each sliced from the raw lines and decoded only when read."""

    def __init__(self, lay: Layout, lines: list[bytes]):
        self.encoding = lay.encoding
        self.lines = lines
        self.spans, pos = [], 0
        for c in (*lay.columns, *lay.return_columns):
            self.spans.append((pos, pos + c.width))
            pos += c.width
        self.cache: dict[int, list[str]] = {}

    def __getitem__(self, i: int) -> list[str]:
        if i not in self.cache:
            start, end = self.spans[i]
            enc = self.encoding
            self.cache[i] = [line[start:end].decode(enc).strip() for line in self.lines]
        return self.cache[i]


# Characters `str.splitlines` breaks lines at besides CR and LF: a file holding one goes to the line reader.
_OTHER_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")


def _split_fixed(lay: Layout, data: bytes) -> _FixedColumns | None:
    if any(b in data for b in _OTHER_BREAKS):
        return None
    width = sum(c.width for c in (*lay.columns, *lay.return_columns))
    lines = [line for line in data.splitlines() if line.strip()]
    if any(len(line) != width for line in lines):
        return None  # a line of another width (or a trailing reason cut short): the line reader decides
    return _FixedColumns(lay, lines)


def _csv_columns(text: str, width: int) -> list[list[str]] | None:
    """The CSV's columns (every cell as text) read by Arrow's CSV reader; None when a row has another number of
    cells, or the file is empty."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # a row with more or fewer cells than the layout has
    if table.num_rows == 0:
        return None
    return [table.column(n).to_pylist() for n in names]


def _read_columns(lay: Layout, data: bytes) -> ReturnFile | None:
    """Column-wise reading of a return without a single problem; None sends the file to the line reader."""
    if lay.format not in ("csv", "fixed"):
        return None
    try:
        text = data.decode(lay.encoding)
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    width = len(lay.columns) + 2
    if lay.format == "csv":
        columns = _csv_columns(text, width)
        if columns is None:
            return None
    else:
        if text.startswith("\ufeff") or data.startswith(b"\xef\xbb\xbf"):
            return None
        columns = _split_fixed(lay, data)
        if columns is None:
            return None
    try:
        return _from_columns(lay, columns)
    except UnicodeDecodeError:  # a cell cut inside a double-byte character
        return None


def _from_columns(lay: Layout, columns) -> ReturnFile | None:
    fields = [*lay.fields, "status", "reason"]
    at = {f: i for i, f in enumerate(fields)}
    first = list(map(str.strip, columns[0]))
    control_rows = [i for i, v in enumerate(first) if v == CONTROL_LABEL]
    header_rows = [i for i, v in enumerate(first) if v == lay.columns[0].label]
    if len(control_rows) != 1 or len(header_rows) > 1:
        return None
    skip = sorted(set(control_rows) | set(header_rows), reverse=True)
    n_lines = len(first) - len(skip)

    def column(field: str) -> list[str]:
        col = list(map(str.strip, columns[at[field]]))
        for i in skip:  # at most the header and the control line
            del col[i]
        return col

    def cell(index: int, row: int) -> str:
        if isinstance(columns, _FixedColumns):
            start, end = columns.spans[index]
            return columns.lines[row][start:end].decode(columns.encoding).strip()
        return columns[index][row].strip()

    seq = column("seq")
    if not all(s.isascii() and s.isdigit() and len(s) <= 18 for s in seq):
        return None
    status = list(map(PAID_WORDS.get, column("status")))
    if None in status:
        return None
    reasons = column("reason")
    paid = np.asarray(status, dtype=bool)
    if any(not r for r, ok in zip(reasons, status, strict=True) if not ok):
        return None
    amounts = _amounts(column("amount"), lay.amount)
    control = cell(at["amount"], control_rows[0])
    control_fen = _amounts([control], lay.amount)
    count_at = next((i for i, c in enumerate(lay.columns) if c.field == "name"), 1)
    count_text = cell(count_at, control_rows[0])
    if amounts is None or control_fen is None or not (count_text.isascii() and count_text.isdigit()):
        return None
    return ReturnFile(
        seq=np.asarray(seq, dtype=np.int64) if seq else np.zeros(0, dtype=np.int64),
        amount_fen=amounts,
        account=column("account") if "account" in at else [""] * n_lines,
        paid=paid,
        reason=[r[:200] for r in reasons],
        control_count=int(count_text),
        control_fen=int(control_fen[0]),
    )


def _amounts(texts: list[str], unit: str) -> np.ndarray | None:
    """Amounts in fen from the canonical texts the writer produces (fen: digits; yuan: digits, a point, two
    digits); None when any differs (the line reader then parses or rejects it)."""
    if unit == "fen":
        digits = texts
    else:
        if not all(len(t) > 3 and t[-3] == "." for t in texts):
            return None
        digits = [t[:-3] + t[-2:] for t in texts]
    if not all(t.isascii() and t.isdigit() and len(t) <= 15 for t in digits):
        return None
    return np.asarray(digits, dtype=np.int64) if digits else np.zeros(0, dtype=np.int64)


def _read_lines(lay: Layout, data: bytes) -> ReturnFile:
    records = _records(lay, data)
    fields = [*lay.fields, "status", "reason"]
    width = len(fields)
    at = {f: i for i, f in enumerate(fields)}
    control = None
    seq, amounts, accounts, paid, reasons = [], [], [], [], []
    for line_no, cells in records:
        first = cells[0].strip() if cells else ""
        if first == CONTROL_LABEL:
            if control is not None:
                raise _bad(line_no, "合计行重复")
            control = (line_no, cells)
            continue
        if first == lay.columns[0].label:
            continue  # the header row
        cells = (cells + [""] * width)[:width] if len(cells) < width else cells
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise _bad(line_no, f"列数过多（应为{width}列）")
        raw_seq = cells[at["seq"]].strip()
        if not raw_seq.isascii() or not raw_seq.isdigit() or len(raw_seq) > 18:
            raise _bad(line_no, f"流水号“{raw_seq[:30]}”格式错误")
        status = cells[at["status"]].strip()
        if status not in PAID_WORDS:
            raise _bad(line_no, f"状态“{status[:20]}”无法识别（应为“成功”或“失败”）")
        reason = cells[at["reason"]].strip()
        if not PAID_WORDS[status] and not reason:
            raise _bad(line_no, "发放失败的明细须注明失败原因")
        seq.append(int(raw_seq))
        amounts.append(_parse_amount(cells[at["amount"]], lay.amount, line_no))
        accounts.append(cells[at["account"]].strip() if "account" in at else "")
        paid.append(PAID_WORDS[status])
        reasons.append(reason[:200])
    if control is None:
        raise DomainError("回盘文件缺少合计行（笔数、金额），未导入任何结果", "invalid_return")
    line_no, cells = control
    cells = (cells + [""] * width)[:width]
    count_at = next((i for i, c in enumerate(lay.columns) if c.field == "name"), 1)
    count_text = cells[count_at].strip()
    if not count_text.isascii() or not count_text.isdigit():
        raise _bad(line_no, f"合计笔数“{count_text[:20]}”格式错误")
    return ReturnFile(
        seq=np.asarray(seq, dtype=np.int64),
        amount_fen=np.asarray(amounts, dtype=np.int64),
        account=accounts,
        paid=np.asarray(paid, dtype=bool),
        reason=reasons,
        control_count=int(count_text),
        control_fen=_parse_amount(cells[at["amount"]], lay.amount, line_no),
    )


def return_template(lay: Layout, rows: list[dict], failures: dict[int, str]) -> bytes:
    """A return file as the bank would send it (for tests, the demo and the benchmark): the exported rows with a
    status, and the given line ids failed with their reasons."""
    ret = Layout(
        lay.code,
        lay.name,
        lay.format,
        lay.encoding,
        lay.amount,
        lay.control,
        (*lay.columns, *lay.return_columns),
        (),
        lay.full_id,
    )
    out = []
    for row in rows:
        reason = failures.get(int(row["seq"]))
        out.append({**row, "status": "失败" if reason else "成功", "reason": reason or ""})
    return write(ret, out, len(rows), sum(r["amount"] for r in rows))


def benefit_text(code: str) -> str:
    return benefit_label(code)

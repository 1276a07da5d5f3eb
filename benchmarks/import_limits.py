"""Benchmark of the import limits (issue 18 §3): how fast and how cheaply the two weaponised workbooks are refused,
against openpyxl reading them as the importer did before (the baseline), measured in the same run.

    .venv/bin/python benchmarks/import_limits.py [--rows 2480000] [--shared-mb 400] [--baseline-rows 100000]

1. A wage workbook of `--rows` rows (≈ 1 MB: the rows are alike, so they compress to almost nothing). Refused from
   the sheet's declared dimension; and, with the dimension removed, by counting its <row> elements in the inflated
   XML (stopped past Excel's 1,048,575 data rows). Baseline: openpyxl streaming the first `--baseline-rows` rows, extrapolated.
2. A workbook whose shared-strings part inflates to `--shared-mb` MB (≈ 0.4 MB on disk). Refused from the zip's
   central directory; baseline: openpyxl loading the same part scaled down to a tenth, extrapolated (loading the full
   part took 4.4 GB of RAM).

Each measurement runs in a fresh process; its peak memory is the rise of ru_maxrss over the process once started
(Django, DuckDB and openpyxl imported). Only the refusal step is timed
(`limits.check_xlsx`, then `Workspace.load_xlsx`), i.e. what `importer.import_file` does after hashing the file; no
database is needed.
"""

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")

SHEET_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
TYPES = b"""<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>%s</Types>"""
SST_TYPE = b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
ROOT_RELS = b"""<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = b"""<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WB_RELS = b"""<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>%s</Relationships>"""
SST_REL = b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'


def _cell(ref: bytes, text: bytes) -> bytes:
    where = b' r="' + ref + b'"' if ref else b""
    return b"<c" + where + b' t="inlineStr"><is><t>' + text + b"</t></is></c>"


def write_workbook(path: Path, rows: int, *, dimension: bool, shared_mb: int = 0) -> None:
    """A wage workbook streamed straight into the zip (never held in memory): `rows` alike data rows."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", TYPES % (SST_TYPE if shared_mb else b""))
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS % (SST_REL if shared_mb else b""))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(SHEET_HEAD)
            if dimension:
                out.write(b'<dimension ref="A1:C%d"/>' % (rows + 1))
            out.write(b"<sheetData><row>")
            out.write(_cell(b"A1", "公民身份号码".encode()) + _cell(b"B1", "所属期".encode()))
            out.write(_cell(b"C1", "工资薪金收入".encode()) + b"</row>")
            row = b"<row>" + _cell(b"", b"130722198001010011") + _cell(b"", b"2026-05") + _cell(b"", b"1") + b"</row>"
            block = row * 1000
            for _ in range(rows // 1000):
                out.write(block)
            out.write(row * (rows % 1000))
            out.write(b"</sheetData></worksheet>")
        if shared_mb:
            head = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            chunk = b"".join(b"<si><t>%08d-\xe5\xbc\xa0\xe5\x8c\x97\xe5\x8e\xbf</t></si>" % i for i in range(512))
            with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
                out.write(head)
                for _ in range(shared_mb * 1024 * 1024 // len(chunk) + 1):
                    out.write(chunk)
                out.write(b"</sst>")


def _refuse(path: str, data_dir: str, queue) -> None:
    import django

    os.environ["CHECKS_DATA_DIR"] = data_dir
    django.setup()
    from minzheng.exchange import limits
    from minzheng.exchange.workspace import Workspace

    before = _peak()
    start = time.perf_counter()
    try:
        bounds = limits.current()
        limits.check_xlsx(Path(path), bounds)
        with Workspace() as ws:
            ws.load_xlsx(Path(path), bounds.xlsx_rows)
        outcome = "accepted"
    except limits.DeliveryRefused as exc:
        outcome = exc.message[:70]
    queue.put((time.perf_counter() - start, _peak() - before, outcome))


def _peak() -> float:
    """The process's peak resident memory so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline_rows(path: str, limit: int, queue) -> None:
    import openpyxl

    before = _peak()
    start = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = 0
    for _ in book.worksheets[0].iter_rows(values_only=True):
        count += 1
        if count >= limit:
            break
    queue.put((time.perf_counter() - start, _peak() - before, count))


def _baseline_shared(path: str, queue) -> None:
    import openpyxl

    before = _peak()
    start = time.perf_counter()
    openpyxl.load_workbook(path, read_only=True, data_only=True).close()
    queue.put((time.perf_counter() - start, _peak() - before, 0))


def in_process(target, *args):
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_480_000)
    parser.add_argument("--shared-mb", type=int, default=400)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-limits-") as scratch:
        folder = Path(scratch)
        data_dir = str(folder / "data")
        rows_file, undeclared, bomb, small_bomb = (
            folder / n for n in ("rows.xlsx", "nodim.xlsx", "sst.xlsx", "sst10.xlsx")
        )
        write_workbook(rows_file, args.rows, dimension=True)
        write_workbook(undeclared, args.rows, dimension=False)
        write_workbook(bomb, 1, dimension=True, shared_mb=args.shared_mb)
        write_workbook(small_bomb, 1, dimension=True, shared_mb=args.shared_mb // 10)
        mb = 1024 * 1024

        print(f"1. {args.rows:,}-row workbook, {rows_file.stat().st_size / mb:.2f} MB on disk")
        seconds, rss, outcome = in_process(_refuse, str(rows_file), data_dir)
        print(f"   refused from its dimension: {seconds * 1000:.0f} ms, peak +{rss:.0f} MiB — {outcome}")
        seconds_nodim, rss_nodim, outcome = in_process(_refuse, str(undeclared), data_dir)
        print(
            f"   without a dimension, its <row> elements counted: {seconds_nodim:.1f} s, peak +{rss_nodim:.0f} MiB — {outcome}"
        )
        base_s, base_rss, counted = in_process(_baseline_rows, str(rows_file), args.baseline_rows)
        full = base_s * args.rows / counted
        print(f"   baseline (openpyxl, {counted:,} rows in {base_s:.1f} s): ≈ {full:.0f} s for all rows")
        print(f"   ratio: {full / seconds:,.0f}× (dimension), {full / seconds_nodim:.1f}× (counted)")

        print(f"2. shared strings inflating to {args.shared_mb} MB, {bomb.stat().st_size / mb:.2f} MB on disk")
        seconds, rss, outcome = in_process(_refuse, str(bomb), data_dir)
        print(f"   refused from the central directory: {seconds * 1000:.0f} ms, peak +{rss:.0f} MiB — {outcome}")
        base_s, base_rss, _ = in_process(_baseline_shared, str(small_bomb))
        print(
            f"   baseline (openpyxl loading a tenth, {args.shared_mb // 10} MB): {base_s:.1f} s, peak +{base_rss:.0f} MiB"
            f" → ≈ {base_s * 10:.0f} s, {base_rss * 10 / 1024:.1f} GiB for the whole part"
        )
        memory = f"{base_rss * 10 / rss:,.0f}× memory" if rss >= 1 else "no measurable memory"
        print(f"   ratio: {base_s * 10 / seconds:,.0f}× time, {memory}")


if __name__ == "__main__":
    main()

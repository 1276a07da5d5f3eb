"""Benchmark of `checks.importer.import_file` (a wage CSV) against a naive per-row baseline.

    .venv/bin/python benchmarks/import_source.py [--rows 1000000] [--sample 5000] [--households 1000000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minzheng .venv/bin/python benchmarks/import_source.py

The registry: if the database DATABASE_URL names (default: ./db.sqlite3) already holds at least `--min-persons`
people, the file is generated from them and the import runs there inside a transaction that is rolled back at the
end (no snapshot or audit entry is left behind). Otherwise — a fresh clone, or a small demo registry — a scratch
database is created and migrated next to it (a temporary SQLite file, or `<name>_bench_<pid>` on PostgreSQL; the
role needs CREATEDB), `--households` synthetic households (≈ 2.6 persons each) are generated with
`generate_population`, and the database is dropped at the end. Snapshot files go to a temporary CHECKS_DATA_DIR.

The file has `--rows` rows of the wage source with the Chinese headers: identity numbers of registered people
(≈ 0.5 % valid but unregistered, 0.1 % typed in full-width digits, 0.1 % amounts with thousands separators) and
≈ 1 % malformed rows (wrong check digit, 15-digit number, impossible month, negative or three-decimal amount). The baseline is what a form-by-form service would do:
read the CSV with the csv module, validate each row in Python (`parse_identity_number`, Decimal, strptime) and
look the person up with one ORM query per row; it runs on the first `--sample` rows and is extrapolated linearly.
"""

import argparse
import csv
import datetime
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")

HEADER = ["公民身份号码", "所属期", "扣缴单位", "工资薪金收入", "已缴个人所得税", "个人缴纳社会保险费"]


def write_wage_file(path: Path, rows: int, seed: int) -> tuple[int, int]:
    """Generate the wage CSV with DuckDB from the registry's identity numbers; returns (persons read, rows)."""
    import duckdb
    import pyarrow as pa
    from django.db import connection

    from minzheng.registry.models import Person

    con = duckdb.connect()
    con.execute("CREATE TABLE ids (k BIGINT, id_number VARCHAR)")
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT id, id_number FROM {connection.ops.quote_name(Person._meta.db_table)}")
        while chunk := cursor.fetchmany(200_000):
            batch = pa.table({"k": [r[0] for r in chunk], "id_number": [r[1] for r in chunk]})
            con.register("b", batch)
            con.execute("INSERT INTO ids SELECT * FROM b")
            con.unregister("b")
    persons = con.execute("SELECT count(*) FROM ids").fetchall()[0][0]
    if persons == 0:
        raise SystemExit("the registry is empty")
    # Row i: a person picked by a hash of (seed, i), a month in the last year, an amount; some rows spoiled.
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    checksum = " + ".join(f"substr(body, {i + 1}, 1)::INT * {w}" for i, w in enumerate(weights))
    con.execute(
        f"""
        CREATE TABLE numbered AS SELECT row_number() OVER (ORDER BY k) - 1 AS j, id_number FROM ids;
        CREATE TABLE draws AS
        SELECT i, hash(i, {seed}) AS h, hash(i, {seed}, 'b') AS h2 FROM range({rows}) t(i);
        CREATE TABLE unregistered AS
        SELECT i, body || CASE (12 - ({checksum}) % 11) % 11 WHEN 10 THEN 'X'
                              ELSE CAST((12 - ({checksum}) % 11) % 11 AS VARCHAR) END AS id_number
        FROM (SELECT i, '130722' || strftime(DATE '1950-01-01' + CAST(h2 % 20000 AS INT), '%Y%m%d')
                     || lpad(CAST(900 + h2 % 99 AS VARCHAR), 3, '0') AS body FROM draws WHERE h % 200 = 7);
        COPY (
            SELECT
                CASE WHEN d.h % 1000 IN (1, 2) THEN substr(n.id_number, 1, 17)
                          || CASE substr(n.id_number, 18, 1) WHEN '0' THEN '1' ELSE '0' END
                     WHEN d.h % 1000 IN (3, 4) THEN substr(n.id_number, 1, 6) || substr(n.id_number, 9, 9)
                     WHEN d.h % 1000 = 11 THEN translate(n.id_number, '0123456789', '０１２３４５６７８９')
                     WHEN u.id_number IS NOT NULL THEN u.id_number
                     ELSE n.id_number END AS "公民身份号码",
                CASE WHEN d.h % 1000 IN (5, 6) THEN '2025-13'
                     ELSE strftime(DATE '2025-01-01' + INTERVAL (CAST(d.h2 % 12 AS INT)) MONTH, '%Y-%m') END AS "所属期",
                '张北县第' || CAST(d.h2 % 300 AS VARCHAR) || '号企业' AS "扣缴单位",
                CASE WHEN d.h % 1000 IN (7, 8) THEN '-' || CAST(1000 + d.h2 % 9000 AS VARCHAR)
                     WHEN d.h % 1000 IN (9, 10) THEN CAST(1000 + d.h2 % 9000 AS VARCHAR) || '.125'
                     WHEN d.h % 1000 = 12 THEN format('{{:,}}', 10000 + d.h2 % 90000) || '.00'
                     ELSE CAST(1000 + d.h2 % 9000 AS VARCHAR) || '.' || lpad(CAST(d.h % 100 AS VARCHAR), 2, '0')
                END AS "工资薪金收入",
                CAST((d.h2 % 300) AS VARCHAR) || '.00' AS "已缴个人所得税",
                CAST((d.h2 % 800) AS VARCHAR) || '.50' AS "个人缴纳社会保险费"
            FROM draws d
            JOIN numbered n ON n.j = d.h % {persons}
            LEFT JOIN unregistered u ON u.i = d.i
            ORDER BY d.i
        ) TO '{path}' (FORMAT csv, HEADER true);
        """
    )
    written = con.execute(f"SELECT count(*) FROM read_csv('{path}', all_varchar = true)").fetchall()[0][0]
    con.close()
    return persons, written


def naive_import(path: Path, sample: int) -> tuple[float, int, int]:
    """Per-row Python validation and one ORM lookup per row; returns (seconds, valid, rejected)."""
    from minzheng.core.errors import DomainError
    from minzheng.registry.identifiers import parse_identity_number
    from minzheng.registry.models import Person

    started = time.perf_counter()
    valid = rejected = 0
    seen: set[tuple] = set()
    today = datetime.date.today()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for index, row in enumerate(reader):
            if index >= sample:
                break
            try:
                number = parse_identity_number(row[0]).number
                month = datetime.datetime.strptime(row[1][:7], "%Y-%m").date()
                if month > today:
                    raise DomainError("future")
                amounts = []
                for text in row[3:6]:
                    amount = Decimal(text.replace(",", "")) if text else None
                    if amount is not None and (amount < 0 or amount != amount.quantize(Decimal("0.01"))):
                        raise DomainError("amount")
                    amounts.append(amount)
                key = (number, month, row[2], *amounts)
                if key in seen:
                    raise DomainError("duplicate")
                seen.add(key)
                Person.objects.filter(id_number=number).values_list("id", flat=True).first()
                valid += 1
            except (DomainError, ValueError, InvalidOperation):
                rejected += 1
    return time.perf_counter() - started, valid, rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5_000, help="rows run through the naive baseline")
    parser.add_argument("--households", type=int, default=1_000_000, help="synthetic registry size when needed")
    parser.add_argument("--min-persons", type=int, default=1_000_000, help="use the existing registry from this size")
    parser.add_argument("--prefix", default="1307")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="minzheng-import-bench-"))
    os.environ["CHECKS_DATA_DIR"] = str(scratch / "checks")
    django.setup()
    from django.db import connection, transaction

    from minzheng.exchange import importer, rowstore
    from minzheng.regions import codes
    from minzheng.registry.models import Person

    created_db = None
    try:
        try:
            existing = Person.objects.count()
        except Exception:
            existing = 0
        if existing >= args.min_persons:
            print(f"registry: existing database, {existing:,} persons (the import is rolled back at the end)")
        else:
            from minzheng.demo.population import generate_population
            from minzheng.regions.importer import import_regions

            if connection.vendor == "sqlite":
                connection.settings_dict["TEST"]["NAME"] = str(scratch / "bench.sqlite3")
            else:
                connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_{os.getpid()}"
            created_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            print(f"registry: {existing:,} persons is below --min-persons; synthetic registry in {created_db}")
            started = time.perf_counter()
            import_regions(args.prefix)
            population = generate_population(args.prefix, args.households, args.seed)
            print(f"  generated {population.persons:,} persons in {time.perf_counter() - started:.1f} s")
        print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

        path = scratch / "wage.csv"
        started = time.perf_counter()
        persons, rows = write_wage_file(path, args.rows, args.seed)
        size = path.stat().st_size / 1e6
        print(f"file: {rows:,} rows, {size:.0f} MB, from {persons:,} persons, in {time.perf_counter() - started:.1f} s")

        baseline, base_valid, base_rejected = naive_import(path, args.sample)
        per_row = baseline / min(args.sample, rows)
        print(
            f"naive baseline: {min(args.sample, rows):,} rows in {baseline:.2f} s ({per_row * 1e3:.3f} ms per row;"
            f" {base_valid} valid, {base_rejected} rejected)"
        )

        region = codes.canonical(args.prefix)
        with transaction.atomic():
            cpu = time.process_time()
            started = time.perf_counter()
            outcome = importer.import_file(
                "wage", path, region_code=region, period=datetime.date.today(), original_name="wage.csv"
            )
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            snapshot_size = importer.snapshot_path(outcome.snapshot).stat().st_size / 1e6
            # What the commit then runs (rolled back here, so timed by hand): the window's row store load.
            started = time.perf_counter()
            rowstore.load(rowstore.store_path(importer.data_dir()), "wage", importer.snapshot_path(outcome.snapshot))
            load_seconds = time.perf_counter() - started
            transaction.set_rollback(True)
        extrapolated = per_row * rows
        print(
            f"import_file: {outcome.rows_total:,} rows in {seconds:.1f} s ({outcome.rows_total / seconds:,.0f} rows/s;"
            f" this process used {cpu:.1f} s of CPU): {outcome.rows_valid:,} valid, {outcome.rows_rejected:,}"
            f" rejected, {outcome.rows_unmatched:,} unmatched; snapshot {snapshot_size:.0f} MB"
        )
        print(
            f"row store load after the commit: {load_seconds:.1f} s; the import as the command commits it:"
            f" {seconds + load_seconds:.1f} s"
        )
        print(
            f"naive baseline extrapolated to {rows:,} rows: {extrapolated:,.0f} s ({extrapolated / 60:.1f} min);"
            f" speed-up {extrapolated / seconds:,.1f}x (import alone), {extrapolated / (seconds + load_seconds):,.1f}x"
            " (with the load)"
        )
    finally:
        if created_db:
            connection.creation.destroy_test_db(created_db, verbosity=0)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

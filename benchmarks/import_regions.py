"""Benchmark: the national division import (≈665,000 rows) on SQLite and PostgreSQL, against a naive ORM baseline.

    .venv/bin/python benchmarks/import_regions.py [--sample 5000] [--only sqlite|postgresql]

For each database it migrates a fresh, empty database (SQLite: a temporary file; PostgreSQL: `minzheng_bench`, created
and dropped here, skipped with a message if the server is unreachable), then measures

  1. the naive baseline: `Region.objects.update_or_create` row by row (in one transaction) on a sample, extrapolated
     to the full row count — then rolled back;
  2. the full national import (`minzheng.regions.importer.import_regions("")`; requirement: < 30 s);
  3. the idempotent re-import of the same data (nothing to add or change);
  4. the naive baseline again, for the re-import case, on a sample of existing rows.

Each database runs in its own subprocess (DATABASE_URL set before Django starts), so settings never need switching.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUIREMENT_SECONDS = 30.0
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "minzheng_bench"


class _Rollback(Exception):
    pass


def _naive(rows: list[tuple]) -> float:
    """Per-row update_or_create inside one transaction, rolled back afterwards; returns seconds."""
    from django.db import transaction

    from minzheng.regions.models import Region

    started = time.perf_counter()
    try:
        with transaction.atomic():
            for code, name, level, parent, urban in rows:
                Region.objects.update_or_create(
                    code=code, defaults={"name": name, "level": level, "parent_id": parent, "urban_rural": urban}
                )
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


def worker(sample: int) -> dict:
    """Runs inside the subprocess, against the DATABASE_URL it was given."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from minzheng.regions.importer import import_regions, read_rows
    from minzheng.regions.models import Region

    call_command("migrate", verbosity=0)
    assert not Region.objects.exists(), "the benchmark database must start empty"

    started = time.perf_counter()
    rows = list(read_rows(""))
    read_seconds = time.perf_counter() - started
    total = len(rows)

    # Top-down order, so every sampled row's parent is already there (or in the sample before it).
    naive_insert = _naive(rows[:sample])
    assert not Region.objects.exists()

    first = import_regions("")
    second = import_regions("")

    # Re-import baseline: existing rows spread over the whole data set, still parents first.
    step = max(total // sample, 1)
    naive_update = _naive(rows[::step][:sample])

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
    else:
        import sqlite3

        version = sqlite3.sqlite_version
    return {
        "vendor": connection.vendor,
        "version": version,
        "rows": total,
        "read_seconds": read_seconds,
        "import": {"seconds": first.seconds, "added": first.added, "updated": first.updated},
        "reimport": {"seconds": second.seconds, "added": second.added, "updated": second.updated},
        "counts": {str(k): v for k, v in sorted(first.counts.items())},
        "sample": sample,
        "naive_insert_seconds": naive_insert,
        "naive_update_seconds": naive_update,
        "db_rows": Region.objects.count(),
    }


def _run_worker(database_url: str, sample: int) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "--sample", str(sample)],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({database_url}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(name: str, r: dict) -> None:
    rows, sample = r["rows"], r["sample"]
    naive_full = r["naive_insert_seconds"] / sample * rows
    naive_re = r["naive_update_seconds"] / sample * rows
    imp, re_ = r["import"], r["reimport"]
    ok = "通过" if imp["seconds"] < REQUIREMENT_SECONDS else "未通过"
    levels = {"0": "国家", "1": "省级", "2": "地级", "3": "县级", "4": "乡级", "5": "村级"}
    print(f"\n== {name} {r['version']} ==")
    print(f"  区划行数（含全国根节点）     {rows:>10,}   入库 {r['db_rows']:,}")
    print("  各级数量                     " + "，".join(f"{levels[k]} {v:,}" for k, v in r["counts"].items()))
    print(f"  读取并解压数据文件           {r['read_seconds']:>8.2f} s")
    print(
        f"  全国首次导入（集合式）       {imp['seconds']:>8.2f} s   新增 {imp['added']:,}，更新 {imp['updated']:,}"
        f"   {rows / imp['seconds']:>9,.0f} 行/秒   要求 < {REQUIREMENT_SECONDS:.0f} s：{ok}"
    )
    print(f"  重复导入（幂等）             {re_['seconds']:>8.2f} s   新增 {re_['added']:,}，更新 {re_['updated']:,}")
    print(
        f"  逐行 update_or_create 首次   {r['naive_insert_seconds']:>8.2f} s / {sample:,} 行"
        f"  → 推算全国 {naive_full:>8.1f} s   是集合式的 {naive_full / imp['seconds']:.1f} 倍"
    )
    print(
        f"  逐行 update_or_create 重复   {r['naive_update_seconds']:>8.2f} s / {sample:,} 行"
        f"  → 推算全国 {naive_re:>8.1f} s   是集合式的 {naive_re / re_['seconds']:.1f} 倍"
    )


def _postgres_admin():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=5000, help="rows for the naive baseline (default 5000)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.sample)))
        return

    print("区划导入基准测试：全国五级区划（国家统计局2023），集合式导入 vs 逐行 ORM")
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="minzheng-bench-") as tmp:
            result = _run_worker(f"sqlite:///{tmp}/bench.sqlite3", args.sample)
        _report("SQLite", result)

    if args.only in (None, "postgresql"):
        try:
            admin = _postgres_admin()
        except Exception as exc:  # any connection failure means "skip"
            print(f"\n== PostgreSQL ==\n  跳过：无法连接 {PG_SERVER}（{exc.__class__.__name__}: {exc}）")
            return
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"')
            admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
            try:
                result = _run_worker(f"{PG_SERVER}/{PG_DATABASE}", args.sample)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _report("PostgreSQL", result)


if __name__ == "__main__":
    main()

"""Benchmark of the checking engine: a region's batch re-check against a per-household baseline, its scale, and the
window check of one household.

    .venv/bin/python benchmarks/checks.py [--households 1000000] [--scale-households 10000000] [--skip-scale]
                                          [--sample 10000] [--window 200] [--runs 3] [--prefix 1307] [--seed 1]
                                          [--engine duckdb|spark] [--spark-master local[2]] [--spark-memory 8g]
    .venv/bin/python benchmarks/checks.py --households 20000 --scale-households 200000 --sample 1000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minzheng .venv/bin/python benchmarks/checks.py --skip-scale

Works on a fresh database of its own, created and migrated here and dropped at the end (a temporary SQLite file by
default, or `<name>_bench_<pid>` next to the PostgreSQL database DATABASE_URL names; the role needs CREATEDB), with
snapshot files in a temporary CHECKS_DATA_DIR: the demo database is never touched. Data comes from the project's
generators: `generate_population` (households and people on the real divisions), then `generate_check_data` (the
demo parameters, one Parquet delivery per source imported through the real importer, authorisations, declarations).

batch — every household of the region checked from the stored snapshots: `engine.stream(...)` for the
    "households" output, as a batch run consumes it (in chunks of `--chunk-households`, by default the
    CHECKS_BATCH_CHUNK_HOUSEHOLDS setting the runs use, each record batch's verdicts kept), median of `--runs`, in a
    child process (so its peak RSS is its own). The members table is exported once from the registry and written
    to Parquet; the export is timed apart.
baseline — what a service written household by household would do: for each household of a random `--sample`, the
    ORM query for its members, one SQL query per source against a table holding the sample's departmental rows
    (created here, indexed on person key and identity number), the declarations and authorisations through the ORM,
    and the same rules evaluated in Python with Decimal. Its verdicts are compared with the engine's for the same
    households, and its time per household is extrapolated linearly to the region (which flatters it: its tables
    hold only the sample's rows).
scale — `--scale-households` households, too many to generate through the Django database in reasonable time: the
    registry's members table is tiled in DuckDB (copy c of a household gets new keys and a `c`-prefixed identity
    number, so every copy draws its own departmental data) — the distributions are exactly the generator's — and
    the departmental rows are generated from it with the demo generator's SQL and written as Parquet snapshots in
    the importer's layout (about 1 % unmatched rows). Then the same batch, with its peak RSS.
window — `services.check_household` (authorisation, read, rules, stored result and audit entry) on `--window`
    random authorised households: p50 and p95. The household's rows come from the row store the imports filled
    (`checks/rowstore.py`; its load is part of the import time above), the rules run on SQLite.

The batch's floors are timed on the same inputs in the same child: reading every snapshot and grouping its rows by
person (the least any fold of them does), and the rules streamed with every snapshot empty (the per-person and
per-household stages alone). Their sum roughly bounds what any layout of the departmental data (income pre-folded
at import, say) could bring these rules down to on this machine.

`--profile` adds DuckDB's per-operator profile of the batch (EXPLAIN ANALYZE of the "households" output).

`--engine spark` also runs the batch on Spark (`--spark-master`, default local[2]; `checks.spark.SparkRunner`, the
runner of `run_checks --engine spark`) over the same inputs in a child process, median of `--runs`, and prints it
beside DuckDB's with the number of households whose verdicts agree. The session is started once, timed apart. There
is no goal for it on two cores: the figure is the overhead a cluster must pay back.
"""

import argparse
import datetime
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")

GIB = 1024**3
CENT = Decimal("0.01")
INPUT_TABLES = ("members", "declarations", "authorisations", "authorised_persons", "item_rules", "params")


# ------------------------------------------------------------------------------------------- the engine, isolated


VERDICTS = ["household_key", "dibao", "edge", "tekun", "tekun_pending", "rigid", "dibao_amount", "counted"]


def engine_run(
    directory: Path, runs: int, profile: bool, memory_limit: str | None, chunk: int | None, floors: bool = False
) -> None:
    """Child process: bind the inputs written to `directory` and time `engine.stream` as the batch run consumes it
    (each record batch's verdicts kept, the rest dropped); print one JSON line. With `floors`, also the two floors
    under the batch's time (`_floors`)."""
    import numpy
    import pyarrow as pa
    import pyarrow.parquet as pq

    django.setup()
    from django.conf import settings

    from minzheng.checks import rules
    from minzheng.checks.engine import EngineInputs, stream

    started = time.perf_counter()
    rules.compiled("duckdb")  # once per process (a worker keeps it): not part of a run
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    tables = {name: pq.read_table(directory / f"{name}.parquet") for name in INPUT_TABLES}
    snapshots = {
        code: (Path(p) if p else None) for code, p in json.loads((directory / "snapshots.json").read_text()).items()
    }
    load = time.perf_counter() - started
    options = {"memory_limit": memory_limit} if memory_limit else {}
    chunk = chunk or settings.CHECKS_BATCH_CHUNK_HOUSEHOLDS
    seconds, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        # Copied out: a column kept as it came would keep DuckDB's whole exported batch alive.
        kept = [
            batch.select(VERDICTS).take(numpy.arange(batch.num_rows))
            for batch in stream(EngineInputs(**tables, snapshots=snapshots), chunk_households=chunk, **options)
        ]
        seconds.append(time.perf_counter() - t)
        out = pa.Table.from_batches(kept)
    pq.write_table(out, directory / "verdicts.parquet")
    result = {
        "compile_seconds": compile_seconds,
        "load_seconds": load,
        "seconds": seconds,
        "households": out.num_rows,
        "chunk_households": chunk,
        "max_rss_kib": peak_rss_kib(),
    }
    if profile:
        result["profile"] = _profile(EngineInputs(**tables, snapshots=snapshots), options)
    if floors:
        result["floors"] = _floors(tables, snapshots, runs, options)
    print(json.dumps(result))


def spark_run(directory: Path, runs: int, master: str) -> None:
    """Child process: the same batch on Spark (`checks.spark`, as `run_checks --engine spark` runs it): bind the inputs
    written to `directory`, compute the households' stages, bring every household's verdicts back; print one JSON
    line. The session (the JVM, the executors) is started once and timed apart: a worker keeps it between runs."""
    import pyarrow.parquet as pq

    django.setup()
    from minzheng.checks import rules
    from minzheng.checks.engine import EngineInputs, normalise
    from minzheng.checks.spark import SparkRunner
    from minzheng.core import spark as sparks

    started = time.perf_counter()
    rules.compiled("pyspark")
    compile_seconds = time.perf_counter() - started
    tables = {name: pq.read_table(directory / f"{name}.parquet") for name in INPUT_TABLES}
    snapshots = {
        code: (Path(p) if p else None) for code, p in json.loads((directory / "snapshots.json").read_text()).items()
    }
    started = time.perf_counter()
    session = sparks.session(master)
    session.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - started
    seconds, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        runner = SparkRunner(session)
        try:
            runner.bind(EngineInputs(**tables, snapshots=snapshots))
            runner.prepare(("households",))
            out = normalise(runner.spark.table("households").select(*VERDICTS).toArrow())
        finally:
            runner.close()
        seconds.append(time.perf_counter() - t)
    jvm = session.sparkContext._gateway.proc.pid
    jvm_kib = 0
    for line in Path(f"/proc/{jvm}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            jvm_kib = int(line.split()[1])
    session.stop()
    pq.write_table(out, directory / "spark-verdicts.parquet")
    result = {
        "compile_seconds": compile_seconds,
        "session_seconds": session_seconds,
        "seconds": seconds,
        "households": out.num_rows,
        "max_rss_kib": peak_rss_kib(),
        "jvm_max_rss_kib": jvm_kib,
    }
    print(json.dumps(result))


def run_spark_child(directory: Path, runs: int, master: str, memory: str) -> dict:
    command = [sys.executable, __file__, "--spark-run", str(directory), "--runs", str(runs), "--spark-master", master]
    env = {**os.environ, "SPARK_DRIVER_MEMORY": memory}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=directory)
    if done.returncode:
        raise SystemExit(f"Spark run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _floors(tables: dict, snapshots: dict, runs: int, options: dict) -> dict:
    """What no layout of the rules can go below on this machine: reading every snapshot and grouping its rows by
    person (one count each: the least any fold does), and the same rules streamed over the same members with every
    snapshot empty (the per-person and per-household stages alone). Medians of `runs`."""
    import duckdb

    from minzheng.checks.engine import EngineInputs, stream

    con = duckdb.connect(config={"threads": os.cpu_count() or 1, "preserve_insertion_order": False})
    reading = []
    for _ in range(runs):
        t = time.perf_counter()
        for path in filter(None, snapshots.values()):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE grouped AS SELECT person_key, count(*) AS n"
                f" FROM read_parquet('{path}') GROUP BY person_key"
            )
        reading.append(time.perf_counter() - t)
    con.close()
    empty = EngineInputs(**tables, snapshots=dict.fromkeys(snapshots))
    rules_only = []
    for _ in range(runs):
        t = time.perf_counter()
        for _batch in stream(empty, **options):
            pass
        rules_only.append(time.perf_counter() - t)
    return {"reading_seconds": statistics.median(reading), "rules_only_seconds": statistics.median(rules_only)}


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux keeps that across execve, so a child
    started from a large parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _profile(engine_inputs, options) -> list[dict]:
    """The heaviest operators of the batch's plan (JSON profiling of each statement: the stages kept as tables, then
    the output), with each operator named after the stage whose statement ran it."""
    from minzheng.checks.engine import DuckDBRunner

    runner = DuckDBRunner(**options)
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    trees = []
    try:
        runner.bind(engine_inputs)
        runner.con.execute("PRAGMA enable_profiling = 'json'")
        runner.con.execute(f"PRAGMA profiling_output = '{path}'")
        # The output materialised whole, as `execute` does (a count would let DuckDB prune the columns nobody reads).
        for statement in [
            *runner.statements(("households",)),
            "CREATE TEMP TABLE profiled AS SELECT * FROM households",
        ]:
            runner.con.execute(statement)
            if not statement.startswith("CREATE OR REPLACE TEMP VIEW"):
                trees.append((statement.split(" AS ", 1)[0].split()[-1], json.loads(path.read_text())))
        runner.con.execute("PRAGMA disable_profiling")
    finally:
        path.unlink(missing_ok=True)
        runner.close()
    flat = []

    def walk(node, depth, stage):
        extra = node.get("extra_info", "")
        if isinstance(extra, dict):
            extra = "; ".join(f"{k}: {v}" for k, v in extra.items() if k != "Estimated Cardinality")
        flat.append(
            {
                "operator": str(node.get("type") or node.get("operator_type") or node.get("name", "")).strip(),
                "stage": stage,
                "seconds": float(node.get("timing", node.get("operator_timing", 0.0)) or 0.0),
                "rows": int(node.get("intermediate_rows", node.get("operator_cardinality", 0)) or 0),
                "depth": depth,
                "info": " ".join(str(extra).split())[:130],
            }
        )
        for child in node.get("children", []):
            walk(child, depth + 1, stage)

    summary = {"total_seconds": 0.0, "cpu_seconds": 0.0, "planning_seconds": 0.0, "peak_buffer_gib": 0.0}
    for stage, tree in trees:
        roots = tree.get("operator") or tree.get("children") or []
        for root in roots if isinstance(roots, list) else [roots]:
            walk(root, 0, stage)
        query, system = tree.get("query", {}), tree.get("system", {})
        summary["total_seconds"] += query.get("total_time", tree.get("latency", 0.0))
        summary["cpu_seconds"] += query.get("cpu_time", 0.0)
        summary["planning_seconds"] += sum(
            tree.get(part, {}).get("total_time", 0.0) for part in ("planner", "optimizer", "physical_planner")
        )
        summary["peak_buffer_gib"] = max(summary["peak_buffer_gib"], system.get("peak_buffer_memory", 0) / GIB)
    flat.sort(key=lambda r: r["seconds"], reverse=True)
    return [summary, *flat[:20]]


def run_child(
    directory: Path, runs: int, profile: bool, memory_limit: str | None, chunk: int | None, floors: bool = False
) -> dict:
    command = [sys.executable, __file__, "--engine-run", str(directory), "--runs", str(runs)]
    if profile:
        command.append("--profile")
    if floors:
        command.append("--floors")
    if memory_limit:
        command += ["--memory-limit", memory_limit]
    if chunk:
        command += ["--chunk-households", str(chunk)]
    # In its own directory: an in-memory DuckDB that spills writes to ./.tmp
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), cwd=directory)
    if done.returncode:
        raise SystemExit(f"engine run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_inputs(directory: Path, tables: dict, snapshots: dict) -> None:
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, directory / f"{name}.parquet")
    (directory / "snapshots.json").write_text(json.dumps({k: (str(v) if v else None) for k, v in snapshots.items()}))


def print_profile(profile: list[dict]) -> None:
    head = profile[0]
    print(
        f"  profile (EXPLAIN ANALYZE): {head['total_seconds']:.2f} s wall, {head['cpu_seconds']:.2f} s CPU in operators,"
        f" {head['planning_seconds']:.3f} s planning, peak buffer memory {head['peak_buffer_gib']:.2f} GiB;"
        " heaviest operators (CPU time summed over threads):"
    )
    for op in profile[1:]:
        print(
            f"    {op['seconds']:7.3f} s  {op['rows']:>12,} rows  {op['stage']:<16} {op['operator']:<16} {op['info']}"
        )


def print_spark(directory: Path, spark: dict, duckdb_median: float, args) -> None:
    """The Spark batch beside DuckDB's, with the households whose verdicts agree."""
    import pyarrow.parquet as pq

    median = statistics.median(spark["seconds"])
    duck = {r["household_key"]: r for r in pq.read_table(directory / "verdicts.parquet").to_pylist()}
    on_spark = pq.read_table(directory / "spark-verdicts.parquet").to_pylist()
    agree = sum(duck.get(r["household_key"]) == r for r in on_spark)
    print(
        f"batch on Spark {args.spark_master} (driver memory {args.spark_memory}): {spark['households']:,} households:"
        f" median {median:.2f} s of {args.runs} ({', '.join(f'{s:.2f}' for s in spark['seconds'])}),"
        f" {median / duckdb_median:.1f}x DuckDB's {duckdb_median:.2f} s; session started once in"
        f" {spark['session_seconds']:.1f} s, rules compiled in {spark['compile_seconds']:.1f} s; peak RSS"
        f" {spark['jvm_max_rss_kib'] / 1024**2:.2f} GiB (JVM) + {spark['max_rss_kib'] / 1024**2:.2f} GiB (Python);"
        f" verdicts identical to DuckDB's for {agree:,} of {len(duck):,} households"
    )


# ------------------------------------------------------------------------------------------------- the baseline


def q(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_UP)


def share(amount: Decimal, num, den) -> Decimal:
    return q(amount * num / den)


def round_rule(amount: Decimal, quantum: Decimal, mode: str) -> Decimal:
    rounding = {"up": ROUND_CEILING, "down": ROUND_FLOOR}.get(mode, ROUND_HALF_UP)
    return (amount / quantum).quantize(Decimal(1), rounding) * quantum


def yuan(fen) -> Decimal | None:
    return None if fen is None else Decimal(int(fen)) / 100


def age_on(birth: datetime.date, day: datetime.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def as_date(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class Baseline:
    """The rules of `checks/rules.py` for one household at a time, in Python with Decimal yuan."""

    def __init__(self, params, item_rules):
        self.params = {}
        for row in params.to_pylist():
            p = dict(row)
            for key in ("std", "min_wage", "vehicle_cap", "disposable_income", "round_quantum"):
                p[key] = yuan(p[key])
            self.params[(row["county"], row["area_type"])] = p
        self.counted = {(r["county"], r["item"]): r["counted"] for r in item_rules.to_pylist()}
        from minzheng.exchange.sources import SOURCES, source_schema

        # The columns the engine reads (free text is no rule input), as loaded into the sample's tables.
        keys = ("snapshot_id", "row_no", "person_key")
        self.fields = {code: [n for n in source_schema(code) if n not in keys] for code in SOURCES}

    def rows(self, cursor, code: str, keys: list[int], ids: dict[str, int]) -> list[dict]:
        """One query per source for the household's people (late-matched rows by identity number)."""
        names = self.fields[code]
        marks_k = ", ".join(["%s"] * len(keys))
        marks_i = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT person_key, row_no, {', '.join(names)} FROM bench_{code}"
            f" WHERE person_key IN ({marks_k}) OR (person_key IS NULL AND id_number IN ({marks_i}))",
            [*keys, *ids],
        )
        out = []
        for person_key, row_no, *values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            row["person_key"] = person_key if person_key is not None else ids[row["id_number"]]
            row["row_no"] = row_no
            out.append(row)
        return out

    def check(self, household_id: int, as_of: datetime.date, cursor) -> dict:
        from django.db.models import Q

        from minzheng.cases.models import Declaration
        from minzheng.checks.inputs import county_of
        from minzheng.checks.models import Authorisation
        from minzheng.exchange.sources import CATEGORIES, SOURCES
        from minzheng.registry.models import Membership

        members = list(
            Membership.objects.filter(household_id=household_id, left_on__isnull=True).select_related(
                "person", "household"
            )
        )
        household = members[0].household
        county = county_of(household.region_id)
        P = self.params[(county, household.area_type)]
        persons = {m.person_id: m.person for m in members}
        ids = {p.id_number: pk for pk, p in persons.items()}
        src = {code: self.rows(cursor, code, list(persons), ids) for code in SOURCES}
        declarations = list(
            Declaration.objects.filter(household_id=household_id, valid_from__lte=as_of)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=as_of))
            .values_list("person_id", "kind", "item", "monthly_amount")
        )
        authorisations = list(
            Authorisation.objects.filter(household_id=household_id, revoked_on__isnull=True).prefetch_related("persons")
        )

        income_from, rigid_from, lookback = P["income_from"], P["rigid_from"], P["lookback_months"]
        events = defaultdict(set)
        for r in src["civil_status"]:
            if as_date(r["event_on"]) <= as_of:
                events[r["person_key"]].add(r["event"])
        declared = defaultdict(set)
        for pid, kind, _item, _amount in declarations:
            declared[pid].add(kind)
        certificates = {}
        for r in src["disability"]:
            key = (as_date(r["issued_on"]), r["row_no"])
            if r["person_key"] not in certificates or key > certificates[r["person_key"]][0]:
                certificates[r["person_key"]] = (key, r["category"], int(r["grade"]))

        # Items folded per (person, item, role, divisor): total, largest, rows, rows from departments.
        folded: dict[tuple, list] = {}

        def add(pid, item, role, amount, divisor=1, department=True):
            amount = amount if amount is not None else Decimal(0)
            f = folded.setdefault((pid, item, role, divisor), [Decimal(0), None, 0, 0])
            f[0] += amount
            f[1] = amount if f[1] is None or amount > f[1] else f[1]
            f[2] += 1
            f[3] += department

        for r in src["wage"]:
            if income_from <= as_date(r["month"]) < as_of:
                add(r["person_key"], "wage", "income", money(r["gross_wage"]), lookback)
                add(r["person_key"], "tax", "deduction", money(r["tax_paid"]), lookback)
                add(r["person_key"], "social_contribution", "deduction", money(r["social_contribution"]), lookback)
        for r in src["pension"]:
            start = as_date(r["start_month"])
            if start is None or start <= as_of:
                add(r["person_key"], r["item"], "income", money(r["monthly_amount"]))
        for r in src["real_estate"]:
            rent = money(r["monthly_rent"])
            if rent is not None and rent > 0:
                add(r["person_key"], "rent", "income", rent)
            add(r["person_key"], r["usage"], "property", money(r["area"]).quantize(Decimal(1), ROUND_HALF_UP))
        for r in src["business"]:
            net = money(r["monthly_net_income"])
            if r["status"] == "active" and net is not None and net > 0:
                add(r["person_key"], "business_income", "income", net)
            add(r["person_key"], r["status"], "business", Decimal(0))
        for r in src["finance"]:
            interest = money(r["annual_income"])
            if interest is not None and interest > 0:
                add(r["person_key"], "interest", "income", interest, 12)
            add(r["person_key"], r["product"], "financial_asset", money(r["balance"]))
        for r in src["transfer"]:
            role = "deduction" if r["item"] == "support_paid" else "income"
            add(r["person_key"], r["item"], role, money(r["monthly_amount"]))
        for r in src["vehicle"]:
            add(r["person_key"], r["vehicle_type"], "vehicle", money(r["value"]))
        for r in src["medical"]:
            day, paid = as_date(r["settled_on"]), money(r["out_of_pocket"])
            if rigid_from <= day <= as_of:
                add(r["person_key"], "medical", "rigid", paid)
            if income_from <= day < as_of:
                add(r["person_key"], "medical_cost", "medical_deduction", paid, lookback)
        for r in src["education"]:
            if rigid_from <= as_date(r["paid_on"]) <= as_of:
                add(r["person_key"], r["stage"], "rigid", money(r["fee"]))
        for r in src["housing_fund"]:
            add(r["person_key"], r["status"], "housing_fund", money(r["deposit_base"]))
        for pid, kind, item, amount in declarations:
            if kind == "income":
                role = "deduction" if item == "support_paid" else "income"
                add(pid, item, role, q(Decimal(amount)), 1, department=False)

        zero = Decimal(0)
        totals = {
            pid: {
                "counted": zero,
                "excluded": zero,
                "wage": zero,
                "deductions": zero,
                "medical": zero,
                "financial": zero,
                "vehicles": 0,
                "vehicle_max": None,
                "residential": 0,
                "nonresidential": 0,
                "businesses": 0,
                "rigid": zero,
                "housing_fund": None,
                "has_data": False,
            }
            for pid in persons
        }
        for (pid, item, role, divisor), (total, largest, rows, departments) in folded.items():
            t = totals[pid]
            monthly = q(total / divisor)
            if role == "income":
                t["counted" if self.counted.get((county, item), True) else "excluded"] += monthly
            if item == "wage":
                t["wage"] += monthly
            if role == "deduction":
                t["deductions"] += monthly
            elif role == "medical_deduction":
                t["medical"] += monthly
            elif role == "financial_asset":
                t["financial"] += total
            elif role == "vehicle" and f",{item}," not in P["vehicle_exempt"]:
                t["vehicles"] += rows
                t["vehicle_max"] = largest if t["vehicle_max"] is None else max(t["vehicle_max"], largest)
            elif role == "property":
                t["residential" if item == "residential" else "nonresidential"] += rows
            elif role == "business" and item == "active":
                t["businesses"] += rows
            elif role == "rigid":
                t["rigid"] += total
            elif role == "housing_fund" and item == "normal":
                t["housing_fund"] = largest if t["housing_fund"] is None else max(t["housing_fund"], largest)
            t["has_data"] |= departments > 0

        std = P["std"] if P["std"] is not None else zero
        min_wage = P["min_wage"] if P["min_wage"] is not None else zero
        h = defaultdict(lambda: zero)
        h.update(n=0, vehicles=0, vehicle_max=zero, residential=0, nonresidential=0, businesses=0, unable=0)
        h.update(supporter_none=0, supporter_unknown=0, able=0)
        for pid, person in persons.items():
            t = totals[pid]
            age = age_on(person.birth_date, as_of)
            dead = (person.deceased_on is not None and person.deceased_on <= as_of) or "death" in events[pid]
            included = not (
                dead
                or "move_out" in events[pid]
                or events[pid] & {"imprisoned", "drug_rehab", "missing"}
                or "exclusion" in declared[pid]
            )
            category, grade = person.disability_category or "", person.disability_grade
            if pid in certificates:
                _, category, grade = certificates[pid]
            supporter = (
                "none" if "no_supporter" in declared[pid] else "able" if "has_supporter" in declared[pid] else "unknown"
            )
            wage = t["wage"]
            base = {"min_wage": P["min_wage"], "wage": wage}.get(P["emp_base"])
            employment = min(wage, share(base, P["emp_num"], P["emp_den"])) if wage > 0 and base is not None else zero
            deductions = t["deductions"] + employment + (t["medical"] if P["deduct_medical"] else zero)
            severe = grade is not None and grade <= 2
            uplift = max(
                share(std, P["up_elderly_num"], P["up_elderly_den"]) if age >= P["elderly_age"] else zero,
                share(std, P["up_minor_num"], P["up_minor_den"]) if age < 18 else zero,
                share(std, P["up_disability_num"], P["up_disability_den"]) if severe else zero,
                share(std, P["up_illness_num"], P["up_illness_den"]) if "serious_illness" in declared[pid] else zero,
            )
            g = grade if grade is not None else 9
            disabled_unable = (
                (category in ("intellectual", "mental") and g <= 3)
                or (category == "physical" and g <= 2)
                or (category == "visual" and g == 1)
            )
            unable = age >= P["tk_elderly_age"] or age < P["tk_minor_age"] or disabled_unable
            care = {
                "full": ("care_full_num", "care_full_den"),
                "partial": ("care_partial_num", "care_partial_den"),
                "self": ("care_self_num", "care_self_den"),
            }.get(person.self_care or "")
            care_amount = share(min_wage, P[care[0]], P[care[1]]) if care else zero
            quantum, mode = P["round_quantum"], P["round_mode"]
            tekun_each = round_rule(share(std, P["tk_num"], P["tk_den"]), quantum, mode) + round_rule(
                care_amount, quantum, mode
            )
            if included:
                h["uplift"] += uplift
            if not included:
                continue
            h["n"] += 1
            h["counted_gross"] += t["counted"]
            h["deductions"] += deductions
            h["financial"] += t["financial"]
            h["vehicles"] += t["vehicles"]
            if t["vehicle_max"] is not None:
                h["vehicle_max"] = max(h["vehicle_max"], t["vehicle_max"])
            h["residential"] += t["residential"]
            h["nonresidential"] += t["nonresidential"]
            h["businesses"] += t["businesses"]
            h["rigid_total"] += t["rigid"]
            if not unable:
                h["able"] += 1
            if unable:
                h["unable"] += 1
                if supporter == "none":
                    h["supporter_none"] += 1
                    h["tekun_amount"] += tekun_each
                elif supporter == "unknown":
                    h["supporter_unknown"] += 1

        n = h["n"]
        configured = P["std"] is not None
        counted = max(h["counted_gross"] - h["deductions"], zero)
        need = std * n
        fin_limit = None if P["fin_months"] is None else P["fin_months"] * need
        vehicle_ok = {
            "no_motor_vehicle": h["vehicles"] == 0,
            "value_cap": P["vehicle_cap"] is None or h["vehicle_max"] <= P["vehicle_cap"],
        }.get(P["vehicle_rule"], True)
        property_ok = (P["max_residential"] is None or h["residential"] <= P["max_residential"]) and (
            P["nonresidential_allowed"] or h["nonresidential"] == 0
        )
        business_ok = P["business_allowed"] or h["businesses"] == 0
        assets_ok = (fin_limit is None or h["financial"] <= fin_limit) and vehicle_ok and property_ok and business_ok
        income_ok = configured and n > 0 and counted < need
        edge_income = configured and n > 0 and counted * P["edge_den"] < P["edge_num"] * need
        dibao = income_ok and assets_ok
        edge = not income_ok and edge_income and assets_ok
        amount = round_rule(need - counted + h["uplift"], P["round_quantum"], P["round_mode"]) if dibao else zero
        tekun_conditions = h["unable"] > 0 and income_ok and assets_ok
        tekun = tekun_conditions and h["supporter_none"] > 0
        pending = tekun_conditions and not tekun and h["supporter_unknown"] > 0 and h["able"] == 0
        income12 = counted * 12
        disposable = P["disposable_income"]
        rigid_income_ok = disposable is not None and n > 0 and income12 < disposable * n
        rigid_exceeds = (
            P["rigid_num"] is not None
            and h["rigid_total"] * P["rigid_den"] > P["rigid_num"] * income12
            and h["rigid_total"] > 0
        )
        rigid = not dibao and not edge and not tekun and assets_ok and rigid_income_ok and rigid_exceeds

        living = {pid for pid, p in persons.items() if p.deceased_on is None or p.deceased_on > as_of}
        authorised = [
            a.pk
            for a in authorisations
            if a.signed_on <= as_of <= a.valid_until
            and set(CATEGORIES) <= set(a.categories)
            and living <= {p.pk for p in a.persons.all()}
        ]
        return {
            "household_key": household_id,
            "dibao": dibao,
            "edge": edge,
            "tekun": tekun,
            "tekun_pending": pending,
            "rigid": rigid,
            "dibao_amount": int(amount * 100),
            "counted": int(counted * 100),
            "authorisation_id": max(authorised) if authorised else None,
        }


def load_sample_rows(sample_persons, snapshots: dict) -> int:
    """The sample's departmental rows, from the snapshots into one table per source in the benchmark database."""
    import duckdb
    import pyarrow as pa
    from django.db import connection

    from minzheng.exchange.sources import source_schema

    postgres = connection.vendor == "postgresql"
    kinds = {
        "int64": "BIGINT",
        "int32": "INTEGER",
        "string": "VARCHAR(200)",
        "date": "DATE" if postgres else "TEXT",
        "decimal(18,2)": "NUMERIC(18,2)" if postgres else "TEXT",
    }
    con = duckdb.connect()
    con.register("sample_in", sample_persons)
    total = 0
    with connection.cursor() as cursor:
        for code, path in snapshots.items():
            schema = {k: v for k, v in source_schema(code).items() if k != "snapshot_id"}
            columns = ", ".join(f"{name} {kinds[kind]}" for name, kind in schema.items())
            cursor.execute(f"CREATE TABLE bench_{code} ({columns})")
            cursor.execute(f"CREATE INDEX bench_{code}_person ON bench_{code} (person_key)")
            cursor.execute(f"CREATE INDEX bench_{code}_id ON bench_{code} (id_number)")
            if path is None:
                continue
            casts = ", ".join(
                f"CAST({name} AS VARCHAR)" if kind in ("date", "decimal(18,2)") and not postgres else name
                for name, kind in schema.items()
            )
            table: pa.Table = con.sql(
                f"SELECT {casts} FROM read_parquet('{path}') WHERE person_key IN (SELECT person_key FROM sample_in)"
                " OR (person_key IS NULL AND id_number IN (SELECT id_number FROM sample_in))"
            ).to_arrow_table()
            rows = list(zip(*[c.to_pylist() for c in table.columns], strict=True))
            marks = ", ".join(["%s"] * len(schema))
            cursor.executemany(f"INSERT INTO bench_{code} ({', '.join(schema)}) VALUES ({marks})", rows)
            total += len(rows)
    con.close()
    return total


# ---------------------------------------------------------------------------------------------------- the scale


def build_scale(scratch: Path, members_file: Path, households: int, seed: int, as_of, city: str, city_name: str):
    """Tile the registry's members to `households` households in DuckDB, generate their departmental rows with the
    demo generator and write them as snapshots in the importer's layout. Returns (snapshots, persons, rows)."""
    import duckdb

    from minzheng.demo.checks import Generation
    from minzheng.exchange.importer import ROW_GROUP_SIZE
    from minzheng.exchange.sources import SOURCES, source_schema

    folder = scratch / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    probe = duckdb.connect()
    base = probe.execute(
        f"SELECT count(DISTINCT household_key), max(household_key), max(person_key) FROM read_parquet('{members_file}')"
    ).fetchall()[0]
    probe.close()
    per_copy, max_household, max_person = base
    copies = math.ceil(households / per_copy)
    members_sql = f"""
        WITH m AS (SELECT *, dense_rank() OVER (ORDER BY household_key) - 1 AS h_rank
                   FROM read_parquet('{members_file}'))
        SELECT household_key + c.i * {max_household + 1} AS household_key,
               person_key + c.i * {max_person + 1} AS person_key,
               CASE WHEN c.i = 0 THEN id_number ELSE c.i || '-' || id_number END AS id_number,
               county, area_type, birth_date, disability_category, disability_grade, self_care, deceased_on
        FROM m, range({copies}) c(i)
        WHERE c.i * {per_copy} + m.h_rank < {households}
    """
    config = {"memory_limit": "10GB", "temp_directory": str(scratch / "duckdb-tmp"), "preserve_insertion_order": False}
    generation = Generation(
        members_sql,
        seed=seed,
        as_of=as_of,
        ref=as_of,
        city=city,
        city_name=city_name,
        database=str(scratch / "scale.duckdb"),
        config=config,
    )
    con = generation.con
    try:
        con.execute(f"COPY members_in TO '{folder / 'members.parquet'}' (FORMAT parquet)")
        persons = con.execute("SELECT count(*) FROM members_in").fetchall()[0][0]
        snapshots, total = {}, 0
        types = {"int64": "BIGINT", "int32": "INTEGER", "string": "VARCHAR", "date": "DATE"}
        types["decimal(18,2)"] = "DECIMAL(18,2)"
        for number, code in enumerate(SOURCES, start=1):
            schema = source_schema(code)
            fields = [name for name in schema if name not in ("snapshot_id", "row_no", "person_key", "id_number")]
            typed = ", ".join(f"CAST({name} AS {types[schema[name]]}) AS {name}" for name in fields)
            path = folder / f"{code}.parquet"
            # About 1 % of people per source also appear under a number the registry does not know (NULL key).
            con.execute(
                f"""
                COPY (
                    SELECT CAST({number} AS BIGINT) AS snapshot_id, CAST(row_number() OVER () AS INTEGER) AS row_no,
                           person_key, id_number{", " + typed if typed else ""}
                    FROM (
                        SELECT person_key, id_number{", " + ", ".join(fields) if fields else ""} FROM src_{code}
                        UNION ALL
                        SELECT NULL, 'X' || id_number{", " + ", ".join(fields) if fields else ""} FROM src_{code}
                        WHERE u(id_number, 'unmatched.{code}') < getvariable('unmatched_share')
                    )
                    ORDER BY person_key NULLS LAST
                ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})
                """
            )
            total += con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
            snapshots[code] = path
        # The investigation's part, as in the demo: no supporter for childless elderly, a tenth of households
        # authorised (an authorisation per household, signed by every member).
        con.execute(
            f"""
            COPY (SELECT household_key, person_key, 'no_supporter' AS kind, '' AS item, CAST(0 AS BIGINT) AS cents
                  FROM people WHERE no_supporter) TO '{folder / "declarations.parquet"}' (FORMAT parquet);
            COPY (SELECT household_key AS authorisation_id, household_key, DATE '{as_of}' - 30 AS signed_on,
                         DATE '{as_of}' + 300 AS valid_until, true AS all_categories
                  FROM hh WHERE sampled) TO '{folder / "authorisations.parquet"}' (FORMAT parquet);
            COPY (SELECT b.household_key AS authorisation_id, b.person_key FROM base b JOIN hh h USING (household_key)
                  WHERE h.sampled) TO '{folder / "authorised_persons.parquet"}' (FORMAT parquet);
            """
        )
    finally:
        generation.close()
    (scratch / "scale.duckdb").unlink(missing_ok=True)
    shutil.rmtree(scratch / "duckdb-tmp", ignore_errors=True)
    return folder, snapshots, persons, total


# --------------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--scale-households", type=int, default=10_000_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--sample", type=int, default=10_000, help="households checked by the baseline")
    parser.add_argument("--window", type=int, default=200, help="window checks timed")
    parser.add_argument("--runs", type=int, default=3, help="batch runs (the median is reported)")
    parser.add_argument("--scale-runs", type=int, default=1)
    parser.add_argument("--prefix", default="1307")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print DuckDB's per-operator profile of the batch")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the batch runs (e.g. 6GB)")
    parser.add_argument(
        "--scale-memory-limit", default="6GB", help="DuckDB memory_limit for the scale run (it spills beyond); 6GB"
    )
    parser.add_argument(
        "--chunk-households",
        type=int,
        default=None,
        help="households per engine chunk (default: the CHECKS_BATCH_CHUNK_HOUSEHOLDS setting the batch runs use)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and files (path printed)")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: also the same batch on Spark (--spark-master), printed beside DuckDB's",
    )
    parser.add_argument("--spark-master", default="local[2]", help="Spark master of the --engine spark run; local[2]")
    parser.add_argument("--spark-memory", default="8g", help="Spark driver memory (local mode: all of Spark's); 8g")
    parser.add_argument("--engine-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spark-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floors", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_run:
        engine_run(args.engine_run, args.runs, args.profile, args.memory_limit, args.chunk_households, args.floors)
        return
    if args.spark_run:
        spark_run(args.spark_run, args.runs, args.spark_master)
        return

    from scratch import in_scratch_database

    in_scratch_database("checks", lambda scratch: run(args, scratch), keep=args.keep)


def run(args, scratch: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.db import connection
    from django.utils import timezone

    from minzheng.accounts.models import User
    from minzheng.checks import inputs, services
    from minzheng.checks.models import Authorisation
    from minzheng.demo import checks as demo
    from minzheng.demo.parameters import city_code
    from minzheng.demo.population import generate_population
    from minzheng.exchange.files import snapshot_path
    from minzheng.exchange.models import Snapshot
    from minzheng.exchange.selectors import snapshots_in_force
    from minzheng.regions.importer import import_regions
    from minzheng.regions.models import Region

    cpus = os.cpu_count()
    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {cpus} CPUs")
    regions = import_regions(args.prefix)
    print(f"regions {args.prefix}: {regions.rows_read} imported in {regions.seconds:.1f} s")
    city = city_code(args.prefix)
    as_of = timezone.localdate()

    t = time.perf_counter()
    population = generate_population(args.prefix, args.households, args.seed)
    print(
        f"generate_population: {population.households:,} households, {population.persons:,} persons"
        f" in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    data = demo.generate_check_data(
        args.prefix, as_of=as_of, seed=args.seed, file_format="parquet", out_dir=scratch / "incoming"
    )
    rows = sum(s.rows_valid for s in data.sources)
    print(
        f"generate_check_data: {rows:,} departmental rows in {len(data.sources)} sources, generated, written and"
        f" imported in {time.perf_counter() - t:.1f} s ({data.seconds}); {data.authorisations:,} authorisations"
    )
    shares = data.shares
    print("  verdicts: " + ", ".join(f"{k} {v:,} ({v / shares['households']:.1%})" for k, v in shares.items()))

    # --- batch
    t = time.perf_counter()
    members = inputs.members(region_code=city)
    export = time.perf_counter() - t
    counties = sorted(set(members.column("county").to_pylist()))
    auths, auth_persons = inputs.authorisations(city)
    params, item_rules, _ = inputs.parameters(counties, as_of)
    tables = {
        "members": members,
        "declarations": inputs.declarations(city, as_of),
        "authorisations": auths,
        "authorised_persons": auth_persons,
        "item_rules": item_rules,
        "params": params,
    }
    snapshots = {code: (snapshot_path(s) if s else None) for code, s in snapshots_in_force(city, as_of).items()}
    batch_dir = scratch / "batch"
    t = time.perf_counter()
    write_inputs(batch_dir, tables, snapshots)
    written = time.perf_counter() - t
    in_force = [s.pk for s in snapshots_in_force(city, as_of).values() if s]
    stored = sum(Snapshot.objects.filter(pk__in=in_force).values_list("rows_valid", flat=True))
    print(
        f"members export from the registry: {members.num_rows:,} rows in {export:.2f} s"
        f" (+ {written:.2f} s to write the inputs as Parquet)"
    )
    batch = run_child(batch_dir, args.runs, args.profile, args.memory_limit, args.chunk_households, floors=True)
    median = statistics.median(batch["seconds"])
    households = batch["households"]
    print(
        f"batch: {households:,} households, {members.num_rows:,} persons, {stored:,} departmental rows:"
        f" median {median:.2f} s of {args.runs} ({', '.join(f'{s:.2f}' for s in batch['seconds'])});"
        f" {households / median:,.0f} households/s; peak RSS {batch['max_rss_kib'] / 1024**2:.2f} GiB"
    )
    floors = batch["floors"]
    print(
        f"batch floors (same inputs, medians of {args.runs}): reading every snapshot grouped by person"
        f" {floors['reading_seconds']:.2f} s; the rules with every snapshot empty {floors['rules_only_seconds']:.2f} s"
    )
    if args.profile:
        print_profile(batch["profile"])
    if args.engine == "spark":
        print_spark(
            batch_dir, run_spark_child(batch_dir, args.runs, args.spark_master, args.spark_memory), median, args
        )

    # --- baseline
    rng = random.Random(args.seed)
    all_households = sorted(set(members.column("household_key").to_pylist()))
    sample = sorted(rng.sample(all_households, min(args.sample, len(all_households))))
    mask = pc.is_in(members.column("household_key"), value_set=pa.array(sample, pa.int64()))
    sample_persons = members.filter(mask).select(["person_key", "id_number"])
    t = time.perf_counter()
    loaded = load_sample_rows(sample_persons, snapshots)
    print(
        f"baseline tables: {loaded:,} departmental rows of the {len(sample):,}-household sample loaded in {time.perf_counter() - t:.1f} s"
    )
    baseline = Baseline(params, item_rules)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        naive = [baseline.check(hid, as_of, cursor) for hid in sample]
    elapsed = time.perf_counter() - t
    per_household = elapsed / len(sample)
    extrapolated = per_household * households
    verdicts = {r["household_key"]: r for r in pq.read_table(batch_dir / "verdicts.parquet").to_pylist()}
    keys = ("dibao", "edge", "tekun", "tekun_pending", "rigid", "dibao_amount", "counted")
    agree = sum(all(verdicts[r["household_key"]][k] == r[k] for k in keys) for r in naive)
    print(
        f"baseline (ORM members + one SQL query per source + Decimal rules, household by household):"
        f" {len(sample):,} households in {elapsed:.1f} s, {per_household * 1000:.2f} ms per household;"
        f" verdicts and amounts agree with the engine for {agree:,} of {len(sample):,}"
    )
    print(
        f"baseline extrapolated to {households:,} households: {extrapolated:,.0f} s ({extrapolated / 3600:.1f} h);"
        f" engine speed-up {extrapolated / median:,.0f}x"
    )
    mismatched = [r for r in naive if not all(verdicts[r["household_key"]][k] == r[k] for k in keys)][:3]
    for r in mismatched:
        e = verdicts[r["household_key"]]
        print(
            f"  differs: household {r['household_key']}: baseline {[r[k] for k in keys]} engine {[e[k] for k in keys]}"
        )

    # --- window
    user = User.objects.create(username="bench_checker", role="county_approver", region_id=city)
    authorised = sorted(Authorisation.objects.values_list("household_id", flat=True).distinct())
    picks = rng.sample(authorised, min(args.window, len(authorised)))
    services.check_household(picks[0], user=user, as_of=as_of)  # warm-up: compiled SQL, imports
    times = []
    for hid in picks:
        t = time.perf_counter()
        services.check_household(hid, user=user, as_of=as_of)
        times.append(time.perf_counter() - t)
    cuts = statistics.quantiles(times, n=100)
    print(
        f"window (check_household: authorisation, read, rules, stored result): {len(times)} households,"
        f" p50 {statistics.median(times) * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
    )

    # --- scale
    if args.skip_scale:
        return
    t = time.perf_counter()
    folder, scale_snapshots, persons, scale_rows = build_scale(
        scratch,
        batch_dir / "members.parquet",
        args.scale_households,
        args.seed,
        as_of,
        city,
        Region.objects.get(code=city).name,
    )
    print(
        f"scale data: {args.scale_households:,} households, {persons:,} persons, {scale_rows:,} departmental rows"
        f" generated in DuckDB and written as snapshots in {time.perf_counter() - t:.0f} s"
    )
    shutil.copy(batch_dir / "params.parquet", folder / "params.parquet")
    shutil.copy(batch_dir / "item_rules.parquet", folder / "item_rules.parquet")
    (folder / "snapshots.json").write_text(json.dumps({k: str(v) for k, v in scale_snapshots.items()}))
    scale = run_child(folder, args.scale_runs, args.profile, args.scale_memory_limit, args.chunk_households)
    seconds = statistics.median(scale["seconds"])
    print(
        f"scale batch: {scale['households']:,} households in {seconds:.1f} s"
        f" ({', '.join(f'{s:.1f}' for s in scale['seconds'])}; inputs loaded in {scale['load_seconds']:.1f} s,"
        f" rules compiled in {scale['compile_seconds']:.1f} s before);"
        f" {scale['households'] / seconds:,.0f} households/s; peak RSS {scale['max_rss_kib'] / 1024**2:.2f} GiB"
        f" on {cpus} CPUs (DuckDB memory_limit {args.scale_memory_limit})"
    )
    if args.profile:
        print_profile(scale["profile"])


if __name__ == "__main__":
    main()

"""Benchmark of the monitoring sweep (issue 5 §5): every rule over a region's monitored population and a night's new
signals in one pass, against a per-person baseline.

    .venv/bin/python benchmarks/monitoring.py [--people 10000000] [--signals 1000000] [--sample 10000] [--runs 3]
    .venv/bin/python benchmarks/monitoring.py --people 200000 --signals 20000          # smoke, a minute
    .venv/bin/python benchmarks/monitoring.py --profile                                # + time per rule stage

Works in a scratch directory and a scratch SQLite database of its own (created, migrated and dropped here): the
demo database is never touched. The divisions of 张家口 (1307) and the demo parameters are loaded (medical costs:
20,000 yuan or half the yearly income; no disaster threshold; three rules make a household complex).

data — generated directly in DuckDB (in a child process) as the engine's inputs, in Parquet: `--people` people in
    households of 1–6 (2.6 on average) spread over the prefecture's 4,582 villages, about 6 % with a disability
    grade; the register (5 % of households 低保, 1 % 特困, 3 % 低保边缘, 1 % 刚性支出困难, 2 % 防返贫), the latest
    check's income of the register households, batch re-check changes for 1 % of them, earlier warnings for 0.5 %
    of all households; and `--signals` new signal rows as seven snapshot files in the importer's layout
    (snapshot_id, row_no, person_key, id_number, the feed's fields), split medical 45 %, employment 20 %, student
    12 %, anti_poverty 8 %, disability, civil_status and disaster 5 % each, about 1 % naming people the registry
    does not know and 0.5 % matched late by identity number.
engine — `SweepRunner` bind + run (the compiled rule stages over DuckDB, the warnings read back as Arrow, the
    sweep's counts) and the 防返贫 register changes, median of `--runs`, in a child process so its peak RSS
    (VmHWM) is its own.
store — `services._store_alerts` of the engine's warnings on a real `Sweep` row (texts, working-day deadlines, the
    batched insert, the audit entry) in the scratch SQLite database. The generated households exist only in Parquet, so
    SQLite's foreign-key enforcement is switched off for this insert (everything else is what a sweep does); the
    sweep's warnings are deleted afterwards and the enforcement switched back on, so that the baseline sees only the
    earlier warnings.
baseline — what a service written person by person through the Django ORM would do, for the households of a random
    `--sample` of people. Their rows are first put into the real models (bulk_create, the Parquet keys as primary
    keys, made-up names and birth dates; identity numbers as generated, not checksum-valid): `Person`, `Household`,
    `Membership`, the register as `MonitoredEntry`, the earlier warnings as `Alert`, the re-check changes as
    `CheckResult`s of finished batch `CheckRun`s (one per check date, without authorisation) and the income as each
    household's authorised `CheckResult` (with its `Authorisation`). Signals have no model (they live in Parquet
    snapshots): the sample's signals go into a table indexed on person key and identity number. Then, household by
    household: its current memberships with their people (select_related); per person their open register entries
    and one SQL query for their signals; per household the latest authorised check's income, the batch re-check
    changes and the earlier warnings; the same rules in Python. Its warnings are compared with the engine's for the
    same households, and its time per person is extrapolated linearly to `--people` (which flatters it: its tables
    hold only the sample's rows).

Nothing is asserted: the figures are printed, with the machine's load average (other work on the machine skews them).
"""

import argparse
import datetime
import json
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
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")

GIB = 1024**3
FEED_SHARES = {
    "medical": 0.45,
    "employment": 0.20,
    "student": 0.12,
    "anti_poverty": 0.08,
    "disability": 0.05,
    "civil_status": 0.05,
    "disaster": 0.05,
}
SNAPSHOT_IDS = {feed: i for i, feed in enumerate(FEED_SHARES, start=1)}
INPUT_FILES = ("members", "register", "income", "check_changes", "existing")


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM; ru_maxrss survives execve, so a child would report its parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


# ------------------------------------------------------------------------------------------------------- the data


def generate(directory: Path, people: int, signals: int, seed: int, as_of: datetime.date, villages: list[str]) -> dict:
    """Child process: write the engine's inputs and the signal snapshots as Parquet; print one JSON line."""
    import duckdb

    from minzheng.exchange.sources import ALL_SOURCES

    started = time.perf_counter()
    con = duckdb.connect(
        config={
            "memory_limit": "8GB",
            "temp_directory": str(directory / "duckdb-tmp"),
            "preserve_insertion_order": False,
        }
    )
    con.execute(f"SET VARIABLE seed = {int(seed)}")
    con.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
    con.execute(
        "CREATE MACRO u(k, tag) AS (CAST(hash(k, tag, getvariable('seed')) % 1000000 AS DOUBLE) + 0.5) / 1e6;"
        "CREATE MACRO pick(items, k, tag) AS items[1 + CAST(hash(k, tag, getvariable('seed')) % len(items) AS INTEGER)];"
        "CREATE MACRO back(k, tag, lo, hi) AS"
        " CAST(getvariable('as_of') - CAST(lo + floor(u(k, tag) * (hi - lo)) AS INTEGER) AS DATE);"
        "CREATE MACRO idn(p) AS '1307' || lpad(CAST(p AS VARCHAR), 14, '0');"
    )
    con.execute(f"CREATE TABLE villages AS SELECT unnest({villages!r}) AS village")
    n_villages = len(villages)
    households = int(people / 2.6 * 1.05) + 10
    out = directory
    con.execute(
        f"""
        CREATE TABLE hh AS
        SELECT household_key, size, v.village, CAST(substr(v.village, 1, 6) AS BIGINT) AS county,
               CAST(sum(size) OVER (ORDER BY household_key) - size AS BIGINT) AS first_person
        FROM (
            SELECT h AS household_key,
                   CASE WHEN u(h, 'size') < 0.22 THEN 1 WHEN u(h, 'size') < 0.52 THEN 2 WHEN u(h, 'size') < 0.77 THEN 3
                        WHEN u(h, 'size') < 0.90 THEN 4 WHEN u(h, 'size') < 0.97 THEN 5 ELSE 6 END AS size,
                   CAST(hash(h, 'village', getvariable('seed')) % {n_villages} AS BIGINT) AS vi
            FROM range(1, {households}) t(h)
        ) JOIN (SELECT village, row_number() OVER (ORDER BY village) - 1 AS vi FROM villages) v USING (vi);
        DELETE FROM hh WHERE first_person >= {people};
        CREATE TABLE members AS
        SELECT h.household_key, h.first_person + i AS person_key, idn(h.first_person + i) AS id_number, h.county,
               CASE WHEN u(h.first_person + i, 'dis') < 0.06
                    THEN CAST(1 + hash(h.first_person + i, 'grade', getvariable('seed')) % 4 AS BIGINT) END
                   AS disability_grade
        FROM hh h, range(0, 6) r(i) WHERE i < h.size AND h.first_person + i < {people};
        COPY members TO '{out / "members.parquet"}' (FORMAT parquet, ROW_GROUP_SIZE 122880);
        COPY (SELECT household_key, village FROM hh) TO '{out / "households.parquet"}' (FORMAT parquet);

        CREATE TABLE cat AS
        SELECT household_key, first_person, CASE WHEN u(household_key, 'cat') < 0.05 THEN 'dibao'
            WHEN u(household_key, 'cat') < 0.06 THEN 'tekun' WHEN u(household_key, 'cat') < 0.09 THEN 'edge'
            WHEN u(household_key, 'cat') < 0.10 THEN 'rigid' WHEN u(household_key, 'cat') < 0.12 THEN 'anti_poverty'
            END AS category
        FROM hh;
        COPY (
            SELECT m.household_key, m.person_key, c.category FROM members m JOIN cat c USING (household_key)
            WHERE c.category IS NOT NULL AND (c.category <> 'tekun' OR m.person_key = c.first_person)
        ) TO '{out / "register.parquet"}' (FORMAT parquet);
        COPY (
            SELECT household_key, CAST(30000 + floor(u(household_key, 'income') * 400000) AS BIGINT) AS monthly_cents
            FROM cat WHERE category IN ('dibao', 'edge', 'rigid', 'anti_poverty')
        ) TO '{out / "income.parquet"}' (FORMAT parquet);
        COPY (
            SELECT household_key, household_key AS result_id,
                   pick(['increase', 'decrease', 'stop'], household_key, 'change') AS change,
                   u(household_key, 'verdict') < 0.5 AS verdict_dibao, back(household_key, 'checked', 5, 25) AS checked_on
            FROM cat WHERE category IS NOT NULL AND u(household_key, 'changed') < 0.01
        ) TO '{out / "check_changes.parquet"}' (FORMAT parquet);
        COPY (
            SELECT household_key, pick(['medical_high', 'disaster', 'unemployed', 'student_aid', 'anti_poverty',
                                        'death_member', 'disability_new'], household_key, 'old_rule') AS rule,
                   'old:' || household_key AS signal_key, u(household_key, 'old_open') < 0.7 AS open,
                   back(household_key, 'old_on', 30, 400) AS raised_on
            FROM hh WHERE u(household_key, 'old') < 0.005
        ) TO '{out / "existing.parquet"}' (FORMAT parquet);
        """
    )
    persons = con.execute("SELECT count(*) FROM members").fetchall()[0][0]
    fields = {
        "medical": """back(k, 'on', 1, 360) AS settled_on,
            CAST(round(oop / 0.4, 2) AS DECIMAL(18,2)) AS total_cost,
            CAST(round(oop / 0.4, 2) - round(oop, 2) AS DECIMAL(18,2)) AS fund_paid,
            CAST(round(oop, 2) AS DECIMAL(18,2)) AS out_of_pocket""",
        "disability": """idn(p) || CAST(1 + hash(k, 'cat') % 7 AS VARCHAR) AS certificate_no,
            pick(['visual', 'hearing', 'speech', 'physical', 'intellectual', 'mental', 'multiple'], k, 'cat') AS category,
            CAST(1 + hash(k, 'grade') % 4 AS VARCHAR) AS grade, back(k, 'on', 1, 30) AS issued_on""",
        "civil_status": """CASE WHEN u(k, 'ev') < 0.6 THEN 'death' WHEN u(k, 'ev') < 0.85 THEN 'move_out'
                 ELSE pick(['imprisoned', 'drug_rehab', 'missing'], k, 'ev2') END AS event,
            back(k, 'on', 1, 30) AS event_on""",
        "employment": """CASE WHEN u(k, 'st') < 0.4 THEN 'unemployed' WHEN u(k, 'st') < 0.85 THEN 'employed' ELSE 'ended'
                 END AS status, back(k, 'on', 1, 30) AS registered_on,
            CASE WHEN u(k, 'st') BETWEEN 0.4 AND 0.85 THEN '张家口某有限公司' END AS employer""",
        "student": """CASE WHEN u(k, 'st') < 0.6 THEN 'aid' ELSE 'dropout' END AS status,
            pick(['primary', 'junior', 'senior', 'college'], k, 'stage') AS stage, back(k, 'on', 1, 30) AS event_on,
            '某中学' AS school""",
        "disaster": """pick(['flood', 'hail', 'snow', 'drought'], k, 'kind') AS disaster, back(k, 'on', 1, 30) AS occurred_on,
            CAST(round(500 + u(k, 'loss') * 30000, 2) AS DECIMAL(18,2)) AS loss,
            pick(['none', 'none', 'damaged', 'collapsed'], k, 'house') AS house_damage""",
        "anti_poverty": """CASE WHEN u(k, 'st') < 0.85 THEN 'identified' ELSE 'eliminated' END AS status,
            pick(['illness', 'disability', 'education', 'employment', 'disaster', 'other'], k, 'risk') AS risk,
            back(k, 'on', 1, 30) AS event_on""",
    }
    files, rows = {}, 0
    for feed, share in FEED_SHARES.items():
        n = max(1, round(signals * share))
        sid = SNAPSHOT_IDS[feed]
        spec = ALL_SOURCES[feed]
        typed = ", ".join(f"CAST({f.name} AS {f.sql_type}) AS {f.name}" for f in spec.fields if f.name != "id_number")
        path = out / f"{feed}.parquet"
        con.execute(
            f"""
            COPY (
                SELECT CAST({sid} AS BIGINT) AS snapshot_id, CAST(k AS INTEGER) AS row_no,
                       CASE WHEN kind = 'known' THEN p END AS person_key,
                       CASE WHEN kind = 'unknown' THEN 'X' || idn(p) ELSE idn(p) END AS id_number, {typed}
                FROM (
                    SELECT k, p, kind, {fields[feed]} FROM (
                        SELECT k, CAST(hash(k, '{feed}', getvariable('seed')) % {persons} AS BIGINT) AS p,
                               CASE WHEN u(k, '{feed}.who') < 0.01 THEN 'unknown'
                                    WHEN u(k, '{feed}.who') < 0.015 THEN 'late' ELSE 'known' END AS kind,
                               CASE WHEN u(k, '{feed}.big') < 0.02 THEN 15000 + 40000 * u(k, '{feed}.oop')
                                    ELSE 50 + 3000 * u(k, '{feed}.oop') END AS oop
                        FROM range(1, {n + 1}) t(k)
                    )
                )
                ORDER BY person_key NULLS LAST
            ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)
            """
        )
        files[feed] = str(path)
        rows += n
    con.close()
    shutil.rmtree(directory / "duckdb-tmp", ignore_errors=True)
    return {"persons": persons, "signals": rows, "files": files, "seconds": time.perf_counter() - started}


# ----------------------------------------------------------------------------------------------------- the engine


def engine_run(directory: Path, runs: int, profile: bool, memory_limit: str | None) -> None:
    """Child process: bind and run the sweep `runs` times; write the warnings; print one JSON line."""
    import pyarrow.parquet as pq

    django.setup()
    from minzheng.monitoring import rules
    from minzheng.monitoring.engine import SignalFile, SweepInputs, SweepRunner

    spec = json.loads((directory / "spec.json").read_text())
    t = time.perf_counter()
    rules.compiled("duckdb")  # once per process (a worker keeps it): not part of a run
    compile_seconds = time.perf_counter() - t
    params = pq.read_table(directory / "params.parquet")
    inputs = SweepInputs(
        **{name: directory / f"{name}.parquet" for name in INPUT_FILES},
        params=params,
        signal_files=[SignalFile(feed, SNAPSHOT_IDS[feed], Path(path)) for feed, path in spec["files"].items()],
    )
    seconds, out, stats = [], None, {}
    for _ in range(runs):
        t = time.perf_counter()
        runner = SweepRunner(memory_limit=memory_limit)
        try:
            runner.bind(inputs)
            result = runner.run()
            anti = runner.anti_poverty_changes()
        finally:
            runner.close()
        seconds.append(time.perf_counter() - t)
        out, stats = result.warnings, result.stats
    pq.write_table(out, directory / "warnings.parquet")
    report = {
        "compile_seconds": compile_seconds,
        "seconds": seconds,
        "stats": stats,
        "anti_poverty_changes": anti.num_rows,
        "max_rss_kib": peak_rss_kib(),
    }
    if profile:
        report["stages"] = stage_times(inputs, memory_limit)
    print(json.dumps(report, default=str))


def stage_times(inputs, memory_limit: str | None) -> list[tuple[str, float, int]]:
    """Each stage materialised on its own (so the time of each is visible; the real run pipelines the views)."""
    from minzheng.monitoring import rules
    from minzheng.monitoring.engine import SweepRunner

    runner = SweepRunner(memory_limit=memory_limit)
    out = []
    try:
        t = time.perf_counter()
        runner.bind(inputs)
        runner.con.execute("CREATE TEMP TABLE signals_t AS SELECT * FROM signals")
        out.append(
            (
                "signals (read 7 snapshots)",
                time.perf_counter() - t,
                runner.con.execute("SELECT count(*) FROM signals_t").fetchall()[0][0],
            )
        )
        for name in ("members", "register", "existing"):
            t = time.perf_counter()
            runner.con.execute(f"CREATE TEMP TABLE {name}_t AS SELECT * FROM {name}")
            out.append(
                (
                    f"{name} (read Parquet)",
                    time.perf_counter() - t,
                    runner.con.execute(f"SELECT count(*) FROM {name}_t").fetchall()[0][0],
                )
            )
        sql = rules.compiled("duckdb")
        for stage in rules.STAGES:
            t = time.perf_counter()
            runner.con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {sql[stage]}")
            count = runner.con.execute(f"SELECT count(*) FROM {stage}").fetchall()[0][0]
            out.append((stage, time.perf_counter() - t, count))
    finally:
        runner.close()
    return out


def run_child(*args: str, cwd: Path) -> dict:
    command = [sys.executable, __file__, *args]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), cwd=cwd)
    if done.returncode:
        raise SystemExit(f"child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------- the baseline


class Baseline:
    """The rules of `monitoring/rules.py` for one household at a time, in Python, read through the Django ORM as a
    service written person by person would read them (the signals, which have no model, by one SQL query a person)."""

    SIGNALS_SQL = (
        "SELECT feed, snapshot_id, row_no, code, event_on, cents, extra FROM bench_signals"
        " WHERE person_key = %s OR (person_key IS NULL AND id_number = %s)"
    )

    def __init__(self, params: list[dict]):
        self.params = {p["county"]: p for p in params}

    def household(self, cursor, household_key: int) -> set[tuple[str, str, str]]:
        from minzheng.checks.models import CheckResult, CheckRun
        from minzheng.monitoring.models import Alert, MonitoredEntry
        from minzheng.registry.models import Membership

        members = list(
            Membership.objects.filter(household_id=household_key, left_on__isnull=True).select_related("person")
        )
        categories, signals = set(), []
        for membership in members:
            person = membership.person
            categories |= {e.category for e in MonitoredEntry.objects.filter(person_id=person.pk, end_on__isnull=True)}
            cursor.execute(self.SIGNALS_SQL, [person.pk, person.id_number])
            signals += [(person.pk, person.disability_grade, *row) for row in cursor.fetchall()]
        income = (
            CheckResult.objects.filter(
                household_id=household_key, run__status=CheckRun.Status.COMPLETE, authorisation__isnull=False
            )
            .exclude(change=CheckResult.Change.NOT_CHECKED)
            .order_by("-id")
            .values_list("counted_income", flat=True)
            .first()
        )
        changes = list(
            CheckResult.objects.filter(
                household_id=household_key,
                run__kind=CheckRun.Kind.BATCH,
                run__status=CheckRun.Status.COMPLETE,
                change__in=[CheckResult.Change.INCREASE, CheckResult.Change.DECREASE, CheckResult.Change.STOP],
            ).values_list("id", "change", "dibao", "run__as_of")
        )
        existing = [
            (a["rule"], a["signal_key"], a["status"] != Alert.Status.CLOSED, a["raised_on"])
            for a in Alert.objects.filter(household_id=household_key).values(
                "rule", "signal_key", "status", "raised_on"
            )
        ]
        county = max(int(m.person.region_id[:6]) for m in members)
        monthly = None if income is None else int((income * 100).to_integral_value())
        return self.rules(self.params[county], categories, signals, monthly, changes, existing)

    def rules(self, p, categories, signals, monthly, changes, existing) -> set[tuple[str, str, str]]:
        dibao, tekun = "dibao" in categories, "tekun" in categories
        edge, rigid, anti = "edge" in categories, "rigid" in categories, "anti_poverty" in categories
        recipient = dibao or tekun
        monitored = recipient or edge or rigid or anti
        on = set(p["enabled"].strip(",").split(","))
        cands = []  # (rule, signal_key, outcome, signal_on, row_no)

        def add(rule, key, outcome, day, row_no):
            cands.append((rule, key, outcome, day, row_no))

        medical = []
        for person, grade, feed, snapshot, row_no, code, day, cents, _extra in signals:
            day = _day(day)
            if feed == "civil_status":
                if code == "death" and monitored and "death_member" in on:
                    add("death_member", f"death:{person}", "stop", day, row_no)
                moved = code in ("move_out", "imprisoned", "drug_rehab", "missing")
                if moved and recipient and "registration_change" in on:
                    add("registration_change", f"registration:{person}:{code}:{day}", "stop", day, row_no)
            elif feed == "employment":
                if code == "employed" and dibao and "employed" in on:
                    add("employed", f"employed:{person}:{day}", "stop", day, row_no)
                if code == "unemployed" and monitored and "unemployed" in on:
                    add("unemployed", f"unemployed:{person}:{day}", "apply", day, row_no)
            elif feed == "disability" and "disability_new" in on:
                g = int(code)
                if (grade is None or g < grade) and (g <= 2 or monitored):
                    add("disability_new", f"disability:{person}:{code}", "apply", day, row_no)
            elif feed == "student":
                if code == "dropout" and "dropout" in on:
                    add("dropout", f"dropout:{person}:{day}", "apply" if monitored else "enrol", day, row_no)
                if code == "aid" and not monitored and "student_aid" in on:
                    add("student_aid", f"student_aid:{person}:{day}", "enrol", day, row_no)
            elif feed == "disaster" and "disaster" in on:
                if p["disaster_cents"] is None or cents >= p["disaster_cents"]:
                    add("disaster", f"disaster:{person}:{day}", "apply" if monitored else "enrol", day, row_no)
            elif feed == "anti_poverty":
                if code == "identified" and not recipient and "anti_poverty" in on:
                    add("anti_poverty", f"anti_poverty:{person}:{day}", "enrol", day, row_no)
            elif feed == "medical" and p["medical_from"] <= day <= p["as_of"] and "medical_high" in on:
                medical.append((snapshot, row_no, day, cents))
        if medical:
            warned = any(r == "medical_high" and d >= p["medical_from"] for r, _k, _o, d in existing)
            total = sum(m[3] for m in medical)
            over_amount = p["medical_cents"] is not None and total >= p["medical_cents"]
            over_share = (
                p["medical_num"] is not None
                and monthly is not None
                and total * p["medical_den"] >= monthly * 12 * p["medical_num"]
            )
            if not warned and (over_amount or over_share):
                snapshot = max(m[0] for m in medical)
                add(
                    "medical_high",
                    f"medical:{snapshot}",
                    "apply" if recipient else "enrol",
                    max(m[2] for m in medical),
                    max(m[1] for m in medical),
                )
        if categories and "recheck_change" in on:
            for result_id, change, verdict, checked_on in changes:
                outcome = None
                if change == "increase" and recipient:
                    outcome = "apply"
                elif change in ("stop", "decrease") and recipient:
                    outcome = "stop"
                elif not recipient and (edge or rigid) and verdict:
                    outcome = "enrol"
                if outcome:
                    add("recheck_change", f"check:{result_id}", outcome, _day(checked_on), result_id)
        seen = {(r, k) for r, k, _o, _d in existing}
        busy = {r for r, _k, o, _d in existing if o}
        best = {}
        for rule, key, outcome, day, row_no in cands:
            if (rule, key) in seen or rule in busy:
                continue
            if rule not in best or (day, key, row_no) < best[rule][:3]:
                best[rule] = (day, key, row_no, outcome)
        open_rules = set(best) | busy
        complex_ = len(open_rules) >= p["complex_count"]
        return {(rule, b[1], "complex" if complex_ else b[3]) for rule, b in best.items()}


def _day(value):
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超")
PREFECTURE = "130700000000"


def load_sample(directory: Path, files: dict, sample_households: list[int], as_of: datetime.date) -> dict[str, int]:
    """The sample's households into the real models of the scratch database (bulk_create, the Parquet keys as
    primary keys so both sides name the same households and people) and its signals into an indexed table (signals
    have no model: they live in Parquet snapshots). Returns the row counts."""
    import decimal

    import duckdb
    import pyarrow as pa
    from django.db import connection, transaction

    from minzheng.checks.models import Authorisation, CheckResult, CheckRun
    from minzheng.monitoring import rules
    from minzheng.monitoring.engine import SignalFile, signals_sql
    from minzheng.monitoring.models import Alert, EntrySource, MonitoredEntry, Outcome
    from minzheng.registry.codes import AreaType, DisabilityCategory, Relationship, Sex
    from minzheng.registry.models import Household, Membership, Person

    con = duckdb.connect()
    con.register("sample", pa.table({"household_key": pa.array(sample_households, pa.int64())}))
    d = {name: _lit(directory / f"{name}.parquet") for name in (*INPUT_FILES, "households")}

    def read(name: str, columns: str) -> list[tuple]:
        return con.execute(
            f"SELECT {columns} FROM read_parquet({d[name]}) SEMI JOIN sample USING (household_key) ORDER BY ALL"
        ).fetchall()

    village = dict(read("households", "household_key, village"))
    members = read("members", "household_key, person_key, id_number, disability_grade")
    register = read("register", "household_key, person_key, category")
    income = read("income", "household_key, monthly_cents")
    changes = read("check_changes", "household_key, result_id, change, verdict_dibao, checked_on")
    existing = read("existing", "household_key, rule, signal_key, open, raised_on")

    people, heads, memberships = [], {}, []
    for hk, pk, id_number, grade in members:
        people.append(
            Person(
                id=pk,
                name=SURNAMES[pk % len(SURNAMES)] + GIVEN[(pk // len(SURNAMES)) % len(GIVEN)],
                id_number=id_number,  # not checksum-valid: bulk_create does not validate
                sex=Sex.MALE if pk % 2 else Sex.FEMALE,
                birth_date=datetime.date(1940 + pk % 70, 1 + pk % 12, 1 + pk % 28),
                region_id=village[hk],
                disability_category=DisabilityCategory.PHYSICAL if grade is not None else "",
                disability_grade=grade,
            )
        )
        first = hk not in heads
        heads.setdefault(hk, pk)
        memberships.append(
            Membership(
                household_id=hk,
                person_id=pk,
                relationship=Relationship.HEAD if first else Relationship.SON,
                joined_on=datetime.date(2010, 1, 1),
            )
        )
    households = [
        Household(id=hk, region_id=v, address=f"{v} {hk}号", area_type=AreaType.RURAL, head_id=heads.get(hk))
        for hk, v in village.items()
    ]
    entries = [
        MonitoredEntry(
            person_id=pk,
            household_id=hk,
            region_id=village[hk],
            category=category,
            start_on=as_of - datetime.timedelta(days=400),
            source=EntrySource.IMPORT,
        )
        for hk, pk, category in register
    ]
    alerts = [
        Alert(
            number=f"YJOLD{hk:012d}",
            household_id=hk,
            region_id=village[hk],
            rule=rule,
            signal_key=key,
            suggested_outcome=Outcome.APPLY,
            summary="基准测试的既往预警",
            signal_on=raised_on,
            raised_on=raised_on,
            status=Alert.Status.OPEN if open_ else Alert.Status.CLOSED,
            closed_on=None if open_ else raised_on,
        )
        for hk, rule, key, open_, raised_on in existing
    ]
    with transaction.atomic():
        Person.objects.bulk_create(people, batch_size=500)
        Household.objects.bulk_create(households, batch_size=500)
        Membership.objects.bulk_create(memberships, batch_size=500)
        MonitoredEntry.objects.bulk_create(entries, batch_size=500)
        Alert.objects.bulk_create(alerts, batch_size=500)
        # The re-check changes: one finished batch run per check date, the result keyed as in the Parquet. They carry no
        # authorisation, so that a household's income stays that of its latest authorised check, below.
        runs = {
            day: CheckRun.objects.create(
                kind=CheckRun.Kind.BATCH, region_id=PREFECTURE, as_of=day, status=CheckRun.Status.COMPLETE
            )
            for day in sorted({c[4] for c in changes})
        }
        CheckResult.objects.bulk_create(
            [
                CheckResult(
                    id=result_id,
                    run=runs[checked_on],
                    household_id=hk,
                    region_id=village[hk],
                    change=change,
                    dibao=verdict,
                )
                for hk, result_id, change, verdict, checked_on in changes
            ],
            batch_size=500,
        )
        # The income: each household's latest check under a signed authorisation.
        Authorisation.objects.bulk_create(
            [
                Authorisation(
                    id=hk,
                    household_id=hk,
                    categories=[],
                    signed_on=as_of - datetime.timedelta(days=90),
                    valid_until=as_of + datetime.timedelta(days=275),
                )
                for hk, _cents in income
            ],
            batch_size=500,
        )
        single = CheckRun.objects.create(
            kind=CheckRun.Kind.SINGLE,
            region_id=PREFECTURE,
            as_of=as_of - datetime.timedelta(days=60),
            status=CheckRun.Status.COMPLETE,
        )
        CheckResult.objects.bulk_create(
            [
                CheckResult(
                    run=single,
                    household_id=hk,
                    region_id=village[hk],
                    authorisation_id=hk,
                    counted_income=decimal.Decimal(cents) / 100,
                    change=CheckResult.Change.UNCHANGED,
                )
                for hk, cents in income
            ],
            batch_size=500,
        )

    con.register(
        "sample_members", pa.table({"person_key": [m[1] for m in members], "id_number": [m[2] for m in members]})
    )
    sig = signals_sql([SignalFile(feed, SNAPSHOT_IDS[feed], Path(p)) for feed, p in files.items()])
    schema = rules.SIGNALS
    signal_rows = con.execute(
        f"SELECT {', '.join(schema)} FROM ({sig}) s WHERE person_key IN (SELECT person_key FROM sample_members)"
        " OR (person_key IS NULL AND id_number IN (SELECT id_number FROM sample_members))"
    ).fetchall()
    con.close()
    types = {"int64": "integer", "string": "text", "date": "text", "boolean": "integer"}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_signals")
        cursor.execute(f"CREATE TABLE bench_signals ({', '.join(f'{c} {types[t]}' for c, t in schema.items())})")
        cursor.executemany(
            f"INSERT INTO bench_signals VALUES ({', '.join(['%s'] * len(schema))})",
            [tuple(v.isoformat() if isinstance(v, datetime.date) else v for v in r) for r in signal_rows],
        )
        for column in ("person_key", "id_number"):
            cursor.execute(f"CREATE INDEX bench_signals_{column} ON bench_signals ({column})")
    return {
        "households": len(households),
        "people": len(people),
        "register": len(entries),
        "income": len(income),
        "changes": len(changes),
        "alerts": len(alerts),
        "signals": len(signal_rows),
    }


# --------------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000, help="people (whole households) run by the baseline")
    parser.add_argument("--runs", type=int, default=3, help="engine runs (the median is reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also time each rule stage materialised on its own")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit of the sweep (e.g. 6GB)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (path printed)")
    parser.add_argument("--engine-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_run:
        engine_run(args.engine_run, args.runs, args.profile, args.memory_limit)
        return
    if args.generate:
        spec = json.loads((args.generate / "request.json").read_text())
        result = generate(
            args.generate,
            spec["people"],
            spec["signals"],
            spec["seed"],
            datetime.date.fromisoformat(spec["as_of"]),
            spec["villages"],
        )
        result["max_rss_kib"] = peak_rss_kib()
        print(json.dumps(result))
        return

    scratch = Path(tempfile.mkdtemp(prefix="minzheng-bench-monitoring-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/unused.sqlite3"
    os.environ["CHECKS_DATA_DIR"] = str(scratch / "checks")
    django.setup()
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = f"{scratch}/bench.sqlite3"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args, scratch)
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            connection.creation.destroy_test_db(name, verbosity=0)
            shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.db import connection, transaction
    from django.utils import timezone

    from minzheng.demo import parameters as demo_parameters
    from minzheng.monitoring import inputs, services
    from minzheng.monitoring.models import Alert, Sweep
    from minzheng.regions import codes
    from minzheng.regions.importer import import_regions
    from minzheng.regions.models import Region

    print(
        f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        " (other work on the machine slows every figure)"
    )
    import_regions("1307")
    demo_parameters.load_demo_parameters("1307")
    villages = sorted(
        Region.objects.filter(level=codes.VILLAGE, code__startswith="1307").values_list("code", flat=True)
    )
    as_of = timezone.localdate()
    data = scratch / "data"
    data.mkdir()
    request = {"people": args.people, "signals": args.signals, "seed": args.seed, "as_of": as_of.isoformat()}
    (data / "request.json").write_text(json.dumps({**request, "villages": villages}))
    generated = run_child("--generate", str(data), cwd=data)
    persons = generated["persons"]
    print(
        f"data: {persons:,} people, {args.signals:,} new signals in {len(generated['files'])} snapshots, generated in"
        f" DuckDB in {generated['seconds']:.1f} s (peak RSS {generated['max_rss_kib'] / 1024**2:.2f} GiB)"
    )
    counties = sorted({int(v[:6]) for v in villages})
    params, _record = inputs.parameters(counties, as_of)
    pq.write_table(params, data / "params.parquet")
    (data / "spec.json").write_text(json.dumps({"files": generated["files"]}))

    # --- engine
    engine = run_child(
        "--engine-run",
        str(data),
        "--runs",
        str(args.runs),
        *(["--profile"] if args.profile else []),
        *(["--memory-limit", args.memory_limit] if args.memory_limit else []),
        cwd=data,
    )
    median = statistics.median(engine["seconds"])
    stats = engine["stats"]
    print(
        f"engine (SweepRunner bind + run + 防返贫 changes): median {median:.2f} s of {args.runs}"
        f" ({', '.join(f'{s:.2f}' for s in engine['seconds'])}; rules compiled once before in"
        f" {engine['compile_seconds']:.2f} s); peak RSS {engine['max_rss_kib'] / 1024**2:.2f} GiB"
    )
    print(
        f"  signals {stats['signals']:,} (matched {stats['matched']:,}, unknown {stats['unmatched_person']:,}),"
        f" candidates {stats['candidates']:,}, suppressed {stats['suppressed']:,}, warnings {stats['warnings']:,};"
        f" 防返贫 register changes {engine['anti_poverty_changes']:,}"
    )
    for stage, seconds, rows in engine.get("stages", []):
        print(f"  stage {stage:<28} {seconds:7.2f} s  {rows:>12,} rows")

    # --- store
    warnings = pq.read_table(data / "warnings.parquet")
    import duckdb

    probe = duckdb.connect()
    probe.register("w", warnings.select(["household_key"]))
    regions = dict(
        probe.execute(
            f"SELECT household_key, village FROM read_parquet({_lit(data / 'households.parquet')})"
            " SEMI JOIN w USING (household_key)"
        ).fetchall()
    )
    probe.close()
    sweep = Sweep.objects.create(region_id="130700000000", as_of=as_of, status=Sweep.Status.RUNNING)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")  # the generated households exist only in Parquet
    t = time.perf_counter()
    with transaction.atomic():
        if os.environ.get("PROFILE_STORE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            by_rule = profiler.runcall(services._store_alerts, sweep, warnings, regions)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        else:
            by_rule = services._store_alerts(sweep, warnings, regions)
    store = time.perf_counter() - t
    by_outcome = {v["values"]: v["counts"] for v in pc.value_counts(warnings.column("outcome")).to_pylist()}
    print(
        f"store (services._store_alerts: texts, deadlines, bulk insert, audit): {warnings.num_rows:,} warnings in"
        f" {store:.2f} s; by rule {by_rule}; by outcome {by_outcome}"
    )
    print(
        f"sweep total (engine median + store): {median + store:.2f} s for {persons:,} people and"
        f" {stats['signals']:,} signals (goal ≤ 30 s, ≤ 8 GiB)"
    )
    # The baseline reads the earlier warnings from the same table: the sweep's own go, and the foreign keys are checked
    # again for the sample's rows.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Alert._meta.db_table} WHERE sweep_id = %s", [sweep.pk])
        cursor.execute("PRAGMA foreign_keys = ON")

    # --- baseline
    rng = random.Random(args.seed)
    members = pq.read_table(data / "members.parquet", columns=["household_key"])
    households = pc.unique(members.column("household_key")).to_pylist()
    per_household = persons / len(households)
    sample = sorted(rng.sample(households, min(len(households), max(1, round(args.sample / per_household)))))
    t = time.perf_counter()
    loaded = load_sample(data, generated["files"], sample, as_of)
    sample_people = loaded["people"]
    print(
        f"baseline data (bulk_create into the models): {loaded['households']:,} households, {sample_people:,} people"
        f" and memberships, {loaded['register']:,} register entries, {loaded['income']:,} authorised checks with"
        f" income, {loaded['changes']:,} re-check changes, {loaded['alerts']:,} earlier warnings; {loaded['signals']:,}"
        f" signals in an indexed table; loaded in {time.perf_counter() - t:.1f} s"
    )
    baseline = Baseline(params.to_pylist())
    t = time.perf_counter()
    with connection.cursor() as cursor:
        naive = {hk: baseline.household(cursor, hk) for hk in sample}
    elapsed = time.perf_counter() - t
    per_person = elapsed / sample_people
    extrapolated = per_person * persons
    engine_sets = defaultdict(set)
    wanted = set(sample)
    for r in warnings.select(["household_key", "rule", "signal_key", "outcome"]).to_pylist():
        if r["household_key"] in wanted:
            engine_sets[r["household_key"]].add((r["rule"], r["signal_key"], r["outcome"]))
    agree = sum(naive[hk] == engine_sets.get(hk, set()) for hk in sample)
    warned = sum(len(v) for v in naive.values())
    print(
        "baseline (Django ORM, household by household: current memberships with their people; per person the open"
        " register entries and one SQL query for the signals (no model: they live in Parquet snapshots); per household"
        " the latest authorised check's income, the batch re-check changes and the earlier warnings; the rules in"
        f" Python): {sample_people:,} people in {elapsed:.1f} s, {per_person * 1e6:.0f} µs a person; {warned:,}"
        f" warnings; agrees with the engine on {agree:,} of {len(sample):,} households"
    )
    for hk in [hk for hk in sample if naive[hk] != engine_sets.get(hk, set())][:3]:
        print(f"  differs: household {hk}: baseline {sorted(naive[hk])} engine {sorted(engine_sets.get(hk, set()))}")
    print(
        f"baseline extrapolated to {persons:,} people: {extrapolated:,.0f} s ({extrapolated / 3600:.1f} h);"
        f" engine speed-up {extrapolated / median:,.0f}x (engine + store: {extrapolated / (median + store):,.0f}x;"
        f" goal ≥ 100x)"
    )
    print(
        f"peak RSS of this process (store + baseline): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB"
    )


if __name__ == "__main__":
    main()

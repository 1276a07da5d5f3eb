"""Running the compiled warning rules: bind the inputs (Arrow tables or Parquet files) and the new signal snapshots to
the names the expressions use, then read the new warnings and the sweep's counts. `SweepRunner` runs them on DuckDB;
`spark.SparkSweepRunner` the same stages and the same counting SQL on a Spark cluster."""

import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from minzheng.checks.engine import normalise

from . import rules

Input = pa.Table | pathlib.Path


@dataclass
class SignalFile:
    feed: str
    snapshot_id: int
    path: pathlib.Path


@dataclass
class SweepInputs:
    members: Input
    register: Input
    income: Input
    check_changes: Input
    params: pa.Table
    existing: Input
    signal_files: list[SignalFile] = field(default_factory=list)


@dataclass
class SweepOutput:
    warnings: pa.Table
    stats: dict


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Type names both DuckDB and Spark SQL read (DuckDB takes STRING as VARCHAR).
SQL_TYPES = {"int64": "BIGINT", "string": "STRING", "date": "DATE", "boolean": "BOOLEAN"}


def _empty(schema: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"CAST(NULL AS {SQL_TYPES[t]}) AS {n}" for n, t in schema.items()) + " WHERE false"


def signals_sql(files: list[SignalFile], source: Callable[[SignalFile], str] | None = None) -> str:
    """All new signals in the shape of `rules.SIGNALS`, one scan per snapshot file. `source` names what a file is
    read from in the engine's SQL (DuckDB: `read_parquet('…')`; Spark: a view over the file)."""
    source = source or (lambda f: f"read_parquet({_lit(str(f.path))})")
    parts = []
    for f in files:
        code, event_on, cents, extra = rules.FEED_COLUMNS[f.feed]
        parts.append(
            f"SELECT {_lit(f.feed)} AS feed, CAST({int(f.snapshot_id)} AS BIGINT) AS snapshot_id,"
            f" CAST(row_no AS BIGINT) AS row_no, CAST(person_key AS BIGINT) AS person_key, id_number,"
            f" CAST({code} AS STRING) AS code, CAST({event_on} AS DATE) AS event_on,"
            f" CAST({cents} AS BIGINT) AS cents, CAST({extra} AS STRING) AS extra"
            f" FROM {source(f)}"
        )
    return " UNION ALL ".join(parts) if parts else _empty(rules.SIGNALS)


# The sweep's counts, in SQL that DuckDB and Spark read alike. Signals of nobody in the registry (no key at import,
# no member with that number now) and of people registered but not living in a household of the region.
_FEED_COUNTS = "SELECT feed, count(*) FROM {table} GROUP BY feed"
_OUTSIDE_COUNTS = """
SELECT count(CASE WHEN s.person_key IS NULL AND s.id_number IS NOT NULL AND n.id_number IS NULL THEN 1 END),
       count(CASE WHEN s.person_key IS NOT NULL AND k.person_key IS NULL THEN 1 END)
FROM signals s
LEFT JOIN (SELECT DISTINCT id_number FROM members) n ON s.id_number = n.id_number
LEFT JOIN (SELECT DISTINCT person_key FROM members) k ON s.person_key = k.person_key
"""
_ANTI_POVERTY = (
    "SELECT household_key, person_key, code, min(event_on) AS event_on, min(snapshot_id) AS snapshot_id"
    " FROM matched WHERE feed = 'anti_poverty' GROUP BY household_key, person_key, code ORDER BY person_key"
)
# The matched signals and the candidates are read several times (rules, counts): the runners keep those two; the
# rest DuckDB pipelines as views.
KEPT = ("matched", "candidates")


class _Runner:
    """What every engine's sweep does with the compiled stages; an engine binds the inputs and runs SQL."""

    dialect = "duckdb"

    def stage(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def table(self, sql: str) -> pa.Table:
        raise NotImplementedError

    def run(self) -> SweepOutput:
        sql = rules.compiled(self.dialect)
        for stage in rules.STAGES:
            self.stage(stage, sql[stage])
        warnings = normalise(self.table("SELECT * FROM warnings ORDER BY household_key, rule"))
        per_feed = dict(self.rows(_FEED_COUNTS.format(table="signals")))
        matched = dict(self.rows(_FEED_COUNTS.format(table="matched")))
        unmatched, outside = self.rows(_OUTSIDE_COUNTS)[0]
        candidates = self.rows("SELECT count(*) FROM candidates")[0][0]
        stats = {
            "signals": sum(per_feed.values()),
            "signals_by_feed": per_feed,
            "matched": sum(matched.values()),
            "matched_by_feed": matched,
            "unmatched_person": unmatched,
            "outside_households": outside,
            "candidates": candidates,
            "warnings": warnings.num_rows,
            "suppressed": candidates - warnings.num_rows,
        }
        return SweepOutput(warnings, stats)

    def rows(self, sql: str) -> list[tuple]:
        table = normalise(self.table(sql))
        return list(zip(*[c.to_pylist() for c in table.columns], strict=True))

    def anti_poverty_changes(self) -> pa.Table:
        """防返贫 list changes among the matched signals: the register entries the sweep opens and closes."""
        return normalise(self.table(_ANTI_POVERTY))

    def close(self) -> None:
        pass


class SweepRunner(_Runner):
    """The sweep on DuckDB, on this machine."""

    def __init__(self, threads: int | None = None, memory_limit: str | None = None):
        config = {"threads": threads or os.cpu_count() or 1}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(config=config)

    def bind(self, inputs: SweepInputs) -> None:
        for name in rules.INPUTS:
            if name == "signals":
                continue
            value = getattr(inputs, name)
            if isinstance(value, pathlib.Path):
                # Only the declared columns, in the declared types (a file may hold keys as DOUBLE, say).
                cols = ", ".join(f"CAST({c} AS {SQL_TYPES[t]}) AS {c}" for c, t in rules.INPUTS[name].items())
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} FROM read_parquet({_lit(str(value))})"
                )
            else:
                self.con.register(name, value)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW signals AS {signals_sql(inputs.signal_files)}")

    def stage(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP {'TABLE' if name in KEPT else 'VIEW'} {name} AS {sql}")

    def table(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self.con.close()

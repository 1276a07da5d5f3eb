"""Running the compiled warning rules on DuckDB: bind the inputs (Arrow tables or Parquet files) and the new signal
snapshots to the names the expressions use, then read the new warnings and the sweep's counts in one connection."""

import os
import pathlib
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


_DUCK = {"int64": "BIGINT", "string": "VARCHAR", "date": "DATE", "boolean": "BOOLEAN"}


def _empty(schema: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"CAST(NULL AS {_DUCK[t]}) AS {n}" for n, t in schema.items()) + " WHERE false"


def signals_sql(files: list[SignalFile]) -> str:
    """All new signals in the shape of `rules.SIGNALS`, one scan per snapshot file."""
    parts = []
    for f in files:
        code, event_on, cents, extra = rules.FEED_COLUMNS[f.feed]
        parts.append(
            f"SELECT {_lit(f.feed)} AS feed, CAST({int(f.snapshot_id)} AS BIGINT) AS snapshot_id,"
            f" CAST(row_no AS BIGINT) AS row_no, CAST(person_key AS BIGINT) AS person_key, id_number,"
            f" CAST({code} AS VARCHAR) AS code, CAST({event_on} AS DATE) AS event_on,"
            f" CAST({cents} AS BIGINT) AS cents, CAST({extra} AS VARCHAR) AS extra"
            f" FROM read_parquet({_lit(str(f.path))})"
        )
    return " UNION ALL ".join(parts) if parts else _empty(rules.SIGNALS)


class SweepRunner:
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
                cols = ", ".join(f"CAST({c} AS {_DUCK[t]}) AS {c}" for c, t in rules.INPUTS[name].items())
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {cols} FROM read_parquet({_lit(str(value))})"
                )
            else:
                self.con.register(name, value)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW signals AS {signals_sql(inputs.signal_files)}")

    def run(self) -> SweepOutput:
        sql = rules.compiled("duckdb")
        # The matched signals and the candidates are read several times (rules, counts): materialise those two; the
        # rest are views DuckDB pipelines.
        for stage in rules.STAGES:
            kind = "TABLE" if stage in ("matched", "candidates") else "VIEW"
            self.con.execute(f"CREATE OR REPLACE TEMP {kind} {stage} AS {sql[stage]}")
        self.con.execute("CREATE OR REPLACE TEMP TABLE new_warnings AS SELECT * FROM warnings")
        warnings = normalise(self.con.sql("SELECT * FROM new_warnings ORDER BY household_key, rule").to_arrow_table())
        per_feed = dict(self.con.execute("SELECT feed, count(*) FROM signals GROUP BY feed").fetchall())
        matched = dict(self.con.execute("SELECT feed, count(*) FROM matched GROUP BY feed").fetchall())
        # Not in the registry at all (no key at import, no member with that number now) / registered but not living
        # in a household of the region.
        unmatched, outside = self.con.execute(
            "SELECT count(*) FILTER (WHERE person_key IS NULL AND id_number NOT IN (SELECT id_number FROM members)),"
            " count(*) FILTER (WHERE person_key IS NOT NULL AND person_key NOT IN (SELECT person_key FROM members))"
            " FROM signals"
        ).fetchall()[0]
        candidates = self.con.execute("SELECT count(*) FROM candidates").fetchall()[0][0]
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

    def anti_poverty_changes(self) -> pa.Table:
        """防返贫 list changes among the matched signals: the register entries the sweep opens and closes."""
        return self.con.sql(
            "SELECT household_key, person_key, code, min(event_on) AS event_on, min(snapshot_id) AS snapshot_id"
            " FROM matched WHERE feed = 'anti_poverty' GROUP BY ALL ORDER BY person_key"
        ).to_arrow_table()

    def close(self) -> None:
        self.con.close()

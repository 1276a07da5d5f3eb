"""Executing the compiled rules: DuckDB for regions, SQLite for one household at the window, Spark (`spark.py`) for a
province on a cluster. The SQL comes from `rules.compiled`; a runner only binds the input tables to the names the
expressions use."""

import datetime
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from django.conf import settings

from minzheng.exchange import rowstore
from minzheng.exchange.sources import SOURCES, source_schema

from . import rules, schemas


@dataclass
class EngineInputs:
    """Everything one execution reads. Tables are Arrow; snapshot files are Parquet paths per source."""

    members: pa.Table
    declarations: pa.Table
    authorisations: pa.Table
    authorised_persons: pa.Table
    item_rules: pa.Table
    params: pa.Table
    snapshots: dict[str, Path | None] = field(default_factory=dict)
    # For a single household (the window): its people, whose rows alone are read.
    person_keys: list[int] | None = None
    id_numbers: list[str] | None = None


def _empty_source_sql(code: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {name}" for name, t in source_schema(code).items())
    return f"SELECT {cols} WHERE false"


def _duck_type(ibis_type: str) -> str:
    return {
        "int64": "BIGINT",
        "int32": "INTEGER",
        "string": "VARCHAR",
        "date": "DATE",
        "decimal(18,2)": "DECIMAL(18,2)",
    }[ibis_type]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def normalise(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """Integer sums come back as HUGEINT (Arrow decimal with scale 0) from DuckDB: the engine's amounts are fen in
    int64, so cast them back, exactly (a value that does not fit raises)."""
    columns = [c.cast(pa.int64()) if pa.types.is_decimal(c.type) and c.type.scale == 0 else c for c in table.columns]
    return type(table).from_arrays(columns, names=table.schema.names)


class DuckDBRunner:
    # Stages kept as temporary tables; the rest are views, which DuckDB inlines into the statement that reads them.
    # The members' keys are read by every source's fold, the people by the totals: inlined, each reference
    # recomputes them. Measured on the benchmark's 1 M households: 13.0 s with every stage a view, 7.9 s so. Both
    # are narrow; the wide per-person and per-household stages stream (as tables: no faster, 2.3 GiB more on 10 M).
    # The late matches are read by every source.
    MATERIALISED = ("member_keys", "late_keys", "people")

    def __init__(self, threads: int | None = None, memory_limit: str | None = None):
        # Outputs are keyed by household or person, never read in row order: DuckDB need not keep the order of rows
        # through unions and joins.
        config = {"threads": threads or os.cpu_count() or 1, "preserve_insertion_order": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(config=config)

    def bind(self, inputs: EngineInputs) -> None:
        for name in schemas.INPUTS:
            self.con.register(name, getattr(inputs, name))
        self._bind_sources(inputs.snapshots)

    def _bind_sources(self, snapshots: dict[str, Path | None], people: tuple[int, int] | None = None) -> None:
        for code in SOURCES:
            path = snapshots.get(code)
            columns = ", ".join(source_schema(code))
            if path is None:
                body = _empty_source_sql(code)
            else:
                body = f"SELECT {columns} FROM read_parquet({_quote(str(path))})"
                if people is not None:
                    # Snapshots are sorted by person key: DuckDB skips the row groups outside the range. Rows
                    # without a key are all read (the rules match them by identity number).
                    body += f" WHERE person_key IS NULL OR person_key BETWEEN {int(people[0])} AND {int(people[1])}"
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {rules.raw_table_name(code)} AS {body}")

    def household_ranges(self, inputs: EngineInputs, size: int) -> list[tuple[int, int]]:
        """The inputs registered whole (as `input_<name>`) and their households split into key ranges of at most
        `size` households each."""
        for name in schemas.INPUTS:
            self.con.register(f"input_{name}", getattr(inputs, name))
        return self.con.execute(
            "SELECT min(h), max(h) FROM (SELECT h, (row_number() OVER (ORDER BY h) - 1) // $size AS chunk"
            " FROM (SELECT DISTINCT household_key AS h FROM input_members)) GROUP BY chunk ORDER BY 1",
            {"size": size},
        ).fetchall()

    def bind_households(self, snapshots: dict[str, Path | None], low: int, high: int) -> None:
        """Bind the households with keys in [low, high] of the inputs `household_ranges` registered: their rows kept
        as tables (each is read by several stages), the snapshots narrowed to their people's range of keys."""
        households = f"household_key BETWEEN {int(low)} AND {int(high)}"
        # The inputs with rows per household, member or authorisation: the chunk's own (in `schemas.INPUTS` order,
        # authorisations before their signers); the rest are shared.
        own = {
            "members": households,
            "declarations": households,
            "authorisations": households,
            "authorised_persons": "authorisation_id IN (SELECT authorisation_id FROM authorisations)",
        }
        for name in schemas.INPUTS:
            if name in own:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM input_{name} WHERE {own[name]}")
            else:
                self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM input_{name}")
        people = self.con.execute("SELECT min(person_key), max(person_key) FROM members").fetchone()
        self._bind_sources(snapshots, people)

    def statements(self, outputs: tuple[str, ...]) -> list[str]:
        """What creates the stages the outputs need: views, except `MATERIALISED`, computed when created."""
        sql = rules.compiled("duckdb")
        return [
            f"CREATE OR REPLACE TEMP {'TABLE' if stage in self.MATERIALISED else 'VIEW'} {stage} AS {sql[stage]}"
            for stage in stages_for(outputs)
        ]

    def prepare(self, outputs: tuple[str, ...]) -> None:
        for statement in self.statements(outputs):
            self.con.execute(statement)

    def run(self, outputs: tuple[str, ...]) -> dict[str, pa.Table]:
        self.prepare(outputs)
        return {o: normalise(self.con.sql(f"SELECT * FROM {o}").to_arrow_table()) for o in outputs}

    def batches(self, output: str, rows: int) -> Iterator[pa.RecordBatch]:
        """The output as record batches, streamed from DuckDB: never held whole in Python."""
        self.prepare((output,))
        reader = self.con.sql(f"SELECT * FROM {output}").to_arrow_reader(rows)
        for batch in reader:
            yield normalise(batch)

    def close(self) -> None:
        self.con.close()


def stream(
    inputs: EngineInputs,
    output: str = "households",
    *,
    chunk_households: int | None = None,
    batch_rows: int = 100_000,
    **runner_options,
) -> Iterator[pa.RecordBatch]:
    """A region's output (households or persons) as record batches, for a whole city or province.

    The households are checked in chunks of at most `chunk_households` (by household key), each a complete run of
    the rules over its members: everything the rules compute is per person or per household, so a chunk's verdicts
    are the ones the whole run gives. A chunk's working set fits in memory where a province's would spill to disk,
    and the snapshots' row groups outside a chunk's people are skipped. Results are streamed, never held whole."""
    runner = DuckDBRunner(**runner_options)
    try:
        # Fewer members than a chunk's households: one run, nothing to split.
        if chunk_households is None or inputs.members.num_rows <= chunk_households:
            ranges = None
        else:
            ranges = runner.household_ranges(inputs, chunk_households)
        if ranges is None or len(ranges) == 1:
            runner.bind(inputs)
            yield from runner.batches(output, batch_rows)
            return
        for low, high in ranges:
            runner.bind_households(inputs.snapshots, low, high)
            yield from runner.batches(output, batch_rows)
    finally:
        runner.close()


def stages_for(outputs: tuple[str, ...]) -> list[str]:
    """The stages the outputs need, in execution order."""
    wanted = {stage for o in outputs for stage in rules.NEEDS[o]}
    return [stage for stage in rules.STAGES if stage in wanted]


class SQLiteRunner:
    """The window: one household, the same compiled stages in SQLite's dialect, over the row store (`rowstore`).

    DuckDB's fixed cost per statement (planning, parallel operators) dominates a check of a few dozen rows; SQLite
    runs each stage in microseconds and reads the household's rows by index. Every input and stage is a temporary
    table created once per connection and emptied and refilled by each check, so each statement is prepared once
    (the statement cache keeps them) and nothing of one household outlives its check."""

    def __init__(self, store: Path):
        self.store = store
        rowstore.ensure_schema(store)  # an older store gains the tables of a newer layout
        self.identity = rowstore.identity(store)
        self.con = sqlite3.connect(":memory:", isolation_level=None, cached_statements=256)
        self.con.execute("ATTACH DATABASE ? AS store", (str(store),))
        self.sql = rules.compiled("sqlite")
        self.tables: list[str] = []
        for name, spec in schemas.INPUTS.items():
            self._create(name, spec)
        for code in SOURCES:
            self._create(rules.raw_table_name(code), source_schema(code))
        for stage in rules.STAGES:
            self._create(stage, rules.stage_schema(stage))
        self.fill = {code: self._fill_sql(code) for code in SOURCES}

    @staticmethod
    def _fill_sql(code: str) -> str:
        """A source's rows of the bound members: matched rows by key, unmatched ones (key 0 in the store) by number."""
        names = list(source_schema(code))
        stored = ", ".join("NULLIF(person_key, 0)" if n == "person_key" else n for n in names)
        table = f"store.{rowstore.table_name(code)}"
        return (
            f"INSERT INTO {rules.raw_table_name(code)} ({', '.join(names)})"
            f" SELECT {stored} FROM {table} WHERE file_id = ?1 AND person_key IN (SELECT person_key FROM members)"
            # The planner would take the primary key's (file, 0) range, every unmatched row: name the index.
            f" UNION ALL SELECT {stored} FROM {table} INDEXED BY {rowstore.table_name(code)}_unmatched"
            f" WHERE file_id = ?1 AND person_key = 0 AND id_number IN (SELECT id_number FROM members)"
        )

    def _create(self, name: str, spec: dict[str, str]) -> None:
        columns = ", ".join(f"{column} {rowstore.sqlite_type(t)}" for column, t in spec.items())
        self.con.execute(f"CREATE TEMP TABLE {name} ({columns})")
        self.tables.append(name)

    def bind(self, inputs: EngineInputs) -> None:
        for name in self.tables:
            self.con.execute(f"DELETE FROM {name}")
        for name, spec in schemas.INPUTS.items():
            table = getattr(inputs, name).select(list(spec))
            values = [rowstore.sqlite_values(table.column(i).combine_chunks()) for i in range(table.num_columns)]
            placeholders = ",".join("?" * len(spec))
            self.con.executemany(f"INSERT INTO {name} VALUES ({placeholders})", zip(*values, strict=True))
        self._fill(inputs.snapshots)

    def _fill(self, snapshots: dict[str, Path | None], attempts: int = 3) -> None:
        """The sources' rows, read in one transaction that first finds every file still in the store: the load of a
        newer delivery may drop a superseded file between `file_ids` and these reads (it is then loaded again)."""
        for _ in range(attempts):
            ids = {code: i for code, i in rowstore.file_ids(self.store, snapshots).items() if i is not None}
            if not ids:
                return
            self.con.execute("BEGIN")
            try:
                # WAL: from this first read on, the transaction sees the store as it is now, whatever commits later.
                # By id and path: a dropped file's id may be given to the next file loaded.
                pairs = [(file_id, str(Path(snapshots[code]))) for code, file_id in ids.items()]
                present = self.con.execute(
                    f"WITH wanted (file_id, path) AS (VALUES {','.join(['(?, ?)'] * len(pairs))})"
                    " SELECT count(*) FROM store.files JOIN wanted USING (file_id, path)",
                    [value for pair in pairs for value in pair],
                ).fetchone()[0]
                if present == len(ids):
                    for code, file_id in ids.items():
                        self.con.execute(self.fill[code], (file_id,))
                    self.con.execute("COMMIT")
                    return
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("ROLLBACK")
        raise RuntimeError("快照行存储在读取期间多次被清理，请稍后重新核对")

    def run(self, outputs: tuple[str, ...]) -> dict[str, pa.Table]:
        for stage in stages_for(outputs):
            self.con.execute(f"INSERT INTO {stage} {self.sql[stage]}")
        return {o: self._arrow(o) for o in outputs}

    def _arrow(self, name: str) -> pa.Table:
        spec = rules.stage_schema(name)
        rows = self.con.execute(f"SELECT {', '.join(spec)} FROM {name}").fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in spec]
        arrays = [_arrow_array(values, t) for values, t in zip(columns, spec.values(), strict=True)]
        return pa.Table.from_arrays(arrays, names=list(spec))

    def close(self) -> None:
        self.con.close()


def _arrow_array(values, ibis_type: str) -> pa.Array:
    """SQLite's values back in the declared type: its booleans are 0/1, its dates ISO text."""
    if ibis_type == "boolean":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if ibis_type == "date":
        return pa.array([None if v is None else datetime.date.fromisoformat(v) for v in values], pa.date32())
    return pa.array(values, {"int64": pa.int64(), "int32": pa.int32(), "string": pa.string()}[ibis_type])


_window = threading.local()


def execute(inputs: EngineInputs, queries: tuple[str, ...] = ("households",), **runner_options) -> dict[str, pa.Table]:
    """Run the rules: the window (inputs restricted to a household's people) on SQLite over the row store, anything
    else on DuckDB over the Parquet snapshots."""
    if inputs.person_keys is not None:
        # One connection per thread and row store (opening one and preparing the statements costs more than a
        # check); a test's or another deployment's data directory gets its own.
        store = rowstore.store_path(settings.CHECKS_DATA_DIR)
        identity = rowstore.identity(store)
        runner = getattr(_window, "runner", None)
        if runner is None or runner.identity != identity:
            # First use in this thread, another data directory, or a store deleted (and rebuilt) since.
            if runner is not None:
                runner.close()
            runner = _window.runner = SQLiteRunner(store)
        runner.bind(inputs)
        return runner.run(queries)
    runner = DuckDBRunner(**runner_options)
    try:
        runner.bind(inputs)
        return runner.run(queries)
    finally:
        runner.close()

"""Executing the compiled rules: DuckDB by default, Spark optionally. The SQL comes from `rules.compiled`; a runner
only binds the input tables to the names the expressions use."""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from . import rules
from .sources import SOURCES


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
    # For a single household: restrict each snapshot read to these people (pushed down into the Parquet scan).
    person_keys: list[int] | None = None
    id_numbers: list[str] | None = None


def _empty_source_sql(code: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {name}" for name, t in rules.source_schema(code).items())
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


def normalise(table: pa.Table) -> pa.Table:
    """Integer sums come back as HUGEINT (Arrow decimal with scale 0) from DuckDB: the engine's amounts are fen in
    int64, so cast them back, exactly (a value that does not fit raises)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_decimal(f.type) and f.type.scale == 0:
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
    return table


class DuckDBRunner:
    def __init__(self, threads: int | None = None, memory_limit: str | None = None):
        config = {"threads": threads or os.cpu_count() or 1}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(config=config)

    def bind(self, inputs: EngineInputs) -> None:
        for name in rules.INPUTS:
            self.con.register(name, getattr(inputs, name))
        # The window materialises every stage (a few rows each, and the planner sees small inputs); the batch binds
        # them as views, so DuckDB pipelines the whole chain in one pass — each stage is read exactly once.
        self.stage_kind = "TABLE" if inputs.person_keys is not None else "VIEW"
        for code in SOURCES:
            path = inputs.snapshots.get(code)
            columns = ", ".join(rules.source_schema(code))
            if path is None:
                body = _empty_source_sql(code)
            else:
                scan = f"SELECT {columns} FROM read_parquet({_quote(str(path))})"
                body = scan
                if inputs.person_keys is not None:
                    # Two scans, each prunable by the row groups' statistics (the file is sorted by person key,
                    # unmatched rows last), rather than one OR that reads every row group.
                    keys = ",".join(str(int(k)) for k in inputs.person_keys) or "NULL"
                    ids = ",".join(_quote(i) for i in inputs.id_numbers or []) or "NULL"
                    body = (
                        f"{scan} WHERE person_key IN ({keys}) "
                        f"UNION ALL {scan} WHERE person_key IS NULL AND id_number IN ({ids})"
                    )
            self.con.execute(f"CREATE OR REPLACE TEMP {self.stage_kind} {rules.raw_table_name(code)} AS {body}")

    def run(self, outputs: tuple[str, ...]) -> dict[str, pa.Table]:
        sql = rules.compiled("duckdb")
        for stage in stages_for(outputs):
            # A resolved source is read once by the next stage: a view is enough, even at the window.
            kind = "VIEW" if stage.startswith("src_") else self.stage_kind
            self.con.execute(f"CREATE OR REPLACE TEMP {kind} {stage} AS {sql[stage]}")
        return {o: normalise(self.con.sql(f"SELECT * FROM {o}").to_arrow_table()) for o in outputs}

    def close(self) -> None:
        self.con.close()


def stages_for(outputs: tuple[str, ...]) -> list[str]:
    """The stages the outputs need, in execution order."""
    wanted = {stage for o in outputs for stage in rules.NEEDS[o]}
    return [stage for stage in rules.STAGES if stage in wanted]


_window = threading.local()


def execute(inputs: EngineInputs, queries: tuple[str, ...] = ("households",), **runner_options) -> dict[str, pa.Table]:
    if inputs.person_keys is not None and not runner_options:
        # The window reuses one in-memory connection per thread (opening one costs more than a small check):
        # every input and stage is replaced by the next check, so nothing of one household outlives its check.
        runner = getattr(_window, "runner", None)
        if runner is None:
            runner = _window.runner = DuckDBRunner(threads=1)
            # Keep each snapshot file's footer (its row-group statistics) instead of parsing it for every check;
            # DuckDB checks the file is unchanged before using it.
            runner.con.execute("SET parquet_metadata_cache = true")
        try:
            runner.bind(inputs)
            return runner.run(queries)
        finally:
            for name in rules.INPUTS:
                runner.con.unregister(name)
    runner = DuckDBRunner(**runner_options)
    try:
        runner.bind(inputs)
        return runner.run(queries)
    finally:
        runner.close()


class SparkRunner:
    """The same compiled expressions on Spark (`pip install minzheng[spark]`, Java 17+): the inputs become temporary
    views with the names and column types the expressions declare, and Spark SQL runs the query Ibis compiled for its
    dialect. The session is configured so Spark's SQL means what DuckDB's does (see `SPARK_CONF`)."""

    # ANSI mode: an overflowing integer or a failed cast raises, as in DuckDB, instead of wrapping or becoming NULL.
    SPARK_CONF = {
        "spark.sql.ansi.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
    }

    def __init__(self, session=None):
        if session is None:
            session = self.session()
        for key, value in self.SPARK_CONF.items():
            session.conf.set(key, value)
        self.spark = session

    @classmethod
    def session(cls, master: str = "local[2]"):
        """A local session for tests and single-machine runs; on a cluster, pass the cluster's session instead."""
        import tempfile

        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(master)
            .appName("minzheng-checks")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            # Nothing is saved as a table; keep Spark from creating ./spark-warehouse wherever it is started.
            .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir(), "minzheng-spark-warehouse")))
            # Local mode talks to itself only: no dependence on how the host name resolves (CI containers).
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
        for key, value in cls.SPARK_CONF.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def bind(self, inputs: EngineInputs) -> None:
        from pyspark.sql import functions as F

        for name, spec in rules.INPUTS.items():
            table = getattr(inputs, name).select(list(spec))
            self.spark.createDataFrame(table, schema=_spark_schema(spec)).createOrReplaceTempView(name)
        for code in SOURCES:
            schema = _spark_schema(rules.source_schema(code))
            path = inputs.snapshots.get(code)
            if path is None:
                df = self.spark.createDataFrame([], schema=schema)
            else:
                # The declared columns in the declared order and types: the rules' UNION ALL is positional.
                df = self.spark.read.parquet(str(path)).select(
                    *[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields]
                )
                if inputs.person_keys is not None:
                    df = df.where(
                        F.col("person_key").isin([int(k) for k in inputs.person_keys])
                        | (F.col("person_key").isNull() & F.col("id_number").isin(list(inputs.id_numbers or [])))
                    )
            df.createOrReplaceTempView(rules.raw_table_name(code))

    def run(self, outputs: tuple[str, ...]) -> dict[str, pa.Table]:
        """Each stage is computed once and kept (a local checkpoint, on the executors) under its name for the next.
        Plain views would inline the whole chain into each output's plan, and Spark's optimiser takes far longer
        over that one deep plan than over the stages one by one (3× on the agreement test's data)."""
        sql = rules.compiled("pyspark")
        for stage in stages_for(outputs):
            self.spark.sql(sql[stage]).localCheckpoint(eager=True).createOrReplaceTempView(stage)
        return {o: normalise(self.spark.table(o).toArrow()) for o in outputs}


def _spark_schema(spec: dict[str, str]):
    """A Spark schema from a table's declared column types (the Ibis type names `rules` uses)."""
    from pyspark.sql import types as T

    simple = {
        "int64": T.LongType(),
        "int32": T.IntegerType(),
        "string": T.StringType(),
        "boolean": T.BooleanType(),
        "date": T.DateType(),
    }

    def spark_type(ibis_type: str):
        if ibis_type.startswith("decimal("):
            precision, scale = ibis_type.removeprefix("decimal(").removesuffix(")").split(",")
            return T.DecimalType(int(precision), int(scale))
        return simple[ibis_type]

    return T.StructType([T.StructField(name, spark_type(t), True) for name, t in spec.items()])

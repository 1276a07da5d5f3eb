"""Spark, for a province that outgrows one machine: the engines' compiled rule expressions run unchanged on a Spark
cluster (`pip install 'minzheng[spark]'`, Java 17+). This module holds what the checking and monitoring runners
share: which engine a batch run uses, one SparkSession per process (the JVM and the cluster's executors are started
once, not per run), configured so that Spark SQL means what DuckDB's does, and the Spark schema of the engines'
declared column types.

Settings: CHECKS_ENGINE (duckdb | spark: what runs started from the pages and the schedules use), SPARK_MASTER
(`local[2]`, `spark://host:7077`, `yarn`…), SPARK_DRIVER_MEMORY. Anything else a cluster needs (executor memory,
the driver's address as the executors see it, the s3a credentials provider) goes in the deployment's
`$SPARK_CONF_DIR/spark-defaults.conf`, which pyspark reads when it starts the driver.
"""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
from django.conf import settings

from .errors import DomainError

ENGINES = {"duckdb": "DuckDB（本机）", "spark": "Spark（集群）"}

# ANSI mode: an overflowing integer or a failed cast raises, as in DuckDB, instead of wrapping or becoming NULL. UTC:
# dates never shift with the JVM's zone.
SQL_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    # Spark 4.0's checkpoint of a UNION whose branches select differently named columns (the monitoring rules'
    # candidates) fails inferring its constraints ("key not found: county#3L"); the rules need no inferred ones.
    "spark.sql.constraintPropagation.enabled": "false",
}


def missing() -> str | None:
    """Why Spark cannot run on this machine (in Chinese), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "未安装 Spark 组件（pip install 'minzheng[spark]'）"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        return "未安装 Java 运行环境（Spark 需要 Java 17 或以上）"
    return None


def engine(name: str | None = None) -> str:
    """The engine a batch run uses: the one asked for (the command's --engine), else settings.CHECKS_ENGINE. A Chinese
    error for an unknown name, or for Spark where it cannot run, before anything is read."""
    chosen = (name or settings.CHECKS_ENGINE or "duckdb").strip().lower()
    if chosen not in ENGINES:
        raise DomainError(f"未知的计算引擎“{chosen}”，可选：{'、'.join(ENGINES)}", "unknown_engine")
    if chosen == "spark" and (problem := missing()):
        raise DomainError(f"无法使用 Spark 引擎：{problem}", "engine_unavailable")
    return chosen


def _local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def session(master: str | None = None, conf: dict[str, str] | None = None):
    """The process's SparkSession (created on first use, then reused: a worker runs many batches). `conf` adds
    settings for the whole Spark context (the tests' small-data tuning, say)."""
    from pyspark.sql import SparkSession

    master = master or settings.SPARK_MASTER
    builder = (
        SparkSession.builder.master(master)
        .appName("minzheng")
        .config("spark.driver.memory", settings.SPARK_DRIVER_MEMORY)
        .config("spark.ui.showConsoleProgress", "false")
        # Nothing is saved as a table; keep Spark from creating ./spark-warehouse wherever it is started.
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir(), "minzheng-spark-warehouse")))
    )
    if _local(master):
        builder = (
            builder.config("spark.ui.enabled", "false")
            # Two cores, a few hundred MB per stage: Spark's default of 200 shuffle partitions is all overhead.
            .config("spark.sql.shuffle.partitions", "4")
            # Local mode talks to itself only: no dependence on how the host name resolves (CI containers).
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    for key, value in {**SQL_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_session(base=None):
    """A session of its own for one run (its temporary views, its settings) on the process's Spark context."""
    spark = (base or session()).newSession()
    for key, value in SQL_CONF.items():
        spark.conf.set(key, value)
    return spark


class Views:
    """A run's own Spark session, and the temporary views it names its inputs and stages by (dropped at the end, so
    the checkpointed stages become garbage for Spark's cleaner)."""

    def __init__(self, session=None):
        self.spark = run_session(session)
        self.views: list[str] = []

    def _view(self, frame, name: str) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        self.views = []


def schema(spec: dict[str, str]):
    """A Spark schema from a table's declared column types (the Ibis type names the rule modules use)."""
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


def frame(spark, table: pa.Table, spec: dict[str, str]):
    """An Arrow table as a DataFrame of the declared columns and types."""
    return spark.createDataFrame(table.select(list(spec)), schema=schema(spec))


def read_parquet(spark, location: str, spec: dict[str, str] | None = None, *, layout: dict[str, str] | None = None):
    """A Parquet file (a local path or any Hadoop-compatible URI) as a DataFrame: of the declared columns `spec`, in
    the declared order and types (files may hold their columns in another order, and unions are positional), or all
    of its columns. `layout` is the file's schema where it is known: Spark then reads no footer to infer it (a job
    per file)."""
    from pyspark.sql import functions as F

    reader = spark.read if layout is None else spark.read.schema(schema(layout))
    frame = reader.parquet(location)
    if spec is None:
        return frame
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema(spec)])


def empty(spark, spec: dict[str, str]):
    return spark.createDataFrame([], schema=schema(spec))

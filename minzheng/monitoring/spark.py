"""The monitoring sweep on Spark: the warning rules compiled for Spark SQL (`rules.compiled("pyspark")`) and the same
counting SQL as on DuckDB (`engine._Runner`), over the same inputs. The signal snapshots are read by the cluster at
`exchange.files.cluster_uri` (settings.SNAPSHOT_URI)."""

import pathlib

import pyarrow as pa

from minzheng.core import spark as sparks
from minzheng.exchange.files import cluster_uri
from minzheng.exchange.sources import file_schema

from . import rules
from .engine import SweepInputs, _Runner, signals_sql


class SparkSweepRunner(sparks.Views, _Runner):
    dialect = "pyspark"

    def bind(self, inputs: SweepInputs) -> None:
        for name, spec in rules.INPUTS.items():
            if name == "signals":
                continue
            value = getattr(inputs, name)
            if isinstance(value, pathlib.Path):
                frame = sparks.read_parquet(self.spark, cluster_uri(value), spec)
            else:
                frame = sparks.frame(self.spark, value, spec)
            self._view(frame, name)
        views = {}
        for i, f in enumerate(inputs.signal_files):
            # The file as the importer wrote it: `signals_sql` picks and casts the columns each feed's signals read.
            views[id(f)] = f"signal_file_{i}"
            self._view(sparks.read_parquet(self.spark, cluster_uri(f.path), layout=file_schema(f.feed)), views[id(f)])
        self._view(self.spark.sql(signals_sql(inputs.signal_files, lambda f: views[id(f)])), "signals")

    def stage(self, name: str, sql: str) -> None:
        """Every stage computed once and kept (a local checkpoint): Spark plans the stages one by one instead of one
        deep plan per read (see checks.spark)."""
        self._view(self.spark.sql(sql).localCheckpoint(eager=True), name)

    def table(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

"""The checking rules on Spark: the same compiled expressions as DuckDB's (`rules.compiled("pyspark")`), over the
same inputs, for a province whose batch re-check outgrows one machine.

The inputs become temporary views with the names and column types the expressions declare; the snapshots are read
by the cluster at `exchange.files.cluster_uri` (settings.SNAPSHOT_URI). A batch brings back to the driver only what
the run stores: every household's verdict flags (for the run's counts) and the full rows of the current recipients
(a few percent), selected on the cluster.
"""

import pyarrow as pa

from minzheng.core import spark as sparks
from minzheng.exchange.files import cluster_uri
from minzheng.exchange.sources import SOURCES, file_schema, source_schema

from . import rules, schemas
from .engine import EngineInputs, normalise, stages_for


class SparkRunner(sparks.Views):
    """Binds the inputs in a Spark session of its own and computes the stages the outputs need."""

    def bind(self, inputs: EngineInputs) -> None:
        from pyspark.sql import functions as F

        for name, spec in schemas.INPUTS.items():
            self._view(sparks.frame(self.spark, getattr(inputs, name), spec), name)
        for code in SOURCES:
            spec = source_schema(code)
            path = inputs.snapshots.get(code)
            if path is None:
                frame = sparks.empty(self.spark, spec)
            else:
                frame = sparks.read_parquet(self.spark, cluster_uri(path), spec, layout=file_schema(code))
                if inputs.person_keys is not None:
                    frame = frame.where(
                        F.col("person_key").isin([int(k) for k in inputs.person_keys])
                        | (F.col("person_key").isNull() & F.col("id_number").isin(list(inputs.id_numbers or [])))
                    )
            self._view(frame, rules.raw_table_name(code))

    def prepare(self, outputs: tuple[str, ...]) -> None:
        """Each stage computed once and kept (a local checkpoint, on the executors) under its name for the next.
        Plain views would inline the whole chain into each output's plan, and Spark's optimiser takes far longer
        over that one deep plan than over the stages one by one (3× on the agreement test's data)."""
        sql = rules.compiled("pyspark")
        for stage in stages_for(outputs):
            self._view(self.spark.sql(sql[stage]).localCheckpoint(eager=True), stage)

    def run(self, outputs: tuple[str, ...]) -> dict[str, pa.Table]:
        self.prepare(outputs)
        return {o: normalise(self.spark.table(o).toArrow()) for o in outputs}


def batch(inputs: EngineInputs, columns: tuple[str, ...], wanted: pa.Array) -> tuple[pa.Table, list[dict]]:
    """A region's batch on Spark: every household's `columns` (what the run counts) and the full result rows of the
    households whose keys are in `wanted`, both selected on the cluster."""
    runner = SparkRunner()
    try:
        runner.bind(inputs)
        runner.prepare(("households",))
        households = runner.spark.table("households")
        counted = normalise(households.select(*columns).toArrow())
        keys = sparks.frame(
            runner.spark, pa.table({"household_key": wanted.cast(pa.int64())}), {"household_key": "int64"}
        )
        rows = normalise(households.join(keys, "household_key", "left_semi").toArrow()).to_pylist()
    finally:
        runner.close()
    return counted, rows

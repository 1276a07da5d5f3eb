"""Both sides of a scenario in one DuckDB connection: the inputs read once (`checks.inputs.for_region`, exactly as a
batch re-check reads them), the compiled rules (`checks.rules` through `checks.engine.DuckDBRunner`) run with the
parameter table in force and with the scenario's, and the comparison aggregated set-based per benefit and township.
No rule is written here: only which parameter table the rules read changes between the two sides."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from minzheng.checks.engine import DuckDBRunner, EngineInputs

# What the comparison reads of the rules' `households` output.
COLUMNS = (
    "household_key",
    "county",
    "area_type",
    "authorisation_id",
    "n",
    "per_capita",
    "std",
    "dibao",
    "dibao_amount",
    "edge",
    "tekun",
    "tekun_amount",
)
BENEFITS = {"dibao": "dibao_amount", "tekun": "tekun_amount", "edge": None}
CHANGES = ("new", "lost", "up", "down", "same")
HISTOGRAM_BINS = 20  # over 0 … 2 × the highest new standard


def evaluate_sides(
    inputs: EngineInputs,
    after_params: pa.Table,
    *,
    chunk_households: int | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> DuckDBRunner:
    """Run the rules twice over the same bound inputs; returns the runner whose connection holds `side_before` and
    `side_after` (one row per household each). The caller closes it."""
    runner = DuckDBRunner()
    con = runner.con
    cols = ", ".join(COLUMNS)
    if chunk_households is None or inputs.members.num_rows <= chunk_households:
        ranges = None
    else:
        ranges = runner.household_ranges(inputs, chunk_households)
        if len(ranges) == 1:
            ranges = None
    sides = (("before", inputs.params), ("after", after_params))
    created: set[str] = set()
    steps = len(ranges or [None]) * 2
    done = 0
    for chunk in ranges or [None]:
        for side, params in sides:
            if chunk is None:
                runner.bind(dataclasses.replace(inputs, params=params))
            else:
                con.register("input_params", params)
                runner.bind_households(inputs.snapshots, *chunk)
            runner.prepare(("households",))
            if side in created:
                con.execute(f"INSERT INTO side_{side} SELECT {cols} FROM households")
            else:
                con.execute(f"CREATE TEMP TABLE side_{side} AS SELECT {cols} FROM households")
                created.add(side)
            done += 1
            if progress:
                progress(done, steps)
    return runner


def compare(con: duckdb.DuckDBPyConnection, townships: pa.Table, include_unauthorised: bool) -> None:
    """The long comparison `changed` (household × benefit where either side has the benefit) and the figures."""
    con.register("township_of", townships)
    where = "" if include_unauthorised else "WHERE b.authorisation_id IS NOT NULL"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE paired AS
        SELECT b.household_key, b.county, t.township, b.area_type, b.n, b.per_capita,
               b.authorisation_id IS NOT NULL AS authorised,
               b.std AS std_before, a.std AS std_after,
               b.dibao AS dibao_b, a.dibao AS dibao_a, b.dibao_amount AS dibao_amount_b, a.dibao_amount AS dibao_amount_a,
               b.tekun AS tekun_b, a.tekun AS tekun_a, b.tekun_amount AS tekun_amount_b, a.tekun_amount AS tekun_amount_a,
               b.edge AS edge_b, a.edge AS edge_a
        FROM side_before b JOIN side_after a USING (household_key) JOIN township_of t USING (household_key)
        {where}"""
    )
    parts = []
    for benefit, amount in BENEFITS.items():
        amt_b = f"{amount}_b" if amount else "0"
        amt_a = f"{amount}_a" if amount else "0"
        parts.append(
            f"SELECT household_key, county, township, n, per_capita, '{benefit}' AS benefit,"
            f" coalesce({benefit}_b, false) AS was, coalesce({benefit}_a, false) AS will,"
            f" CASE WHEN {benefit}_b THEN {amt_b} ELSE 0 END AS amount_before,"
            f" CASE WHEN {benefit}_a THEN {amt_a} ELSE 0 END AS amount_after"
            f" FROM paired WHERE {benefit}_b OR {benefit}_a"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed AS SELECT *, CASE"
        " WHEN NOT was THEN 'new' WHEN NOT will THEN 'lost'"
        " WHEN amount_after > amount_before THEN 'up' WHEN amount_after < amount_before THEN 'down'"
        " ELSE 'same' END AS change FROM (" + " UNION ALL ".join(parts) + ")"
    )


FIGURE_SQL = """
SELECT benefit, county, township,
       count(*) FILTER (WHERE was) AS households_before, count(*) FILTER (WHERE will) AS households_after,
       coalesce(sum(n) FILTER (WHERE was), 0) AS people_before, coalesce(sum(n) FILTER (WHERE will), 0) AS people_after,
       {per_change},
       coalesce(sum(amount_before), 0)::BIGINT AS cost_before_fen, coalesce(sum(amount_after), 0)::BIGINT AS cost_after_fen
FROM changed GROUP BY ALL ORDER BY benefit, township
"""


def figures(con: duckdb.DuckDBPyConnection) -> list[dict]:
    per_change = ", ".join(
        f"count(*) FILTER (WHERE change = '{c}') AS {c}_households,"
        f" coalesce(sum(n) FILTER (WHERE change = '{c}'), 0) AS {c}_people"
        for c in CHANGES
    )
    return con.sql(FIGURE_SQL.format(per_change=per_change)).to_arrow_table().to_pylist()


def histogram(con: duckdb.DuckDBPyConnection) -> dict:
    """Households by per-capita income (yuan) per area type, around the standards before and after: bins of equal
    width over 0 … 2 × the highest new standard, the last open-ended."""
    result = {}
    for area, label in (("urban", "城市"), ("rural", "农村")):
        std = con.execute(
            "SELECT min(std_before), max(std_before), min(std_after), max(std_after), count(*)"
            " FROM paired WHERE area_type = ? AND std_after IS NOT NULL",
            [area],
        ).fetchone()
        if not std or not std[4] or not std[3]:
            continue
        width = _nice_width(2 * std[3] / HISTOGRAM_BINS)
        rows = dict(
            con.execute(
                "SELECT least(per_capita // ?, ?) AS bin, count(*) FROM paired WHERE area_type = ? GROUP BY 1",
                [width, HISTOGRAM_BINS - 1, area],
            ).fetchall()
        )
        bins = [
            {
                "low": i * width,
                "high": None if i == HISTOGRAM_BINS - 1 else (i + 1) * width,
                "households": int(rows.get(i, 0)),
            }
            for i in range(HISTOGRAM_BINS)
        ]
        result[area] = {
            "label": label,
            "width": width,
            "std_before": [std[0], std[1]],
            "std_after": [std[2], std[3]],
            "bins": bins,
        }
    return result


def _nice_width(fen: float) -> int:
    """A round bin width in fen: 10, 20, 50, 100 … yuan."""
    yuan = max(fen / 100, 1)
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= yuan:
                return step * m * 100
        step *= 10


def write_affected(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The households whose status or amount changes, sorted by township and household (the list pages by key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        "COPY (SELECT household_key, township, county, benefit, change, n, per_capita, amount_before, amount_after"
        " FROM changed WHERE change <> 'same' ORDER BY township, household_key, benefit)"
        f" TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
    )
    return con.execute("SELECT count(*) FROM changed WHERE change <> 'same'").fetchone()[0]

"""The warning rules run unchanged on Spark: DuckDB and Spark agree, row for row, on the warnings, the sweep's counts
and the 防返贫 changes of one sweep whose signals fire every rule, all four outcomes and the complex case, with a
suppressed redelivery, a late match by identity number, an unknown person and a person outside the region. Then the
sweep as users run it (`run_monitoring --engine spark`) stores those same warnings through the same tracked run.

Skipped when pyspark or Java is missing, unless MINZHENG_REQUIRE_SPARK is set (CI sets it: there it must run).
"""

import io
import json

import pyarrow as pa
import pytest
from django.core.management import call_command

from minzheng.checks.models import CheckResult, CheckRun
from minzheng.conftest import COUNTY, OTHER_COUNTY_VILLAGE, make_id_number, spark_marks
from minzheng.monitoring import inputs, rules
from minzheng.monitoring.engine import SweepRunner
from minzheng.monitoring.models import Alert, Sweep
from minzheng.monitoring.spark import SparkSweepRunner

from .conftest import AS_OF, D, ids
from .test_rules import DEATH_ON, authorisation, check_result, set_disability

pytestmark = [pytest.mark.django_db, *spark_marks()]


@pytest.fixture
def signals(make_household, make_household_in, monitor, signal, make_snapshot, sweep, set_params):
    """A county's sweep in which every rule fires. Returns the households by what happens to them."""
    set_params(
        monitoring__medical_amount="5000",
        monitoring__medical_share_of_income="0.5",
        monitoring__disaster_loss_amount="100",
    )
    h = {name: make_household() for name in ("complex", "moved", "unemployed", "medical", "share", "disabled")}
    h |= {name: make_household() for name in ("dropout", "aid", "small_loss", "anti", "rechecked", "tekun", "edge")}
    for name in ("complex", "moved", "medical", "rechecked"):
        monitor(h[name], "dibao")
    monitor(h["unemployed"], "rigid")
    monitor(h["dropout"], "edge")
    monitor(h["edge"], "edge")
    monitor(h["tekun"], "tekun")
    # An earlier sweep raised a warning whose delivery comes again: suppressed this time.
    signal("civil_status", h["moved"], 2, event="death", event_on=D(2026, 6, 1), period=D(2026, 6, 30))
    sweep(as_of=D(2026, 7, 1))
    signal("civil_status", h["moved"], 2, event="death", event_on=D(2026, 6, 1))
    # Three rules on one household: to the county (情况复杂).
    signal("civil_status", h["complex"], 1, event="death", event_on=DEATH_ON)
    signal("employment", h["complex"], 2, status="employed", registered_on=D(2026, 10, 8), employer="某公司")
    signal("disaster", h["complex"], 0, disaster="fire", occurred_on=D(2026, 10, 2), loss="30000")
    signal("civil_status", h["moved"], 1, event="move_out", event_on=D(2026, 9, 1))
    signal("employment", h["unemployed"], 0, status="unemployed", registered_on=D(2026, 10, 8))
    rows = [
        {"id_number": ids(h["medical"])[0], "settled_on": D(2026, 5, 1), "total_cost": 9000, "fund_paid": 6000,
         "out_of_pocket": "3000.00"},
        {"id_number": ids(h["medical"])[1], "settled_on": D(2026, 8, 1), "total_cost": 5000, "fund_paid": 2999.5,
         "out_of_pocket": "2000.50"},
        {"id_number": ids(h["share"])[0], "settled_on": D(2026, 9, 1), "total_cost": 9000, "fund_paid": 4500,
         "out_of_pocket": "4500.00"},
    ]  # fmt: skip
    make_snapshot("medical", rows, period=D(2026, 10, 31))
    check_result(h["share"], counted_income="600.00")  # 7,200 a year: 4,500 is over half of it
    set_disability(ids(h["disabled"])[0], 3)
    signal(
        "disability", h["disabled"], 0, certificate_no="C1", category="physical", grade="2", issued_on=D(2026, 10, 1)
    )
    signal("student", h["dropout"], 2, status="dropout", stage="junior", event_on=D(2026, 9, 20))
    signal("student", h["aid"], 2, status="aid", stage="senior", event_on=D(2026, 9, 1))
    signal("disaster", h["small_loss"], 0, disaster="flood", occurred_on=D(2026, 7, 2), loss="99.99")
    signal("anti_poverty", h["anti"], 0, status="identified", risk="illness", event_on=D(2026, 9, 1))
    run = CheckRun.objects.create(kind="batch", region_id=COUNTY, as_of=D(2026, 10, 15), status="complete")
    for name, change, dibao in (("rechecked", "increase", True), ("tekun", "stop", False), ("edge", "increase", True)):
        household = h[name]
        CheckResult.objects.create(
            run=run,
            household=household,
            region_id=household.region_id,
            change=change,
            dibao=dibao,
            authorisation=authorisation(household),
        )
    # Delivered before the person was registered (no key in the file): matched now by identity number.
    late = make_id_number(birth="19900909", seq=901)
    signal("employment", late, status="unemployed", registered_on=D(2026, 10, 9))
    h["late"] = make_household_registered_with(make_household, late)
    monitor(h["late"], "rigid")
    signal("employment", make_id_number(birth="19910101", seq=902), status="employed", registered_on=D(2026, 10, 1))
    elsewhere = make_household_in(OTHER_COUNTY_VILLAGE)
    signal("civil_status", elsewhere, 0, event="death", event_on=DEATH_ON)
    return h


def make_household_registered_with(make_household, id_number: str):
    """A household of the test village whose head holds `id_number`."""
    from minzheng.registry.models import Person

    household = make_household(size=2)
    Person.objects.filter(pk=household.head_id).update(id_number=id_number)
    return household


def rows(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: json.dumps(r, default=str, sort_keys=True))


def typed(row: dict) -> dict:
    return {k: type(v).__name__ for k, v in row.items()}


def run(runner, sweep_inputs):
    try:
        runner.bind(sweep_inputs)
        return runner.run(), runner.anti_poverty_changes()
    finally:
        runner.close()


def test_duckdb_and_spark_agree_and_the_spark_sweep_stores_the_same_warnings(signals, spark_session, monkeypatch):
    sweep_inputs, _record, pending = inputs.for_region(COUNTY, AS_OF)
    duck, duck_anti = run(SweepRunner(), sweep_inputs)

    # The sweep as users run it, on Spark (one run: Spark is slow to start); what its engine computed is kept.
    seen = {}
    for name in ("run", "anti_poverty_changes"):
        original = getattr(SparkSweepRunner, name)
        monkeypatch.setattr(SparkSweepRunner, name, lambda self, _f=original, _n=name: seen.setdefault(_n, _f(self)))
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "run_monitoring",
        "--region",
        "130722",
        "--as-of",
        AS_OF.isoformat(),
        "--engine",
        "spark",
        stdout=out,
        stderr=err,
    )
    spark, spark_anti = seen["run"], seen["anti_poverty_changes"]
    for got, expected in ((spark.warnings, duck.warnings), (spark_anti, duck_anti)):
        assert got.schema.names == expected.schema.names
        assert rows(got) == rows(expected)
        assert [typed(r) for r in rows(got)] == [typed(r) for r in rows(expected)]
    assert spark.stats == duck.stats

    # The dataset does exercise what it claims to (on both engines, since they agree).
    warned = {(r["household_key"], r["rule"]): r for r in duck.warnings.to_pylist()}
    assert {rule for _h, rule in warned} == set(rules.RULES)
    assert {r["outcome"] for r in warned.values()} == {"stop", "apply", "enrol", "complex"}
    h = signals
    complex_ = {key for key, r in warned.items() if r["outcome"] == "complex"}
    assert complex_ == {(h["complex"].pk, rule) for rule in ("death_member", "employed", "disaster")}
    assert warned[(h["share"].pk, "medical_high")]["outcome"] == "enrol"
    assert warned[(h["late"].pk, "unemployed")]["outcome"] == "apply"
    assert (h["small_loss"].pk, "disaster") not in warned and (h["moved"].pk, "death_member") not in warned
    assert duck.stats["suppressed"] == 1 and duck.stats["unmatched_person"] == 1
    assert duck.stats["outside_households"] == 1
    assert duck_anti.num_rows == 1

    # Stored through the sweep's tracked run: exactly these warnings.
    sweep = Sweep.objects.latest("id")
    assert sweep.status == "complete" and sweep.stats["engine"] == "spark", sweep.error
    assert "计算引擎 Spark（集群）" in out.getvalue() and "100% 已完成" in err.getvalue()
    stored = {(a.household_id, a.rule, a.signal_key, a.suggested_outcome) for a in Alert.objects.filter(sweep=sweep)}
    assert stored == {(r["household_key"], r["rule"], r["signal_key"], r["outcome"]) for r in warned.values()}
    assert {k: sweep.stats[k] for k in duck.stats} == duck.stats
    assert set(sweep.snapshots.all()) == set(pending) and sweep.stats["anti_poverty_opened"] == 1

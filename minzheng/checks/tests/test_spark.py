"""The rules run unchanged on Spark (`pip install -e '.[spark]'`, Java 17+): DuckDB and Spark agree, row for row, on
all three queries over a small dataset that exercises every branch of the rules (issue 4).

Then the batch re-check as users run it (`run_checks --engine spark`): the same counts and the same stored results
as on DuckDB, written through the same tracked run.

Skipped when pyspark or Java is missing, unless MINZHENG_REQUIRE_SPARK is set (CI sets it: there it must run).
"""

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from django.core.management import CommandError, call_command

from minzheng.checks import inputs, schemas
from minzheng.checks.engine import EngineInputs, execute
from minzheng.checks.models import CheckResult, CheckRun
from minzheng.checks.spark import SparkRunner
from minzheng.conftest import COUNTY, OTHER_COUNTY, make_id_number, spark_marks
from minzheng.exchange.sources import SOURCES, source_schema

from .conftest import AS_OF, D
from .test_views import recipients  # noqa: F401  (fixture used by name)

QUERIES = ("households", "persons", "evidence")
A, B = int(COUNTY[:6]), int(OTHER_COUNTY[:6])  # 张北县 and 桥东区: two counties with different local rules

pytestmark = [pytest.mark.django_db, *spark_marks()]


@pytest.fixture
def spark(spark_session):
    return spark_session


# ------------------------------------------------------------------------------------------------------- dataset

_ARROW = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "decimal(18,2)": pa.decimal128(18, 2),
}


def arrow(spec: dict[str, str], rows: list[dict]) -> pa.Table:
    """An Arrow table of the declared schema; missing keys are NULL, money given as strings is exact."""

    def value(name, v):
        return Decimal(v) if v is not None and spec[name].startswith("decimal") else v

    return pa.Table.from_pylist(
        [{name: value(name, row.get(name)) for name in spec} for row in rows],
        schema=pa.schema([(name, _ARROW[t]) for name, t in spec.items()]),
    )


def months(first: datetime.date, count: int) -> list[datetime.date]:
    return [D(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(count)]


# The income period for a 12-month look-back on AS_OF (2026-12-01): 2025-12 … 2026-11.
PERIOD = months(D(2025, 12, 1), 12)


class People:
    """Members with realistic identity numbers; `key` is the registry's integer person key."""

    def __init__(self):
        self.rows: list[dict] = []
        self.ids: dict[int, str] = {}

    def add(self, household, key, county, area, birth, **extra):
        id_number = make_id_number(area=str(county), birth=birth.strftime("%Y%m%d"), seq=key % 1000)
        self.ids[key] = id_number
        self.rows.append(
            {
                "household_key": household,
                "person_key": key,
                "id_number": id_number,
                "county": county,
                "area_type": area,
                "birth_date": birth,
                "disability_category": "",
                "self_care": "",
                **extra,
            }
        )


def build_members() -> People:
    p = People()
    # 1  低保: an earner (employment-cost deduction), a spouse with medical costs, a student; authorised.
    p.add(1, 101, A, "rural", D(1980, 1, 1))
    p.add(1, 102, A, "rural", D(1982, 2, 2))
    p.add(1, 103, A, "rural", D(2008, 3, 3))
    # 2  低保边缘: income between the standard and 1.5 × the standard; a motorcycle (exempt).
    p.add(2, 201, A, "rural", D(1975, 5, 5))
    p.add(2, 202, A, "rural", D(1958, 6, 1))
    # 3  deposits over 24 months of the urban standard.
    p.add(3, 301, A, "urban", D(1990, 7, 7))
    # 4  a car over the value cap (and an exempt farm vehicle).
    p.add(4, 401, A, "rural", D(1985, 8, 8))
    # 5  a second residence (one each), and a rented shop.
    p.add(5, 501, A, "rural", D(1970, 9, 9))
    p.add(5, 502, A, "rural", D(1972, 10, 10))
    # 6  an active business registration (not allowed in A), and a cancelled one.
    p.add(6, 601, A, "rural", D(1988, 11, 11))
    # 7  特困: 70, partly unable to look after herself, declared to have no one obliged to support her.
    p.add(7, 701, A, "rural", D(1956, 3, 15), self_care="partial")
    # 8  特困 pending (supporter unknown): 60 exactly today, and 59 tomorrow with a newer disability certificate.
    p.add(8, 801, A, "rural", D(1966, 12, 1), self_care="self")
    p.add(8, 802, A, "rural", D(1966, 12, 2), disability_category="physical", disability_grade=3, self_care="full")
    # 9  a death event, a move-out after the date (still counted), a child with no data, a member already deceased.
    p.add(9, 901, A, "rural", D(1950, 1, 20))
    p.add(9, 902, A, "rural", D(1979, 2, 14))
    p.add(9, 903, A, "rural", D(2015, 4, 4))
    p.add(9, 904, A, "rural", D(1940, 5, 5), deceased_on=D(2026, 1, 1))
    p.add(9, 905, A, "rural", D(1981, 6, 6))
    # 10 刚性支出困难 (county B): income above the edge, medical out-of-pocket costs above a year's income.
    p.add(10, 1001, B, "urban", D(1980, 1, 31))
    p.add(10, 1002, B, "urban", D(1985, 2, 28))
    # 11 county B forbids motor vehicles (a truck; the farm vehicle is exempt) and non-residential property.
    p.add(11, 1101, B, "rural", D(1977, 7, 17))
    #    and two students (investigation findings): 19 within county B's schooling limit (20), 21 beyond it.
    p.add(11, 1102, B, "rural", D(2007, 5, 5))
    p.add(11, 1103, B, "rural", D(2005, 1, 1))
    # 12 county B: wages delivered before the person was registered (snapshot person_key NULL, matched by id).
    p.add(12, 1201, B, "rural", D(1983, 8, 18))
    p.add(12, 1202, B, "rural", D(1950, 9, 19))
    return p


def build_snapshots(p: People) -> dict[str, list[dict]]:
    ids = p.ids

    def row(key, **values):
        return {"person_key": key, "id_number": ids[key], **values}

    wage = [row(101, month=m, gross_wage="1500.00", tax_paid="10.00", social_contribution="100.00") for m in PERIOD]
    wage += [row(101, month=D(2025, 11, 1), gross_wage="9999.00"), row(101, month=AS_OF, gross_wage="9999.00")]
    wage += [row(201, month=m, gross_wage="1400.00", employer="张北县某公司") for m in PERIOD]
    wage += [row(902, month=m, gross_wage="800.00") for m in PERIOD]
    wage += [row(1001, month=m, gross_wage="3500.00", tax_paid="0.00") for m in PERIOD]
    # Not yet registered when imported: no person key, matched by identity number at check time.
    wage += [{**row(1201, month=m, gross_wage="500.00"), "person_key": None} for m in PERIOD]
    wage += [{"person_key": None, "id_number": make_id_number(seq=999), "month": PERIOD[0], "gross_wage": "7000.00"}]
    return {
        "wage": wage,
        "pension": [
            row(102, item="resident_basic", monthly_amount="143.00"),
            row(102, item="resident_personal", monthly_amount="60.50", start_month=D(2020, 1, 1)),
            row(102, item="survivor", monthly_amount="999.00", start_month=D(2027, 1, 1)),
            row(202, item="employee_pension", monthly_amount="300.00"),
            row(701, item="resident_basic", monthly_amount="150.00"),
            row(901, item="employee_pension", monthly_amount="1000.00"),
        ],
        "finance": [
            row(101, institution="张北农商行", product="deposit", balance="5000.00", annual_income="60.00"),
            row(301, institution="建设银行", product="deposit", balance="30000.00"),
            row(301, institution="建设银行", product="wealth", balance="1000.00", annual_income="121.00"),
        ],
        "vehicle": [
            row(201, plate_no="冀G12345", vehicle_type="motorcycle", value="5000.00"),
            row(401, plate_no="冀G23456", vehicle_type="car", value="45000.00", registered_on=D(2019, 4, 1)),
            row(401, plate_no="冀G34567", vehicle_type="farm", value="8000.00"),
            row(1101, plate_no="冀G45678", vehicle_type="farm", value="6000.00"),
            row(1101, plate_no="冀G56789", vehicle_type="truck", value="20000.00"),
        ],
        "real_estate": [
            row(501, certificate_no="冀(2020)张北县不动产权第0000001号", usage="residential", area="80.50"),
            row(502, certificate_no="冀(2021)张北县不动产权第0000002号", usage="residential", area="60.25"),
            row(
                501,
                certificate_no="冀(2022)张北县不动产权第0000003号",
                usage="commercial",
                area="30.00",
                monthly_rent="300.00",
            ),
            row(1101, certificate_no="冀(2018)桥东区不动产权第0000004号", usage="commercial", area="20.00"),
        ],
        "business": [
            row(
                601,
                uscc="92130722MA0000001X",
                name="张北县某小吃店",
                role="legal_rep",
                status="active",
                monthly_net_income="500.00",
            ),
            row(601, uscc="92130722MA0000002X", name="张北县某商店", role="investor", status="cancelled"),
        ],
        "medical": [
            row(102, settled_on=D(2026, 3, 15), total_cost="3000.00", fund_paid="1800.00", out_of_pocket="1200.00"),
            row(1002, settled_on=D(2026, 5, 20), total_cost="50000.00", fund_paid="20000.00", out_of_pocket="30000.00"),
            row(
                1002, settled_on=D(2026, 10, 10), total_cost="25000.00", fund_paid="10000.00", out_of_pocket="15000.00"
            ),
            row(1002, settled_on=D(2025, 10, 1), total_cost="9000.00", fund_paid="1000.00", out_of_pocket="8000.00"),
        ],
        "education": [row(103, stage="senior", paid_on=D(2026, 9, 1), fee="3000.00")],
        "transfer": [
            row(103, item="scholarship", monthly_amount="250.00"),
            row(1002, item="support_paid", monthly_amount="100.00"),
        ],
        "disability": [
            row(802, certificate_no="13072219661202001X21", category="physical", grade="2", issued_on=D(2019, 1, 1)),
            row(
                802, certificate_no="13072219661202001X51", category="intellectual", grade="1", issued_on=D(2024, 6, 1)
            ),
        ],
        "civil_status": [
            row(901, event="death", event_on=D(2026, 6, 1)),
            row(902, event="move_out", event_on=D(2027, 1, 5)),
            row(905, event="imprisoned", event_on=D(2026, 2, 1)),
        ],
        # housing_fund: no snapshot delivered — the rules read an empty table of the declared schema.
    }


def write_snapshot(directory: Path, code: str, snapshot_id: int, rows: list[dict]) -> Path:
    """A Parquet snapshot laid out as the importer writes it (DuckDB, declared types, sorted by person key)."""
    table = arrow(source_schema(code), [{**r, "snapshot_id": snapshot_id, "row_no": i} for i, r in enumerate(rows, 1)])
    # One file with its columns in another order: the runners must bind by name (the rules' unions are positional).
    columns = ", ".join(reversed(table.column_names)) if code == "wage" else "*"
    target = directory / f"{code}.parquet"
    con = duckdb.connect()
    con.register("snapshot", table)
    con.execute(
        f"COPY (SELECT {columns} FROM snapshot ORDER BY person_key NULLS LAST, row_no) TO '{target}' (FORMAT parquet)"
    )
    con.close()
    return target


def local_rules(set_params) -> None:
    set_params(
        region=COUNTY,
        dibao__standard_rural="600",
        dibao__standard_urban="800",
        local__min_wage="2000",
        dibao__employment_cost_base="min_wage",
        dibao__employment_cost_rate="0.1",
        dibao__deduct_medical_costs=True,
        dibao__uplift_elderly="0.1",
        dibao__uplift_minor="0.2",
        dibao__uplift_severe_disability="1/3",
        dibao__financial_assets_months=24,
        dibao__vehicle_rule="value_cap",
        dibao__vehicle_value_cap="30000",
        dibao__max_residential_properties=1,
        dibao__business_registration_allowed=False,
        rigid_expense__share_of_income="1",
        local__disposable_income="30000",
    )
    set_params(
        region=OTHER_COUNTY,
        dibao__standard_rural="700",
        dibao__standard_urban="900",
        local__min_wage="1900",
        dibao__employment_cost_base="wage",
        dibao__employment_cost_rate="0.05",
        dibao__uplift_elderly="1/5",
        dibao__vehicle_rule="no_motor_vehicle",
        dibao__nonresidential_property_allowed=False,
        dibao__rounding_quantum="10",
        dibao__rounding_mode="up",
        rigid_expense__share_of_income="1",
        local__disposable_income="36000",
        tekun__student_age_limit=20,
    )


@pytest.fixture
def engine_inputs(set_params, tmp_path) -> EngineInputs:
    local_rules(set_params)
    params, item_rules, _record = inputs.parameters([A, B], AS_OF)
    people = build_members()
    snapshots = build_snapshots(people)
    decl = [
        {"household_key": 1, "person_key": 101, "kind": "income", "item": "support_received", "cents": 20000},
        {"household_key": 7, "person_key": 701, "kind": "no_supporter", "item": "", "cents": 0},
        {"household_key": 8, "person_key": 802, "kind": "serious_illness", "item": "", "cents": 0},
        {"household_key": 12, "person_key": 1201, "kind": "income", "item": "support_paid", "cents": 5000},
        {"household_key": 1, "person_key": 103, "kind": "student", "item": "", "cents": 0},
        {"household_key": 11, "person_key": 1102, "kind": "student", "item": "", "cents": 0},
        {"household_key": 11, "person_key": 1103, "kind": "student", "item": "", "cents": 0},
    ]
    auth = [
        {
            "authorisation_id": 9001,
            "household_key": 1,
            "signed_on": D(2026, 11, 1),
            "valid_until": D(2027, 10, 31),
            "all_categories": True,
        },
        {
            "authorisation_id": 9002,
            "household_key": 2,
            "signed_on": D(2026, 11, 1),
            "valid_until": D(2027, 10, 31),
            "all_categories": True,
        },
        {
            "authorisation_id": 9003,
            "household_key": 10,
            "signed_on": D(2026, 1, 1),
            "valid_until": D(2026, 11, 30),
            "all_categories": True,
        },
    ]
    covered = [(9001, 101), (9001, 102), (9001, 103), (9002, 201), (9003, 1001), (9003, 1002)]
    return EngineInputs(
        members=arrow(schemas.MEMBERS, people.rows),
        declarations=arrow(schemas.DECLARATIONS, decl),
        authorisations=arrow(schemas.AUTHORISATIONS, auth),
        authorised_persons=arrow(
            schemas.AUTHORISED_PERSONS, [{"authorisation_id": a, "person_key": k} for a, k in covered]
        ),
        item_rules=item_rules,
        params=params,
        snapshots={
            code: write_snapshot(tmp_path, code, n, snapshots[code]) if code in snapshots else None
            for n, code in enumerate(SOURCES, 1)
        },
    )


# --------------------------------------------------------------------------------------------------------- tests


def rows(table: pa.Table) -> list[dict]:
    """Order-free comparison: every row as a dict, sorted by its canonical text."""
    return sorted(table.to_pylist(), key=lambda r: json.dumps(r, default=str, sort_keys=True))


def run_on_spark(spark, engine_inputs: EngineInputs) -> dict[str, pa.Table]:
    runner = SparkRunner(spark)
    try:
        runner.bind(engine_inputs)
        return runner.run(QUERIES)
    finally:
        runner.close()


def typed(row: dict) -> dict:
    """True == 1 in Python: compare the value types too."""
    return {k: type(v).__name__ for k, v in row.items()}


def test_duckdb_and_spark_agree(engine_inputs, spark):
    duck = execute(engine_inputs, QUERIES)
    on_spark = run_on_spark(spark, engine_inputs)
    for query in QUERIES:
        got = on_spark[query]
        assert got.schema.names == duck[query].schema.names, query
        assert got.num_rows == duck[query].num_rows, query
        expected, actual = rows(duck[query]), rows(got)
        assert [r for r in actual if r not in expected] == [r for r in expected if r not in actual] == [], query
        assert actual == expected, query
        assert [typed(r) for r in actual] == [typed(r) for r in expected], query

    # The dataset does exercise what it claims to (on both engines, since they agree).
    h = {r["household_key"]: r for r in duck["households"].to_pylist()}
    assert h[1]["dibao"] and h[1]["authorisation_id"] == 9001 and h[1]["deductions"] > 0
    assert h[2]["edge"] and not h[2]["dibao"] and h[2]["authorisation_id"] is None
    assert not h[3]["financial_ok"] and not h[4]["vehicle_ok"] and not h[11]["vehicle_ok"]
    assert h[5]["residential"] == 2 and not h[5]["property_ok"] and not h[11]["property_ok"]
    assert h[6]["businesses"] == 1 and not h[6]["business_ok"]
    assert h[7]["tekun"] and h[7]["tekun_amount"] > 0 and h[8]["tekun_pending"]
    assert h[9]["n"] == 2 and h[9]["without_data"] == 1
    assert h[10]["rigid"] and not h[10]["edge"]
    assert h[12]["dibao"] and h[12]["counted_gross"] > 0
    p = {r["person_key"]: r for r in duck["persons"].to_pylist()}
    assert p[901]["exclusion"] == "death" and p[902]["included"] and p[905]["exclusion"] == "absent"
    assert p[101]["employment_cost"] > 0 and p[802]["unable_to_work"] and p[801]["age"] == 60 and p[802]["age"] == 59
    # 特困 minors: covered to 18, longer in full-time education (A: no limit; B: under 20).
    assert p[103]["age"] == 18 and p[103]["unable_to_work"] and not p[102]["unable_to_work"]
    assert p[1102]["unable_to_work"] and p[1103]["age"] == 21 and not p[1103]["unable_to_work"]


def test_single_household_restriction_agrees(engine_inputs, spark):
    """The window path: snapshot reads restricted to one household's people (keys, or identity numbers)."""
    members = engine_inputs.members.filter(pc.equal(engine_inputs.members["household_key"], 12))
    engine_inputs.members = members
    engine_inputs.person_keys = members["person_key"].to_pylist()
    engine_inputs.id_numbers = members["id_number"].to_pylist()
    duck = execute(engine_inputs, QUERIES)
    on_spark = run_on_spark(spark, engine_inputs)
    for query in QUERIES:
        assert rows(on_spark[query]) == rows(duck[query]), query
    assert duck["households"]["counted_gross"].to_pylist() == [50000]  # the wages matched by identity number


# ------------------------------------------------------------------------------------------------ the batch run

RESULT_FIELDS = (
    "household_id", "region_id", "authorisation_id", "members", "counted_income", "per_capita_income", "dibao",
    "dibao_amount", "edge", "tekun", "tekun_pending", "tekun_amount", "rigid", "change", "change_amount",
    "previous_amount", "facts", "reasons",
)  # fmt: skip


def run_checks(*args) -> tuple[str, str, CheckRun]:
    out, err = io.StringIO(), io.StringIO()
    call_command("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat(), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), CheckRun.objects.filter(kind="batch").latest("id")


def stored(run: CheckRun) -> list[tuple]:
    return sorted(CheckResult.objects.filter(run=run).values_list(*RESULT_FIELDS), key=repr)


def test_run_checks_on_spark_stores_what_duckdb_stores(recipients, spark, settings, tmp_path):  # noqa: F811
    """One Spark run (they are slow to start): chosen by the setting, as the pages' and schedules' runs are, reading
    the snapshots where SNAPSHOT_URI says the cluster finds them (here a copy, as a sync would make)."""
    import shutil

    _out, _err, on_duckdb = run_checks("--engine", "duckdb")
    copy = tmp_path / "cluster-copy"
    shutil.copytree(settings.CHECKS_DATA_DIR, copy)
    settings.CHECKS_ENGINE, settings.SNAPSHOT_URI = "spark", f"file://{copy}"
    out, err, on_spark = run_checks()
    assert on_spark.status == "complete" and on_spark.progress == 100, on_spark.error
    assert "计算引擎 Spark（集群）" in out and " 40% 核对 4 户（Spark 集群）" in err and "100% 已完成" in err
    assert "金额增加：1" in out and "拟停保：1" in out and "未核对（无有效授权）：1" in out
    assert on_spark.stats.pop("engine") == "spark" and on_duckdb.stats.pop("engine") == "duckdb"
    timing = ("read_seconds", "engine_seconds")
    assert {k: v for k, v in on_spark.stats.items() if k not in timing} == {
        k: v for k, v in on_duckdb.stats.items() if k not in timing
    }
    assert stored(on_spark) == stored(on_duckdb) and len(stored(on_spark)) == 3
    assert on_spark.parameters == on_duckdb.parameters
    assert set(on_spark.snapshots.all()) == set(on_duckdb.snapshots.all())

    # Gone from where the cluster reads: the run fails, saying so, and stores nothing.
    shutil.rmtree(copy / "snapshots")
    with pytest.raises(CommandError, match=r"批量复核失败.*未保存任何结果"):
        run_checks()
    failed = CheckRun.objects.filter(kind="batch").latest("id")
    assert failed.status == "failed" and "cluster-copy" in failed.error and not CheckResult.objects.filter(run=failed)

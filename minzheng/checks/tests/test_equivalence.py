"""ARCHITECTURE.md principle 2: one rule definition, two executions. The batch pass over a region and the window
check of each household give identical verdicts, reasons and amounts."""

import random
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from minzheng.cases.models import Declaration
from minzheng.checks import explain, inputs, services
from minzheng.checks.engine import execute, stream
from minzheng.conftest import COUNTY, OTHER_VILLAGE, URBAN_VILLAGE, VILLAGE, make_id_number
from minzheng.exchange.files import snapshot_path
from minzheng.registry import services as registry

from .conftest import AS_OF, D, wages

pytestmark = pytest.mark.django_db

PARAMS = {
    "dibao__standard_rural": "600",
    "dibao__standard_urban": "850",
    "local__min_wage": "2000",
    "dibao__employment_cost_base": "min_wage",
    "dibao__employment_cost_rate": "0.1",
    "dibao__financial_assets_months": 24,
    "dibao__vehicle_rule": "value_cap",
    "dibao__vehicle_value_cap": "30000",
    "dibao__max_residential_properties": 1,
    "dibao__business_registration_allowed": False,
    "dibao__uplift_elderly_age": 70,
    "dibao__uplift_elderly": "0.1",
    "dibao__uplift_minor": "1/3",
    "local__disposable_income": "30000",
    "rigid_expense__share_of_income": "0.5",
}


def varied_region(officer, household_data, set_params, make_snapshot, authorised) -> list:
    """Forty households of every size in three villages, with a random mix of every source's rows."""
    set_params(**PARAMS)
    rng = random.Random(7)
    households, rows = (
        [],
        {
            s: []
            for s in (
                "wage",
                "pension",
                "finance",
                "vehicle",
                "real_estate",
                "business",
                "medical",
                "education",
                "civil_status",
                "transfer",
                "disability",
            )
        },
    )
    for i in range(40):
        region = rng.choice([VILLAGE, URBAN_VILLAGE, OTHER_VILLAGE])
        size = rng.choice([1, 1, 2, 3, 4, 5])
        members = []
        for j in range(size):
            birth = f"{rng.randint(1935, 2020)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}"
            members.append(
                ("02" if j == 0 else "20", f"成员{i}{j}", make_id_number(birth=birth, seq=(i * 10 + j) % 999 + 1))
            )
        h = registry.create_household(officer, household_data(region, members))
        households.append(h)
        ids = [m.person.id_number for m in h.current_memberships()]
        for idn in ids:
            roll = rng.random()
            if roll < 0.4:
                rows["wage"] += wages(idn, str(rng.choice([0, 400, 900, 1500, 2600, 4000])), months=rng.choice([6, 12]))
            if roll > 0.7:
                rows["pension"].append(
                    {
                        "id_number": idn,
                        "item": rng.choice(["resident_basic", "employee_pension"]),
                        "monthly_amount": str(rng.randint(100, 3000)),
                    }
                )
            if rng.random() < 0.3:
                rows["finance"].append(
                    {
                        "id_number": idn,
                        "institution": "银行",
                        "product": "deposit",
                        "balance": str(rng.randint(0, 60000)),
                        "annual_income": str(rng.randint(0, 900)),
                    }
                )
            if rng.random() < 0.1:
                rows["vehicle"].append(
                    {
                        "id_number": idn,
                        "plate_no": f"冀G{i}{rng.randint(0, 999)}",
                        "vehicle_type": rng.choice(["car", "motorcycle"]),
                        "value": str(rng.randint(5000, 80000)),
                    }
                )
            if rng.random() < 0.15:
                rows["real_estate"].append(
                    {
                        "id_number": idn,
                        "certificate_no": f"R{i}{rng.randint(0, 99)}",
                        "usage": rng.choice(["residential", "residential", "commercial"]),
                        "area": "80",
                        "monthly_rent": str(rng.choice([0, 500])),
                    }
                )
            if rng.random() < 0.05:
                rows["business"].append(
                    {
                        "id_number": idn,
                        "uscc": "91130700MA0000000X",
                        "name": "小店",
                        "role": "legal_rep",
                        "status": rng.choice(["active", "cancelled"]),
                        "monthly_net_income": "1200",
                    }
                )
            if rng.random() < 0.1:
                rows["medical"].append(
                    {
                        "id_number": idn,
                        "settled_on": D(2026, rng.randint(1, 11), 3),
                        "total_cost": "50000",
                        "fund_paid": "20000",
                        "out_of_pocket": str(rng.randint(1000, 30000)),
                    }
                )
            if rng.random() < 0.05:
                rows["civil_status"].append(
                    {"id_number": idn, "event": rng.choice(["death", "imprisoned"]), "event_on": D(2026, 5, 1)}
                )
            if rng.random() < 0.1:
                rows["transfer"].append(
                    {
                        "id_number": idn,
                        "item": rng.choice(["scholarship", "support_received", "elderly_allowance"]),
                        "monthly_amount": str(rng.randint(50, 500)),
                    }
                )
            if rng.random() < 0.05:
                rows["disability"].append(
                    {
                        "id_number": idn,
                        "certificate_no": f"C{i}",
                        "category": "physical",
                        "grade": "1",
                        "issued_on": D(2020, 1, 1),
                    }
                )
        if rng.random() < 0.85:
            authorised(h)
        if size == 1 and rng.random() < 0.5:
            Declaration.objects.create(household=h, person_id=h.head_id, kind="no_supporter", valid_from=D(2026, 1, 1))
    for source, data in rows.items():
        if data:
            make_snapshot(source, data)
    return households


def test_batch_and_window_agree_on_a_varied_sample(officer, household_data, set_params, make_snapshot, authorised):
    households = varied_region(officer, household_data, set_params, make_snapshot, authorised)
    engine_inputs, _record, _snaps = inputs.for_region(COUNTY, AS_OF)
    batch = {h["household_key"]: h for h in execute(engine_inputs)["households"].to_pylist()}
    assert len(batch) == 40
    verdicts = {(h["dibao"], h["edge"], h["tekun"] or h["tekun_pending"], h["rigid"]) for h in batch.values()}
    assert len(verdicts) >= 3, "the sample should exercise several verdicts"

    for h in households:
        one = execute(inputs.for_households([h.pk], h.region_id, AS_OF)[0])["households"].to_pylist()
        assert one == [batch[h.pk]]
        assert explain.reasons(one[0]) == explain.reasons(batch[h.pk])
        if batch[h.pk]["authorisation_id"] is not None:
            stored = services.check_household(h.pk, user=officer, as_of=AS_OF)
            assert stored.dibao_amount == explain.yuan(batch[h.pk]["dibao_amount"])
            assert stored.reasons == explain.reasons(batch[h.pk])
            assert_totals_are_the_evidence_summed(stored)


def test_a_region_checked_in_chunks_gets_the_verdicts_of_one_pass(
    officer, household_data, set_params, make_snapshot, authorised
):
    varied_region(officer, household_data, set_params, make_snapshot, authorised)
    engine_inputs, _record, snapshots = inputs.for_region(COUNTY, AS_OF)
    # A third of every source's rows as if imported before their person was registered: without a key, matched by
    # identity number in whichever chunk holds the person.
    con = duckdb.connect()
    for path in (snapshot_path(s) for s in snapshots.values() if s):
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN row_no % 3 = 0 THEN NULL ELSE person_key END AS person_key)"
            f" FROM read_parquet('{path}')) TO '{path}.tmp' (FORMAT parquet)"
        )
        path.with_suffix(".parquet.tmp").replace(path)
    con.close()
    whole = execute(engine_inputs, ("households", "persons"))
    for size in (1, 7, 39):
        for output, key in (("households", "household_key"), ("persons", "person_key")):
            chunked = pa.Table.from_batches(list(stream(engine_inputs, output, chunk_households=size, batch_rows=5)))
            assert chunked.num_rows == whole[output].num_rows
            assert chunked.sort_by(key).to_pylist() == whole[output].sort_by(key).to_pylist()


def assert_totals_are_the_evidence_summed(result) -> None:
    """The verdicts fold the items per person without listing them; the report lists them. Summed as the report
    reads them (a period total per person and item, divided and rounded once), they give the same totals."""
    groups: dict[tuple, list] = {}
    for e in result.evidence:
        key = (e["person"], e["item"], e["role"], e["divisor"], e["counted"])
        groups.setdefault(key, []).append(round(Decimal(e["amount"]) * 100))
    summed: dict[tuple[str, str], int] = {}
    for (person, _item, role, divisor, counted), cents in groups.items():
        monthly = (sum(cents) * 2 + divisor) // (divisor * 2)
        if role == "income":
            role = "counted" if counted else "excluded_income"
        summed[person, role] = summed.get((person, role), 0) + monthly
    for p in result.facts["persons"]:
        assert p["counted"] == summed.get((p["name"], "counted"), 0), p["name"]
        assert p["excluded_income"] == summed.get((p["name"], "excluded_income"), 0), p["name"]
        assert p["financial"] == summed.get((p["name"], "financial_asset"), 0), p["name"]
        assert p["rigid"] == summed.get((p["name"], "rigid"), 0), p["name"]
        assert p["has_data"] == any(e["person"] == p["name"] and e["source"] != "declaration" for e in result.evidence)

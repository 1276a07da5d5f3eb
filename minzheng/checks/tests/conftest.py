import datetime
import hashlib

import duckdb
import pytest

from minzheng.checks import rules
from minzheng.checks.models import Snapshot
from minzheng.conftest import COUNTY, VILLAGE, make_id_number

D = datetime.date
AS_OF = D(2026, 12, 1)
SIGNED_ON = D(2026, 11, 1)
START = D(2025, 1, 1)


@pytest.fixture(autouse=True)
def checks_dir(settings, tmp_path):
    settings.CHECKS_DATA_DIR = tmp_path / "checks"
    return settings.CHECKS_DATA_DIR


@pytest.fixture
def set_params():
    """Local parameter values for a region (the county by default), in force from START."""
    from minzheng.policy.models import Parameter

    def apply(region: str = COUNTY, on: datetime.date = START, **values):
        for key, value in values.items():
            Parameter.objects.create(key=key.replace("__", "."), region_id=region, effective_from=on, value=value)

    return apply


@pytest.fixture
def make_snapshot(checks_dir):
    """Write a Parquet snapshot the way the importer lays it out (keys resolved from the registry)."""
    from minzheng.registry.models import Person

    counter = {"n": 0}

    def make(source: str, rows: list[dict], *, region: str = COUNTY, period: datetime.date = AS_OF) -> Snapshot:
        counter["n"] += 1
        keys = dict(Person.objects.values_list("id_number", "id"))
        schema = rules.source_schema(source)
        snap = Snapshot.objects.create(
            source=source,
            region_id=region,
            period=period,
            version=counter["n"],
            file_format="parquet",
            file_sha256=hashlib.sha256(f"{source}{counter['n']}".encode()).hexdigest(),
            content_sha256="",
            path=f"snapshots/{source}/{counter['n']}.parquet",
            rows_total=len(rows),
            rows_valid=len(rows),
        )
        target = checks_dir / snap.path
        target.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        types = {
            "int64": "BIGINT",
            "int32": "INTEGER",
            "string": "VARCHAR",
            "date": "DATE",
            "decimal(18,2)": "DECIMAL(18,2)",
        }
        cols = ", ".join(f"{name} {types[t]}" for name, t in schema.items())
        con.execute(f"CREATE TABLE s ({cols})")
        for i, row in enumerate(rows, start=1):
            values = {"snapshot_id": snap.pk, "row_no": i, "person_key": keys.get(row["id_number"]), **row}
            con.execute(
                f"INSERT INTO s VALUES ({', '.join('?' for _ in schema)})",
                [None if values.get(name) is None else str(values.get(name)) for name in schema],
            )
        con.execute(f"COPY (SELECT * FROM s ORDER BY person_key) TO '{target}' (FORMAT parquet)")
        con.close()
        return snap

    return make


@pytest.fixture
def officer(make_user):
    return make_user("county_approver")


@pytest.fixture
def family(officer, household_data):
    """Worked example 1's rural household of three: an earner, a spouse, a student."""
    from minzheng.registry import services as registry

    return registry.create_household(
        officer,
        household_data(
            VILLAGE,
            [
                ("02", "王大山", make_id_number(seq=11)),
                ("12", "李秀兰", make_id_number(birth="19820202", seq=22)),
                ("20", "王小明", make_id_number(birth="20080303", seq=31)),
            ],
            area_type="rural",
        ),
    )


@pytest.fixture
def authorised(officer):
    from minzheng.checks import services

    def sign(household, on: datetime.date = SIGNED_ON, **kw):
        return services.record_authorisation(household, user=officer, signed_on=on, **kw)

    return sign


def member_ids(household) -> list[str]:
    return [m.person.id_number for m in household.current_memberships()]


def wages(id_number: str, amount: str, months: int = 12, before: datetime.date = AS_OF) -> list[dict]:
    """Monthly wage rows for the `months` months before `before`'s month."""
    rows = []
    for i in range(1, months + 1):
        total = before.year * 12 + before.month - 1 - i
        rows.append({"id_number": id_number, "month": D(total // 12, total % 12 + 1, 1), "gross_wage": amount})
    return rows


def case_awaiting_check(clerk, household, today: datetime.date, investigators: list[str]):
    """A 低保 application of `household`, accepted with every material six days ago, investigated and with the
    data check requested five days ago: the case the 登记核对结果 step runs the engine on."""
    from minzheng.cases import services as cases

    case = cases.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
        today=today - datetime.timedelta(days=6),
    )
    earlier = today - datetime.timedelta(days=5)
    cases.act(clerk, case.pk, "start_investigation", investigators=investigators, today=earlier)
    cases.act(clerk, case.pk, "request_check", today=earlier)
    return case

"""Shared test fixtures: real division data for 张家口 (1307), users of every role, and an authenticated client.

Region codes used across the suite (all real, NBS 2023):
  130722        张北县 (county)            130702       桥东区 (another county)
  130722100     张北镇 (township)          130722101    公会镇 (another township, same county)
  130722100201  南壕堑村村民委员会 (rural)  130722100001 教育街社区居民委员会 (urban)
"""

import datetime
import hashlib
import importlib
import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop in-thread

CITY = "130700000000"
COUNTY = "130722000000"
OTHER_COUNTY = "130702000000"
TOWNSHIP = "130722100000"
OTHER_TOWNSHIP = "130722101000"
VILLAGE = "130722100201"
URBAN_VILLAGE = "130722100001"
OTHER_VILLAGE = "130722101202"
SIBLING_VILLAGE = "130722100004"  # 建设街社区, same township as VILLAGE
OTHER_COUNTY_VILLAGE = "130702001025"  # 桥东区茶坊社区
OTHER_CITY_VILLAGE = "130102001001"  # 石家庄市长安区棉一东社区
ROOT = "000000000000"
# Dates of the departmental-data tests (checks and monitoring).
AS_OF = datetime.date(2026, 12, 1)
SIGNED_ON = datetime.date(2026, 11, 1)
START = datetime.date(2025, 1, 1)
PASSWORD = "Minzheng#Test2026"

# The region each role is bound to in tests.
ROLE_REGIONS = {
    "clerk": TOWNSHIP,
    "assistant": VILLAGE,
    "township_reviewer": TOWNSHIP,
    "county_approver": COUNTY,
    "leader": CITY,
    "admin": CITY,
    "auditor": CITY,
}


def ensure_regions() -> None:
    """Divisions (and the service catalogue, seeded by a data migration) for tests whose flush removed them."""
    from minzheng.policy.loader import load_catalogue
    from minzheng.policy.models import Material, ServiceItem
    from minzheng.regions.importer import import_regions
    from minzheng.regions.models import Region

    if not ServiceItem.objects.exists():
        load_catalogue(ServiceItem, Material)

    if not Region.objects.filter(code=OTHER_VILLAGE).exists():
        import_regions("1307")
    if not Region.objects.filter(code=OTHER_CITY_VILLAGE).exists():
        import_regions("130102")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need no brute-force resistance; production keeps Django's PBKDF2 default."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_regions()


@pytest.fixture(scope="module")
def audit_log_flushable(django_db_setup, django_db_blocker):
    """Let transactional (and live_server) tests' flush empty the append-only audit log; the guard is restored after the module.

    `live_server` makes every test transactional, and pytest-django empties every table after each one (DELETE on
    SQLite, TRUNCATE on PostgreSQL) — which the audit log's append-only triggers (core migration 0002) refuse, so
    the teardown fails and the next test starts on the previous one's rows. Module scope puts this fixture's
    teardown after the last test's flush. The browser tests do not exercise the guard (core/tests/test_audit does).
    """
    from django.db import connection

    guard = importlib.import_module("minzheng.core.migrations.0002_audit_append_only")
    postgres = connection.vendor == "postgresql"
    triggers = ["core_auditentry_append_only", "core_auditentry_no_truncate"]
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if postgres:
            for trigger in triggers:
                cursor.execute(f"ALTER TABLE core_auditentry DISABLE TRIGGER {trigger}")
        else:
            for sql in guard.SQLITE_REVERSE:
                cursor.execute(sql)
    try:
        yield
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            if postgres:
                for trigger in triggers:
                    cursor.execute(f"ALTER TABLE core_auditentry ENABLE TRIGGER {trigger}")
            else:
                for sql in guard.SQLITE:
                    cursor.execute(sql)


@pytest.fixture
def regions(audit_log_flushable, transactional_db):
    """For transactional tests (live_server, threads), whose flush removes the session's regions."""
    ensure_regions()


@pytest.fixture
def make_user(db):
    from minzheng.accounts.models import User

    counter = {"n": 0}

    def make(role: str = "clerk", region: str | None = None, username: str | None = None, **extra) -> User:
        counter["n"] += 1
        user = User(
            username=username or f"{role}{counter['n']}",
            role=role,
            region_id=region or ROLE_REGIONS[role],
            last_name=extra.pop("last_name", "测试"),
            first_name=extra.pop("first_name", role),
            **extra,
        )
        user.set_password(PASSWORD)
        user.full_clean(exclude=["password"])
        user.save()
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    """pytest-django's `admin_client` logs in as this: the administrator of 张家口市 (the admin is scoped to the
    administrator's region, issue 18 §4; a superuser without a region sees nothing there)."""
    return make_user("admin", region=CITY, username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def make_id_number(area: str = "130722", birth: str = "19800101", seq: int = 1) -> str:
    """A valid 18-digit identity number (GB 11643): odd `seq` = male."""
    from stdnum.cn import ric

    body = f"{area}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def household_data():
    """Build a HouseholdData for a village with a head and optional further members."""
    from minzheng.registry.services import HouseholdData, MemberData, PersonData

    def build(region: str = VILLAGE, members: list[tuple[str, str, str]] | None = None, **extra) -> HouseholdData:
        members = members or [("02", "张三", make_id_number(seq=11))]
        return HouseholdData(
            region_code=region,
            address=extra.pop("address", "张北县张北镇南壕堑村1号"),
            members=[MemberData(rel, PersonData(name=name, id_number=number)) for rel, name, number in members],
            **extra,
        )

    return build


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

    def make(source: str, rows: list[dict], *, region: str = COUNTY, period: datetime.date = AS_OF):
        counter["n"] += 1
        keys = dict(Person.objects.values_list("id_number", "id"))
        from minzheng.exchange.models import Snapshot
        from minzheng.exchange.sources import ALL_SOURCES, KIND_IBIS

        # The importer's layout: every declared field, free text included (the rules read a subset).
        schema = {"snapshot_id": "int64", "row_no": "int32", "person_key": "int64"}
        schema |= {f.name: KIND_IBIS[f.kind] for f in ALL_SOURCES[source].fields}
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
        import duckdb

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


# --- Spark (the engines' agreement tests) ---------------------------------------------------------------------------

# CI sets MINZHENG_REQUIRE_SPARK: there the Spark tests must run, never skip.
SPARK_REQUIRED = os.environ.get("MINZHENG_REQUIRE_SPARK", "") not in ("", "0")
# A few hundred rows: compiling Java code per stage and planning shuffles cost more than the work itself.
SPARK_TEST_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.enabled": "false",
}


def spark_marks() -> list:
    """The marks of a module of Spark tests: skipped where Spark cannot run, unless CI requires it."""
    from minzheng.core.spark import missing

    problem = missing()
    return [
        pytest.mark.spark,
        # pyspark's type converters probe for pandas (another dependency brings 3.x) and warn; nothing uses pandas.
        pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
        pytest.mark.skipif(problem is not None and not SPARK_REQUIRED, reason=f"Spark unavailable: {problem}"),
    ]


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session for the whole test run (the JVM starts once); the runners take sessions of their own
    on it, as in production."""
    from minzheng.core import spark

    if problem := spark.missing():
        pytest.fail(f"MINZHENG_REQUIRE_SPARK is set but Spark cannot run: {problem}", pytrace=False)
    session = spark.session(master="local[2]", conf=SPARK_TEST_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

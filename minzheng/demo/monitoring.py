"""Demo data for low-income monitoring: a month of departmental signals, the sweeps that turn them into warnings, and
the first follow-up work (home visits, closed warnings with the case or referral they led to).

The flow, as a bureau would live it:

1. the first sweep of the prefecture reads what the departments have already delivered for the economic-status
   checks (a year of medical bills, disability certificates, deaths and moves; see `checks.demo`);
2. this month's deliveries of the seven monitoring feeds arrive and go through the real importer
   (`checks.importer.import_file`), as the prefecture's delivery: medical bills (some very high), new and upgraded
   disability certificates, deaths and moves, employment and unemployment registrations, student aid and dropouts,
   a disaster in one township, and changes to the 防止返贫 monitoring list. The three feeds that are also checking
   sources are delivered as the department's whole current data (last delivery plus this month's rows), so the
   checking engine, which reads the newest delivery, keeps seeing the full year;
3. the nightly sweep (a system sweep) reads them: duplicate suppression keeps what the first sweep raised from being
   raised again;
4. staff start working the list through the services: visits recorded by the township and village staff, some
   warnings closed with a referral, a proactive application (主动发现) or no further action.

Generation is set-based in DuckDB, as in `checks.demo`: every random draw is a hash of a stable key (identity number,
the household's smallest identity number, the township code) with the seed, so the same population and seed give
byte-identical files. About 1 % of each month's rows name people the registry does not know and about 1 % are
malformed (bad check digit, 15-digit number, impossible date, text in an amount), so the rejects reports have content.

The walk-through of the issue needs one thing more: a 低保 household in the village of the demo `assistant` (张北镇
南壕堑村). If the demo cases gave that village none, one application is driven to approval there through the case
services (as `generate_cases` does); this month one of its members dies, and a few other signals touch the village.
"""

import datetime
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from minzheng.checks import inputs as check_inputs
from minzheng.core.errors import DomainError
from minzheng.core.workdays import WorkingCalendar
from minzheng.demo import checks as check_demo
from minzheng.demo import followup, parameters, sql, words
from minzheng.exchange.files import snapshot_path
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import ALL_SOURCES, SIGNAL_FEEDS, SIGNALLING_SOURCES
from minzheng.monitoring import services
from minzheng.monitoring.models import Alert, EntrySource, MonitoredEntry, Sweep
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

FEEDS = (*SIGNALLING_SOURCES, *SIGNAL_FEEDS)  # medical, disability, civil_status, employment, student, disaster, …
FILE_PREFIX = "jc"  # 监测: the demo's delivery files are jc-<source>-<city>-<date>.csv
UNMATCHED_SHARE = 0.01
MALFORMED_SHARE = 0.01
WALKTHROUGH_USER = "assistant"

Progress = Callable[[str], None]

_SCHOOLS = {
    "kindergarten": ["中心幼儿园", "第一幼儿园"],
    "primary": ["中心小学", "第二小学", "实验小学"],
    "junior": ["第二中学", "第三中学", "中心中学"],
    "senior": ["第一中学", "职业技术教育中心"],
    "college": ["张家口学院", "河北北方学院", "张家口职业技术学院"],
}
# The disaster of the month, by season (张家口: snow and cold in winter, drought in spring, hail and floods in summer).
_SEASON_DISASTER = {1: "snow", 2: "snow", 3: "snow", 4: "drought", 5: "drought", 6: "hail", 7: "flood", 8: "hail"}
_SEASON_DISASTER.update({9: "hail", 10: "hail", 11: "snow", 12: "snow"})
_RISKS = ["illness"] * 7 + ["disability"] * 3 + ["education"] * 2 + ["accident", "industry", "industry"]
_RISKS += ["employment"] * 3 + ["other"]

# ---------------------------------------------------------------------------------------------------- generation


def _disability_digit() -> str:
    return " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in words.DISABILITY_DIGIT.items())


def build_people(con: duckdb.DuckDBPyConnection) -> None:
    """`people`: the living members of the region (no death or move already on record), with their age, school stage,
    household size and the household's monitored categories (from decisions and checks)."""
    con.execute(
        """
        CREATE OR REPLACE MACRO recent(k, tag) AS days_back(k, tag, 1, 29);
        CREATE OR REPLACE TABLE hh_reg AS
        SELECT household_key, bool_or(category = 'dibao') AS dibao,
               bool_or(category IN ('dibao', 'tekun')) AS recipient, true AS monitored
        FROM register_in GROUP BY household_key;
        CREATE OR REPLACE TABLE people AS
        SELECT *, CASE WHEN age BETWEEN 3 AND 5 THEN 'kindergarten' WHEN age BETWEEN 6 AND 11 THEN 'primary'
                       WHEN age BETWEEN 12 AND 14 THEN 'junior'
                       WHEN age BETWEEN 15 AND 17 AND u(id_number, 'jc.enrol') < 0.9 THEN 'senior'
                       WHEN age BETWEEN 18 AND 21 AND u(id_number, 'jc.enrol') < 0.45 THEN 'college' END AS stage,
               count(*) OVER (PARTITION BY household_key) AS size,
               min(id_number) OVER (PARTITION BY household_key) AS hid
        FROM (
            SELECT m.household_key, m.person_key, m.id_number, m.area_type = 'urban' AS urban,
                   coalesce(m.disability_category, '') AS dis_cat, m.disability_grade AS dis_grade,
                   p.region_id AS village, substr(p.region_id, 1, 9) AS township, p.head_key,
                   coalesce(r.dibao, false) AS dibao, coalesce(r.recipient, false) AS recipient,
                   coalesce(r.monitored, false) AS monitored,
                   year(getvariable('ref')) - year(m.birth_date)
                     - CASE WHEN strftime(getvariable('ref'), '%m%d') < strftime(m.birth_date, '%m%d') THEN 1 ELSE 0 END
                     AS age
            FROM members_in m JOIN places_in p USING (household_key) LEFT JOIN hh_reg r USING (household_key)
            WHERE (m.deceased_on IS NULL OR m.deceased_on > getvariable('ref'))
              AND m.id_number NOT IN (SELECT id_number FROM base_civil_status WHERE id_number IS NOT NULL)
        );
        """
    )


def build_sources(con: duckdb.DuckDBPyConnection, ref: datetime.date) -> None:
    """One table `src_<feed>` per feed with this month's rows: (person_key, id_number, fields...). Random draws give
    the background; a few rows are placed on purpose on monitored households (so every rule shows in a small
    demo) and in the walk-through village (getvariable('walk_household'), getvariable('walk_village'))."""
    digit = _disability_digit()
    informal = sql.sql_list(words.EMPLOYERS_INFORMAL)
    formal = sql.sql_list(words.EMPLOYERS_FORMAL)
    school_cases = " ".join(
        f"WHEN '{stage}' THEN {sql.pick(names, 'id_number', 'jc.school')}" for stage, names in _SCHOOLS.items()
    )
    disaster = _SEASON_DISASTER[ref.month]
    con.execute(
        f"""
        -- Deaths, moves and prison: monthly rates by age; two deaths and a move in monitored households; in the
        -- walk-through household the oldest member other than the head dies.
        CREATE OR REPLACE TABLE src_civil_status AS
        WITH forced AS (
            SELECT person_key, id_number, 'death' AS event, 1 AS o FROM people
            WHERE household_key = getvariable('walk_household') AND person_key IS DISTINCT FROM head_key
            QUALIFY row_number() OVER (ORDER BY age DESC, id_number) = 1
            UNION ALL
            (SELECT person_key, id_number, 'death', 2 FROM people
             WHERE monitored AND age >= 55 AND person_key IS DISTINCT FROM head_key
               AND household_key <> getvariable('walk_household')
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.death')) <= 2)
            UNION ALL
            (SELECT person_key, id_number, 'move_out', 3 FROM people
             WHERE recipient AND age BETWEEN 18 AND 45 AND size >= 2 AND person_key IS DISTINCT FROM head_key
               AND household_key <> getvariable('walk_household')
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.move')) <= 1)
        ), drawn AS (
            SELECT person_key, id_number, CASE
                WHEN u(id_number, 'jc.death') < CASE WHEN age >= 85 THEN 0.006 WHEN age >= 75 THEN 0.0025
                                                     WHEN age >= 60 THEN 0.0008 ELSE 0.00005 END THEN 'death'
                WHEN age BETWEEN 18 AND 40 AND u(id_number, 'jc.move_out') < 0.0006 THEN 'move_out'
                WHEN age BETWEEN 20 AND 50 AND u(id_number, 'jc.prison') < 0.00008 THEN 'imprisoned' END AS event
            FROM people WHERE household_key <> getvariable('walk_household')
        )
        SELECT person_key, id_number, event, recent(id_number, 'jc.event_on') AS event_on FROM (
            SELECT person_key, id_number, event FROM (SELECT * FROM forced QUALIFY row_number() OVER
                (PARTITION BY person_key ORDER BY o) = 1)
            UNION ALL
            SELECT person_key, id_number, event FROM drawn
            WHERE event IS NOT NULL AND person_key NOT IN (SELECT person_key FROM forced)
        );

        -- New certificates (mostly older people) and upgrades of a grade-3/4 certificate; one in a monitored household
        -- and one (grade 2) in another household of the walk-through village.
        CREATE OR REPLACE TABLE src_disability AS
        WITH n AS (
            SELECT person_key, id_number,
                   {
            sql.pick(
                ["physical"] * 4 + ["visual", "hearing", "speech", "intellectual", "mental"], "id_number", "jc.dis_cat"
            )
        } AS category,
                   ['1', '2', '2', '3', '3', '3', '4', '4', '4', '4'][1 + CAST(hash(id_number, 'jc.grade',
                       getvariable('seed')) % 10 AS INTEGER)] AS grade, 1 AS o
            FROM people WHERE dis_cat = '' AND age >= 30 AND u(id_number, 'jc.disability') < 0.0008
            UNION ALL
            SELECT person_key, id_number, dis_cat, CAST(dis_grade - 1 AS VARCHAR), 1 FROM people
            WHERE dis_grade IN (3, 4) AND u(id_number, 'jc.upgrade') < 0.012
            UNION ALL
            (SELECT person_key, id_number, CASE WHEN dis_cat = '' THEN 'physical' ELSE dis_cat END, '3', 0 FROM people
             WHERE monitored AND coalesce(dis_grade, 9) > 3 AND household_key <> getvariable('walk_household')
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.disability')) = 1)
            UNION ALL
            (SELECT person_key, id_number, CASE WHEN dis_cat = '' THEN 'physical' ELSE dis_cat END, '2', 0 FROM people
             WHERE village = getvariable('walk_village') AND household_key <> getvariable('walk_household')
               AND coalesce(dis_grade, 9) > 2 AND age >= 18
             QUALIFY row_number() OVER (ORDER BY age DESC, id_number) = 1)
        )
        SELECT person_key, id_number, id_number || CASE category {digit} END || grade AS certificate_no, category,
               grade, recent(id_number, 'jc.issued_on') AS issued_on
        FROM n QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY o) = 1;

        -- This month's settlements: routine visits, some stays in hospital, a few very costly treatments (two of
        -- them in households receiving 低保/特困, one in the walk-through village).
        CREATE OR REPLACE TABLE src_medical AS
        WITH v AS (
            SELECT person_key, id_number, 'big' AS kind FROM people
            WHERE u(id_number, 'jc.big') < 0.0004 + CASE WHEN age >= 50 THEN 0.0008 ELSE 0 END
            UNION ALL
            (SELECT person_key, id_number, 'big' FROM people WHERE recipient
             QUALIFY row_number() OVER (PARTITION BY household_key ORDER BY u(id_number, 'jc.f.big')) = 1
                 AND dense_rank() OVER (ORDER BY u(hid, 'jc.f.big_household')) <= 2)
            UNION ALL
            (SELECT person_key, id_number, 'big' FROM people
             WHERE village = getvariable('walk_village') AND household_key <> getvariable('walk_household') AND age >= 40
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.walk_big')) = 1)
            UNION ALL
            SELECT person_key, id_number, 'inpatient' FROM people WHERE u(id_number, 'jc.inpatient') < 0.004
            UNION ALL
            SELECT person_key, id_number, 'visit' FROM people
            WHERE u(id_number, 'jc.visit') < CASE WHEN age >= 60 THEN 0.08 ELSE 0.04 END
        ), c AS (
            SELECT DISTINCT ON (person_key, kind) *,
                   CASE kind WHEN 'big' THEN lognormal(70000, 0.35, id_number, 'jc.cost')
                             WHEN 'inpatient' THEN lognormal(9000, 0.6, id_number, 'jc.cost')
                             ELSE lognormal(500, 0.9, id_number, 'jc.cost') END AS total,
                   CASE kind WHEN 'visit' THEN 0.3 + 0.3 * u(id_number, 'jc.covered')
                             ELSE 0.5 + 0.2 * u(id_number, 'jc.covered') END AS covered
            FROM v
        )
        SELECT person_key, id_number, recent(id_number || kind, 'jc.settled_on') AS settled_on, yuan(total) AS total_cost,
               yuan(total * covered) AS fund_paid, yuan(total) - yuan(total * covered) AS out_of_pocket
        FROM c;

        -- 就业失业登记: background registrations, and on purpose three 低保 members registered employed and two
        -- members of monitored households registered unemployed.
        CREATE OR REPLACE TABLE src_employment AS
        WITH f_emp AS (
            SELECT person_key, id_number, 'employed' AS status, 0 AS o FROM people
            WHERE dibao AND age BETWEEN 18 AND 59 AND stage IS NULL
            QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.employed')) <= 3
        ), f_unemp AS (
            SELECT person_key, id_number, 'unemployed' AS status, 0 AS o FROM people
            WHERE monitored AND age BETWEEN 22 AND 55 AND stage IS NULL
              AND person_key NOT IN (SELECT person_key FROM f_emp)
            QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.unemployed')) <= 2
        ), r AS (
            SELECT * FROM f_emp UNION ALL SELECT * FROM f_unemp
            UNION ALL
            SELECT person_key, id_number, CASE
                WHEN age BETWEEN 22 AND 55 AND u(id_number, 'jc.unemployed') < 0.002 THEN 'unemployed'
                WHEN age BETWEEN 18 AND 59 AND u(id_number, 'jc.employed') < 0.004 THEN 'employed'
                WHEN age BETWEEN 22 AND 59 AND u(id_number, 'jc.ended') < 0.001 THEN 'ended' END, 1
            FROM people WHERE stage IS NULL
        )
        SELECT person_key, id_number, status, recent(id_number, 'jc.registered_on') AS registered_on,
               CASE WHEN status = 'employed' THEN CASE WHEN u(id_number, 'jc.formal') < 0.4
                   THEN {formal}[1 + CAST(hash(id_number, 'jc.employer', getvariable('seed')) % {
            len(words.EMPLOYERS_FORMAL)
        } AS INTEGER)]
                   ELSE {informal}[1 + CAST(hash(id_number, 'jc.employer', getvariable('seed')) % {
            len(words.EMPLOYERS_INFORMAL)
        } AS INTEGER)]
                   END END AS employer
        FROM r WHERE status IS NOT NULL QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY o) = 1;

        -- 学生资助与控辍保学: students recognised as from families in economic difficulty (most students of
        -- monitored households, a few others — one in the walk-through village), and some dropouts.
        CREATE OR REPLACE TABLE src_student AS
        WITH r AS (
            SELECT person_key, id_number, stage, 'aid' AS status, 1 AS o FROM people
            WHERE stage IS NOT NULL AND u(id_number, 'jc.aid') < CASE WHEN monitored THEN 0.3 ELSE 0.004 END
            UNION ALL
            (SELECT person_key, id_number, stage, 'aid', 0 FROM people
             WHERE stage IS NOT NULL AND NOT monitored AND village = getvariable('walk_village')
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.aid')) = 1)
            UNION ALL
            SELECT person_key, id_number, stage, 'dropout', 0 FROM people
            WHERE stage IN ('junior', 'senior') AND u(id_number, 'jc.dropout') < 0.0015
            UNION ALL
            (SELECT person_key, id_number, stage, 'dropout', 0 FROM people
             WHERE monitored AND stage IN ('junior', 'senior')
             QUALIFY row_number() OVER (ORDER BY u(id_number, 'jc.f.dropout')) = 1)
        )
        SELECT person_key, id_number, status, stage, recent(id_number, 'jc.student_on') AS event_on,
               CASE stage {school_cases} END AS school
        FROM r QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY o) = 1;

        -- One disaster in one township (the season's kind): about a third of its households report losses.
        CREATE OR REPLACE TABLE struck AS
        SELECT township, CAST(getvariable('ref') - CAST(5 + floor(u(township, 'jc.disaster_day') * 15) AS INTEGER)
                              AS DATE) AS occurred_on
        FROM (SELECT township, count(DISTINCT household_key) AS n FROM people GROUP BY township)
        ORDER BY n >= 30 DESC, hash(township, 'jc.township', getvariable('seed')) LIMIT 1;
        CREATE OR REPLACE TABLE src_disaster AS
        SELECT person_key, id_number, '{disaster}' AS disaster, s.occurred_on,
               yuan(round(lognormal(5000, 0.8, hid, 'jc.loss'), -1)
                    + CASE damage WHEN 'collapsed' THEN 40000 WHEN 'damaged' THEN 8000 ELSE 0 END) AS loss,
               damage AS house_damage
        FROM (
            SELECT *, CASE WHEN u(hid, 'jc.house') < 0.05 THEN 'collapsed' WHEN u(hid, 'jc.house') < 0.3 THEN 'damaged'
                           ELSE 'none' END AS damage
            FROM people WHERE id_number = hid AND township = (SELECT township FROM struck)
              AND u(hid, 'jc.affected') < 0.35
        ) p, struck s;

        -- 防止返贫监测: rural households newly identified (every member; those whose house the disaster destroyed
        -- among them, and one in the walk-through village) and others whose risk was eliminated.
        CREATE OR REPLACE TABLE src_anti_poverty AS
        WITH lost AS (SELECT hid FROM src_disaster d JOIN people p USING (person_key) WHERE house_damage = 'collapsed'),
        r AS (
            SELECT person_key, id_number, hid, 'identified' AS status,
                   CASE WHEN hid IN (SELECT hid FROM lost) THEN 'disaster'
                        ELSE {sql.pick(_RISKS, "hid", "jc.risk")} END AS risk
            FROM people
            WHERE NOT urban AND NOT recipient AND (u(hid, 'jc.ap') < 0.004 OR hid IN (SELECT hid FROM lost)
                                                   OR hid = (SELECT min(hid) FROM people WHERE NOT recipient
                                                             AND village = getvariable('walk_village')
                                                             AND household_key <> getvariable('walk_household'))
                                                   OR hid = (SELECT arg_min(hid, u(hid, 'jc.f.ap')) FROM people
                                                             WHERE NOT urban AND NOT recipient))
            UNION ALL
            SELECT person_key, id_number, hid, 'eliminated', {sql.pick(_RISKS, "hid", "jc.risk")} FROM people
            WHERE NOT urban AND NOT recipient AND u(hid, 'jc.ap') >= 0.004 AND u(hid, 'jc.ap_elim') < 0.002
        )
        SELECT person_key, id_number, status, risk, recent(hid, 'jc.ap_on') AS event_on FROM r
        QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY status = 'identified' DESC) = 1;
        """
    )


# ------------------------------------------------------------------------------------------------- the inputs

_PLACES = pa.schema([("household_key", pa.int64()), ("region_id", pa.string()), ("head_key", pa.int64())])
_REGISTER = pa.schema([("household_key", pa.int64()), ("person_key", pa.int64()), ("category", pa.string())])


def _places(region: str) -> pa.Table:
    from minzheng.registry.models import Household

    low, high = region_codes.subtree_range(region)
    rows = Household.objects.filter(region_id__gte=low, region_id__lte=high).values_list("id", "region_id", "head_id")
    cols = list(zip(*rows, strict=True)) or [(), (), ()]
    return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, _PLACES, strict=True)], schema=_PLACES)


def _register(region: str) -> pa.Table:
    """Households monitored by decision or check (the 防返贫 list and manual entries come and go with the feeds)."""
    low, high = region_codes.subtree_range(region)
    rows = MonitoredEntry.objects.filter(
        end_on__isnull=True,
        region_id__gte=low,
        region_id__lte=high,
        source__in=(EntrySource.CASE, EntrySource.CHECK),
    ).values_list("household_id", "person_id", "category")
    cols = list(zip(*rows, strict=True)) or [(), (), ()]
    return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, _REGISTER, strict=True)], schema=_REGISTER)


def base_snapshot(code: str, city: str, ref: datetime.date) -> Snapshot | None:
    """The department's newest delivery of a checking source not made by this demo (what this month extends)."""
    lineage = region_codes.lineage(city)
    return (
        Snapshot.objects.filter(source=code, region_id__in=lineage, period__lte=ref)
        .exclude(original_name__startswith=f"{FILE_PREFIX}-")
        .order_by("-period", "-version", "-id")
        .first()
    )


def _bind_base(con: duckdb.DuckDBPyConnection, code: str, city: str, ref: datetime.date) -> None:
    snapshot = base_snapshot(code, city, ref)
    fields = ", ".join(
        f"CAST(NULL AS {f.sql_type}) AS {f.name}" for f in ALL_SOURCES[code].fields if f.name != "id_number"
    )
    if snapshot is None:
        con.execute(
            f"CREATE OR REPLACE TABLE base_{code} AS SELECT CAST(NULL AS VARCHAR) AS id_number, {fields} LIMIT 0"
        )
        return
    path = str(snapshot_path(snapshot)).replace("'", "''")
    names = ", ".join(ALL_SOURCES[code].field_names)
    con.execute(f"CREATE OR REPLACE TABLE base_{code} AS SELECT {names} FROM read_parquet('{path}')")


class Generation:
    """A DuckDB connection holding one region's generated month of signals (`src_<feed>` tables)."""

    def __init__(
        self,
        members: pa.Table,
        places: pa.Table,
        register: pa.Table,
        *,
        seed: int,
        ref: datetime.date,
        city: str,
        walk_household: int | None = None,
        walk_village: str = "",
    ):
        self.con = duckdb.connect()
        self.city, self.ref = city, ref
        sql.macros(self.con, seed, ref, unmatched_share=UNMATCHED_SHARE, malformed_share=MALFORMED_SHARE)
        self.con.execute(f"SET VARIABLE walk_household = CAST({int(walk_household or -1)} AS BIGINT)")
        self.con.execute(f"SET VARIABLE walk_village = '{walk_village or '-'}'")
        self.con.register("members_in", members)
        self.con.register("places_in", places)
        self.con.register("register_in", register)
        for code in SIGNALLING_SOURCES:
            _bind_base(self.con, code, city, ref)
        build_people(self.con)
        build_sources(self.con, ref)
        # The walk-through household gets its member's death and nothing else (one clear village-level warning).
        for code in FEEDS:
            if code != "civil_status":
                self.con.execute(
                    f"DELETE FROM src_{code} WHERE person_key IN"
                    " (SELECT person_key FROM people WHERE household_key = getvariable('walk_household'))"
                )

    def write_files(self, folder: Path) -> dict[str, tuple[Path, int]]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for code in FEEDS:
            path = folder / f"{FILE_PREFIX}-{code}-{self.city[:6]}-{self.ref:%Y%m%d}.csv"
            earlier = f"base_{code}" if code in SIGNALLING_SOURCES else ""
            rows = sql.write_delivery(self.con, ALL_SOURCES[code], path, "csv", tag="jc.", earlier=earlier)
            out[code] = (path, rows)
        return out

    def counts(self) -> dict[str, int]:
        """This month's rows per feed, before the unknown people and the spoilt rows are mixed in."""
        return {code: self.con.execute(f"SELECT count(*) FROM src_{code}").fetchall()[0][0] for code in FEEDS}

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Generation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------ the whole demo


@dataclass
class MonitoringDataResult(followup.FollowUpCounts):
    region: str
    period: datetime.date
    households: int
    persons: int
    walkthrough_case: str = ""  # the 低保 case driven for the walk-through ("" when the village had one)
    walkthrough_alert: str = ""  # the death warning of the walk-through
    new_rows: dict[str, int] = field(default_factory=dict)
    sources: list[check_demo.SourceOutcome] = field(default_factory=list)
    sweeps: list[dict] = field(default_factory=list)  # per sweep: id, snapshots, stats
    by_rule: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def monitoring_data_exists(prefix: str) -> bool:
    low, high = region_codes.subtree_range(parameters.city_code(prefix))
    return (
        Snapshot.objects.filter(region_id__gte=low, region_id__lte=high, source__in=list(SIGNAL_FEEDS)).exists()
        or Sweep.objects.filter(region_id__gte=low, region_id__lte=high).exists()
    )


def _walkthrough_household(village: str, seed: int, today: datetime.date) -> tuple[int | None, str]:
    """A 低保 household of at least two in the walk-through village: one approved already, or one driven to approval
    now through the case services (as `generate_cases` does). Returns (household id, case number if driven)."""
    from minzheng.cases import workflows as wf
    from minzheng.cases.models import Case
    from minzheng.demo import cases as case_demo
    from minzheng.registry.models import Household, Membership

    def sized(ids) -> list[int]:
        counts = (
            Membership.objects.filter(household_id__in=list(ids), left_on__isnull=True)
            .values("household_id")
            .annotate(n=Count("id"))
        )
        return sorted(c["household_id"] for c in counts if c["n"] >= 2)

    approved = Case.objects.filter(household__region_id=village, service__workflow="dibao", state=wf.APPROVED)
    found = sized(approved.values_list("household_id", flat=True))
    if found:
        return found[0], ""
    staff = case_demo._staff(village[:9] + "000")
    busy = Case.objects.filter(household__region_id=village).values_list("household_id", flat=True)
    free = sized(
        Household.objects.filter(region_id=village, head__isnull=False)
        .exclude(pk__in=busy)
        .values_list("pk", flat=True)
    )
    if not staff or not free:
        return None, ""
    rng = random.Random(seed)
    household = Household.objects.get(pk=rng.choice(free))
    start = today - datetime.timedelta(days=rng.randint(90, 150))
    with transaction.atomic():
        case = case_demo._drive(
            staff, household.pk, household.head_id, "dibao", wf.APPROVED, start, today, rng, WorkingCalendar()
        )
    if case.state != wf.APPROVED:
        return None, ""
    return household.pk, case.number


def _generation(
    city: str, as_of: datetime.date, seed: int, walk_household: int | None, walk_village: str
) -> Generation:
    return Generation(
        check_inputs.members(region_code=city),
        _places(city),
        _register(city),
        seed=seed,
        ref=as_of,
        city=city,
        walk_household=walk_household,
        walk_village=walk_village,
    )


def _walkthrough_village(region: str) -> str:
    """The demo assistant's village, when it lies in the region."""
    from minzheng.accounts.models import User

    assistant = User.objects.filter(username=WALKTHROUGH_USER, is_active=True).select_related("region").first()
    if assistant is None or assistant.region.level != region_codes.VILLAGE:
        return ""
    low, high = region_codes.subtree_range(region)
    return assistant.region_id if low <= assistant.region_id <= high else ""


def build_delivery_files(
    prefix: str, *, as_of: datetime.date | None = None, seed: int = 1, out_dir: Path
) -> dict[str, tuple[Path, int]]:
    """Only this month's delivery files for the region's population (nothing imported, driven or stored)."""
    from minzheng.cases import workflows as wf
    from minzheng.cases.models import Case

    as_of = as_of or timezone.localdate()
    city, village = parameters.city_code(prefix), _walkthrough_village(region_codes.canonical(prefix))
    approved = Case.objects.filter(household__region_id=village or "-", service__workflow="dibao", state=wf.APPROVED)
    household = approved.order_by("household_id").values_list("household_id", flat=True).first()
    with _generation(city, as_of, seed, household, village) as generation:
        return generation.write_files(out_dir)


def generate_monitoring_data(
    prefix: str,
    *,
    as_of: datetime.date | None = None,
    seed: int = 1,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> MonitoringDataResult:
    """The first sweep over the departments' existing data, a month of deliveries of every monitoring feed (written
    and imported), the nightly sweep over them, and the first visits and closures. Deterministic for a population
    and seed."""

    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise DomainError(f"比对基准日{as_of:%Y-%m-%d}晚于今天", "future_date")
    region, city = region_codes.canonical(prefix), parameters.city_code(prefix)
    if not Region.objects.filter(code=city).exists():
        raise DomainError(f"区划“{city}”尚未导入：请先运行 minzheng import_regions --prefix {prefix}", "unknown_region")
    members = check_inputs.members(region_code=region)
    if members.num_rows == 0:
        raise DomainError(
            f"区划“{prefix}”下没有家庭数据：请先运行 minzheng generate_population --prefix {prefix}", "no_population"
        )
    parameters.load_demo_parameters(prefix)
    result = MonitoringDataResult(
        region=city, period=as_of, households=len(pc.unique(members.column("household_key"))), persons=members.num_rows
    )

    # The walk-through: a 低保 household in the demo assistant's village.
    walk_village, walk_household = _walkthrough_village(region), None
    if walk_village:
        walk_household, result.walkthrough_case = _walkthrough_household(walk_village, seed, today)
        if result.walkthrough_case:
            name = Region.objects.get(code=walk_village).name
            say(f"演示走查：为{name}一户家庭办结低保申请 {result.walkthrough_case}")

    # 1. The first sweep: what the departments delivered for the checks.
    t = time.perf_counter()
    first = services.run_sweep(services.start_sweep(None, city, as_of, enqueue=False).pk)
    result.sweeps.append(_sweep_record(first))
    say(f"首次监测比对（读取已有部门数据 {first.snapshots.count()} 批）：新预警 {first.stats.get('warnings', 0)} 条")
    timings["first_sweep"] = time.perf_counter() - t

    # 2. This month's deliveries.
    t = time.perf_counter()
    members = check_inputs.members(region_code=city)
    folder = Path(out_dir) if out_dir else Path(settings.CHECKS_DATA_DIR) / "incoming"
    with _generation(city, as_of, seed, walk_household, walk_village) as generation:
        result.new_rows = generation.counts()
        paths = generation.write_files(folder)
    timings["generate_files"] = time.perf_counter() - t
    t = time.perf_counter()
    for code, (path, rows) in paths.items():
        if rows == 0:  # nothing to report this month: no delivery
            say(f"{ALL_SOURCES[code].name}：本月无数据")
            continue
        outcome = check_demo.import_delivery(code, path, rows, region_code=city, period=as_of)
        result.sources.append(outcome)
        say(f"{ALL_SOURCES[code].name}：{outcome.message}")
    timings["import"] = time.perf_counter() - t

    # 3. The nightly sweep.
    t = time.perf_counter()
    nightly = services.run_sweep(services.start_sweep(None, city, as_of, enqueue=False).pk)
    result.sweeps.append(_sweep_record(nightly))
    say(f"监测比对（本月信号 {nightly.snapshots.count()} 批）：新预警 {nightly.stats.get('warnings', 0)} 条")
    timings["sweep"] = time.perf_counter() - t

    # 4. The first follow-up work, on the warnings these sweeps raised.
    t = time.perf_counter()
    followup.age_backlog(first, today)
    new = Alert.objects.filter(sweep__in=[first, nightly])
    if walk_household:
        death = new.filter(household_id=walk_household, rule="death_member").first()
        result.walkthrough_alert = death.number if death else ""
    followup.follow_up(result, new, walk_household, walk_village, seed, today)
    timings["follow_up"] = time.perf_counter() - t

    low, high = region_codes.subtree_range(city)
    alerts = Alert.objects.filter(region_id__gte=low, region_id__lte=high)
    result.by_rule = {
        r: n for r, n in alerts.values_list("rule").annotate(n=Count("id")).values_list("rule", "n").order_by("rule")
    }
    result.by_outcome = dict(
        alerts.values_list("suggested_outcome").annotate(n=Count("id")).values_list("suggested_outcome", "n")
    )
    result.by_status = dict(alerts.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    timings["total"] = time.perf_counter() - started
    result.seconds = {k: round(v, 2) for k, v in timings.items()}
    return result


def _sweep_record(sweep: Sweep) -> dict:
    return {"id": sweep.pk, "snapshots": sweep.snapshots.count(), "stats": sweep.stats}

"""Demo data for the checking engine: illustrative local parameters and a year of departmental deliveries.

`generate_check_data` reads the members of a region's households (one Arrow table from `inputs.members`) and derives,
set-based in DuckDB, what the twelve departments (sources.py) would deliver about them: wages, pensions, deposits,
vehicles, property, businesses, housing fund, medical bills, disability certificates, deaths and moves, school fees
and transfers. Nothing loops over people in Python: every random draw is a hash of a stable key (the identity number,
or the household's smallest identity number) with the seed, so the same population and seed give byte-identical
files on SQLite and PostgreSQL, whatever primary keys the database handed out.

The files are written one per source (CSV by default, or xlsx/Parquet) with the sources' Chinese column labels, and
imported through the real importer (`importer.import_file`), so the demo's snapshots, reject reports and audit entries
are the ones a bureau would see: about 1 % of each file names people who are not in the registry (unmatched), and
about 0.5 % of the rows are malformed (bad check digit, 15-digit number, impossible date, text in an amount).

Then the investigation's part: signed authorisations (授权核对书) for every household with a case plus a sample of
others, and the declarations no department holds (informal support from children, no legal supporter for childless
elderly, serious illness). Finally the engine runs over the whole region and the shares of verdicts are reported.

The economic model (amounts in yuan a month), tuned so that under the demo parameters about 7 % of the demo's
households pass the 低保 income and asset tests, about 6 % are 低保边缘 and most are not eligible:

* each household draws a standard-normal prosperity `z`; employment, wages, savings, cars and property rise with it.
  Households whose 低保/特困/支出型临时救助 application is under way or approved are mostly in hardship (low `z`,
  fewer earners, little recorded support), so the data bears most applications out;
* working-age members (18–59, not in school) have recorded wages with probability ≈ 0.92 + 0.1 z (less with a
  disability); wages are log-normal around 4,800 (urban) / 3,600 (rural), some seasonal (4–11 months, more in
  villages and poorer households); some rural 60–69-year-olds do a few months of odd jobs;
* people of 60 and over draw a town-worker pension (most urban elderly, few rural ones) or the residents' pension
  (the central basic part, excluded from income, plus a small personal account); elderly in households without a
  working-age earner are mostly supported by children living elsewhere, on record (transfer source) or informally
  (only the home visit finds it, hence a declaration); a few elderly-only households have no children at all;
* deposits are log-normal (skewed), with wealth products and funds for the better-off; cars are valued log-normally
  around 52,000 so that some poorer households' old cars fall under the 30,000 cap and others do not; a few
  households own a second home, a shop or a live business registration.
"""

import datetime
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.utils import timezone

from minzheng.checks import inputs
from minzheng.checks.engine import execute
from minzheng.core.errors import DomainError
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import SOURCES
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

from . import investigations, parameters, sql, words

DEMO_BASIS = "演示数据：示例值，非官方标准"
FORMATS = ("csv", "xlsx", "parquet")
AUTHORISED_SAMPLE = 0.10  # share of households without a case that signed an authorisation (earlier reviews)
UNMATCHED_SHARE = 0.01  # people per source file who are not in the registry
MALFORMED_SHARE = 0.005  # rows per file spoilt the ways staff files are spoilt

Progress = Callable[[str], None]

# ------------------------------------------------------------------------------------------ the generating SQL


def _last_term_start(ref: datetime.date, month: int) -> datetime.date:
    """The latest 1 <month> from which a 20-day payment window ends on or before `ref`."""
    year = ref.year if ref >= datetime.date(ref.year, month, 21) else ref.year - 1
    return datetime.date(year, month, 1)


def build_people(con: duckdb.DuckDBPyConnection) -> None:
    """From `members_in` (schemas.MEMBERS) and `cases_in` (investigations.CASES): `people` (living members with their age and draws),
    `hh` (households), `workers` (the employed, with a monthly wage) and `support` (elderly supported by children)."""
    con.execute(
        """
        CREATE OR REPLACE TABLE base AS
        SELECT household_key, person_key, id_number, county, area_type = 'urban' AS urban, birth_date,
               coalesce(disability_category, '') AS dis_cat, disability_grade AS dis_grade, coalesce(self_care, '') AS self_care,
               year(getvariable('as_of')) - year(birth_date)
                 - CASE WHEN strftime(getvariable('as_of'), '%m%d') < strftime(birth_date, '%m%d') THEN 1 ELSE 0 END AS age
        FROM members_in
        WHERE deceased_on IS NULL OR deceased_on > getvariable('ref');

        -- Households that applied for 低保/特困/支出型临时救助 and were not refused are mostly in hardship (nearly
        -- all of those already approved): their data should mostly bear the application out, as in life.
        CREATE OR REPLACE TABLE hh AS
        SELECT h.*, coalesce(c.workflow, '') AS workflow,
               coalesce(c.applicant AND u(h.hid, 'hardship') < CASE WHEN c.state = 'approved' THEN 0.95 ELSE 0.8 END,
                        false) AS hardship,
               h.elderly_only AND u(h.hid, 'childless') < CASE WHEN h.size = 1 THEN 0.08 ELSE 0.04 END AS childless,
               u(h.hid, 'authorised') < getvariable('authorised_sample') AS sampled
        FROM (
            SELECT household_key, min(id_number) AS hid, bool_or(urban) AS urban, count(*) AS size,
                   bool_and(age >= 60) AS elderly_only
            FROM base GROUP BY household_key
        ) h
        LEFT JOIN (SELECT household_key, workflow, state,
                          workflow IN ('dibao', 'tekun', 'temp_expense') AND state <> 'refused' AS applicant
                   FROM cases_in) c USING (household_key);
        CREATE OR REPLACE TABLE hh AS
        SELECT * REPLACE (childless OR (hardship AND workflow = 'tekun' AND elderly_only) AS childless),
               CASE WHEN hardship THEN least(-1.4 - 0.6 * u(hid, 'poor'), nrm(hid, 'z')) ELSE nrm(hid, 'z') END AS z
        FROM hh;

        CREATE OR REPLACE TABLE people AS
        SELECT b.*, h.hid, h.z, h.size, h.elderly_only, h.childless, h.hardship,
               -- No one able to support them: childless elderly, and whoever cannot work in a 特困 applicant's
               -- household in hardship (what the township's investigation establishes).
               h.childless OR (h.hardship AND h.workflow = 'tekun'
                               AND (b.age >= 60 OR b.age < 16 OR coalesce(b.dis_grade, 9) <= 2)) AS no_supporter,
               CASE WHEN b.age BETWEEN 3 AND 5 AND u(b.id_number, 'enrol') < 0.85 THEN 'kindergarten'
                    WHEN b.age BETWEEN 6 AND 11 THEN 'primary'
                    WHEN b.age BETWEEN 12 AND 14 THEN 'junior'
                    WHEN b.age BETWEEN 15 AND 17 AND u(b.id_number, 'enrol') < 0.88 THEN 'senior'
                    WHEN b.age BETWEEN 18 AND 21 AND u(b.id_number, 'enrol') < clamp(0.42 + 0.12 * h.z, 0.1, 0.9)
                         THEN 'college' END AS stage,
               coalesce(b.dis_grade, 9) <= 2 OR (b.dis_cat IN ('intellectual', 'mental') AND coalesce(b.dis_grade, 9) <= 3)
                   AS severe,
               u(b.id_number, 'ill') < 0.003 + CASE WHEN b.age >= 50 THEN 0.012 ELSE 0 END AS ill,
               b.age >= 60 AND u(b.id_number, 'employee_pension')
                   < clamp(CASE WHEN b.urban THEN 0.70 ELSE 0.07 END + 0.1 * h.z, 0.02, 0.95)
                     * CASE WHEN h.hardship THEN 0.2 ELSE 1 END AS pension,
               row_number() OVER (PARTITION BY b.household_key
                                  ORDER BY (b.age BETWEEN 18 AND 64) DESC, b.age DESC, b.id_number) = 1 AS owner
        FROM base b JOIN hh h USING (household_key);

        CREATE OR REPLACE TABLE workers AS
        SELECT person_key, id_number, household_key, urban, z, age, wage_m, months,
               CAST(floor(u(id_number, 'offset') * (13 - months)) AS INTEGER) AS offset_months, formal
        FROM (
            SELECT *,
                   greatest(900, round(lognormal(CASE WHEN age >= 60 THEN 1900 WHEN urban THEN 4800 ELSE 3600 END,
                                                 0.3, id_number, 'wage') * exp(0.35 * z)
                                       * CASE WHEN hardship THEN 0.6 ELSE 1 END, -1)) AS wage_m,
                   CASE WHEN age >= 60 THEN 3 + CAST(floor(u(id_number, 'months') * 5) AS INTEGER)
                        WHEN u(id_number, 'seasonal') < CASE WHEN urban THEN 0.10 ELSE 0.25 END
                                                       + CASE WHEN z < -0.5 THEN 0.15 ELSE 0 END
                        THEN 4 + CAST(floor(u(id_number, 'months') * 8) AS INTEGER)
                        ELSE 12 END AS months,
                   age < 60 AND u(id_number, 'formal') < clamp(CASE WHEN urban THEN 0.7 ELSE 0.3 END + 0.1 * z, 0.05, 0.95)
                       AS formal
            FROM people
            WHERE (age BETWEEN 18 AND 59 AND stage IS NULL
                   AND u(id_number, 'employed') < clamp((CASE WHEN urban THEN 0.93 ELSE 0.92 END + 0.1 * z)
                         * CASE WHEN severe THEN 0.2 WHEN dis_cat <> '' THEN 0.7 ELSE 1 END
                         * CASE WHEN hardship THEN 0.25 ELSE 1 END, 0.02, 0.97))
               OR (age BETWEEN 60 AND 69 AND NOT urban AND u(id_number, 'employed') < 0.3)
        );

        -- Elderly whose household has no working-age earner: supported by children living elsewhere, on record
        -- (transfer source) or informally (only the home visit finds it), unless they have none.
        CREATE OR REPLACE TABLE support AS
        SELECT p.person_key, p.id_number, p.household_key,
               CASE WHEN p.no_supporter THEN 'none'
                    WHEN u(p.id_number, 'support') < clamp(CASE WHEN pension THEN 0.12 ELSE 0.90 END + 0.06 * p.z, 0.05, 0.98)
                                                     * CASE WHEN p.hardship THEN 0.2 ELSE 1 END
                         THEN 'recorded'
                    WHEN u(p.id_number, 'support') < clamp(CASE WHEN pension THEN 0.2 ELSE 0.96 END + 0.04 * p.z, 0.05, 0.99)
                         THEN 'informal'
                    ELSE 'none' END AS kind,
               clamp(round(lognormal(CASE WHEN p.urban THEN 1300 ELSE 1150 END, 0.2, p.id_number, 'support_amount')
                           * exp(0.2 * p.z), -1), 100, 2500) AS amount
        FROM people p
        WHERE p.age >= 60
          AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.household_key = p.household_key AND w.age < 60);
        """
    )


def build_sources(con: duckdb.DuckDBPyConnection, *, ref: datetime.date, city: str, region_name: str) -> None:
    """One table `src_<code>` per source: (person_key, id_number, declared fields...), from `people`, `workers` and
    `support` (build_people)."""
    sep, mar = _last_term_start(ref, 9), _last_term_start(ref, 3)
    province = words.PROVINCE_ABBR.get(city[:2], "")
    # The plate's letter stands for the prefecture (in Hebei A 石家庄 … G 张家口, in code order).
    number = int(city[2:4] or 1)
    plate = province + ("ABCDEFGHJKLMNPQRSTUVWXYZ"[number - 1] if 1 <= number <= 24 else "A")
    at60 = "CAST(date_trunc('month', birth_date + INTERVAL 60 YEAR) AS DATE)"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE src_wage AS
        SELECT person_key, id_number, month,
               CASE WHEN formal THEN {sql.pick(words.EMPLOYERS_FORMAL, "id_number", "employer")}
                    ELSE {sql.pick(words.EMPLOYERS_INFORMAL, "id_number", "employer")} END AS employer,
               gross_wage,
               CASE WHEN formal THEN yuan(greatest(0, gross_wage - 5000 - social) * 0.03) END AS tax_paid,
               CASE WHEN formal THEN social END AS social_contribution
        FROM (
            SELECT w.*, CAST(date_trunc('month', getvariable('as_of')) - to_months(CAST(r.i AS INTEGER)) AS DATE) AS month,
                   yuan(w.wage_m * (0.94 + 0.12 * u(w.id_number || r.i, 'wage_month'))) AS gross_wage,
                   yuan(w.wage_m * 0.105) AS social
            FROM workers w, range(1, 13) r(i)
            WHERE r.i > w.offset_months AND r.i <= w.offset_months + w.months
        )
        WHERE month <= getvariable('ref');

        CREATE OR REPLACE TABLE src_pension AS
        SELECT person_key, id_number, 'employee_pension' AS item,
               yuan(greatest(1500, lognormal(3100, 0.22, id_number, 'pension') * exp(0.15 * z))) AS monthly_amount,
               {at60} AS start_month
        FROM people WHERE pension
        UNION ALL
        SELECT person_key, id_number, 'resident_basic', yuan(163), {at60} FROM people WHERE age >= 60 AND NOT pension
        UNION ALL
        SELECT person_key, id_number, 'resident_personal', yuan(15 + 185 * pow(u(id_number, 'personal_account'), 2)), {at60}
        FROM people WHERE age >= 60 AND NOT pension
        UNION ALL
        SELECT person_key, id_number, 'unemployment', yuan(1620),
               CAST(date_trunc('month', days_back(id_number, 'unemployed_since', 20, 300)) AS DATE)
        FROM people
        WHERE urban AND age BETWEEN 22 AND 55 AND stage IS NULL AND u(id_number, 'unemployment') < 0.05
          AND person_key NOT IN (SELECT person_key FROM workers)
        UNION ALL
        SELECT person_key, id_number, 'work_injury', yuan(1200 + 1300 * u(id_number, 'injury_amount')),
               CAST(date_trunc('month', days_back(id_number, 'injured_on', 200, 3000)) AS DATE)
        FROM people WHERE age BETWEEN 25 AND 65 AND u(id_number, 'injury') < 0.002
        UNION ALL
        SELECT person_key, id_number, 'survivor', yuan(600 + 600 * u(id_number, 'survivor_amount')),
               CAST(date_trunc('month', days_back(id_number, 'widowed_on', 200, 5000)) AS DATE)
        FROM people WHERE urban AND age >= 60 AND size = 1 AND u(id_number, 'survivor') < 0.05;

        CREATE OR REPLACE TABLE src_transfer AS
        SELECT person_key, id_number, 'elderly_allowance' AS item,
               yuan(CASE WHEN age >= 100 THEN 500 WHEN age >= 90 THEN 200 ELSE 100 END) AS monthly_amount
        FROM people WHERE age >= 80
        UNION ALL
        SELECT person_key, id_number, 'youfu', yuan(round(1000 + 800 * u(id_number, 'youfu_amount'), -1))
        FROM people WHERE (age >= 70 AND u(id_number, 'youfu') < 0.03 AND CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1)
                       OR u(id_number, 'youfu') < 0.002
        UNION ALL
        SELECT person_key, id_number, 'family_planning', yuan(80)
        FROM people WHERE NOT urban AND age >= 60 AND u(id_number, 'family_planning') < 0.07
        UNION ALL
        SELECT person_key, id_number, 'scholarship', yuan(CASE stage WHEN 'college' THEN 275 ELSE 167 END)
        FROM people WHERE stage IN ('college', 'senior') AND u(id_number, 'scholarship') < clamp(0.25 - 0.1 * z, 0.05, 0.5)
        UNION ALL
        SELECT person_key, id_number, 'support_received', yuan(amount) FROM support WHERE kind = 'recorded'
        UNION ALL
        SELECT w.person_key, w.id_number, 'support_paid', yuan(round(300 + 500 * u(w.id_number, 'support_paid_amount'), -1))
        FROM workers w WHERE w.age < 60 AND w.z > 0 AND u(w.id_number, 'support_paid') < 0.06
        UNION ALL
        SELECT person_key, id_number, 'compensation', yuan(round(500 + 2500 * u(id_number, 'compensation_amount'), -1))
        FROM people WHERE u(id_number, 'compensation') < 0.001;

        CREATE OR REPLACE TABLE src_finance AS
        WITH adults AS (
            SELECT *, lognormal(CASE WHEN urban THEN 12000 ELSE 5000 END, 0.9, id_number, 'deposit')
                      * exp(1.0 * z + CASE WHEN age >= 60 THEN 0.3 ELSE 0 END) AS wealth
            FROM people WHERE age >= 18
        )
        SELECT person_key, id_number, {sql.pick(words.BANKS, "id_number", "bank")} AS institution, 'deposit' AS product,
               yuan(wealth) AS balance, yuan(wealth * 0.012) AS annual_income
        FROM adults WHERE u(id_number, 'has_deposit') < CASE WHEN z < -1 THEN 0.75 ELSE 0.9 END
        UNION ALL
        SELECT person_key, id_number, {sql.pick(words.BANKS, "id_number", "bank2")}, 'deposit',
               yuan(wealth * 0.4 * u(id_number, 'deposit2')), yuan(wealth * 0.4 * u(id_number, 'deposit2') * 0.012)
        FROM adults WHERE u(id_number, 'has_deposit2') < 0.25
        UNION ALL
        SELECT person_key, id_number, {sql.pick(words.BANKS, "id_number", "bank3")},
               ['wealth', 'fund', 'securities', 'insurance'][1 + CAST(hash(id_number, 'product', getvariable('seed')) % 4 AS INTEGER)],
               yuan(lognormal(50000, 0.8, id_number, 'product_balance') * exp(0.6 * z)),
               yuan(lognormal(50000, 0.8, id_number, 'product_balance') * exp(0.6 * z) * 0.025)
        FROM adults WHERE z > 0.3 AND u(id_number, 'has_product') < 0.3
        UNION ALL
        SELECT person_key, id_number, {sql.pick(words.ONLINE, "id_number", "online")}, 'online',
               yuan(lognormal(2500, 0.9, id_number, 'online_balance')), yuan(lognormal(2500, 0.9, id_number, 'online_balance') * 0.015)
        FROM adults WHERE age < 55 AND u(id_number, 'has_online') < 0.4;

        CREATE OR REPLACE TABLE src_vehicle AS
        WITH v AS (
            SELECT p.person_key, p.id_number, t.vehicle_type, t.n,
                   CASE t.vehicle_type
                       WHEN 'car' THEN round(lognormal(52000, 0.6, p.id_number || t.n, 'car_value') * exp(0.45 * p.z), -2)
                       WHEN 'truck' THEN round(25000 + 65000 * u(p.id_number, 'truck_value'), -2)
                       WHEN 'motorcycle' THEN round(1500 + 4500 * u(p.id_number, 'moto_value'), -2)
                       WHEN 'farm' THEN round(3000 + 22000 * u(p.id_number, 'farm_value'), -2)
                       ELSE round(3000 + 5000 * u(p.id_number, 'disabled_value'), -2) END AS value
            FROM people p, (VALUES ('car', 1), ('car', 2), ('truck', 1), ('motorcycle', 1), ('farm', 1), ('disabled', 1))
                 t(vehicle_type, n)
            WHERE CASE t.vehicle_type || t.n
                WHEN 'car1' THEN p.owner AND u(p.id_number, 'car') < clamp(CASE WHEN p.urban THEN 0.38 ELSE 0.26 END
                                                                            + 0.15 * p.z, 0.03, 0.9)
                                                                      * CASE WHEN p.age >= 65 THEN 0.3 ELSE 1 END
                WHEN 'car2' THEN p.owner AND p.z > 1 AND u(p.id_number, 'car2') < 0.3
                WHEN 'truck1' THEN p.owner AND NOT p.urban AND u(p.id_number, 'truck') < 0.03
                WHEN 'motorcycle1' THEN p.owner AND u(p.id_number, 'moto') < CASE WHEN p.urban THEN 0.1 ELSE 0.35 END
                WHEN 'farm1' THEN p.owner AND NOT p.urban AND u(p.id_number, 'farm') < 0.18
                ELSE p.dis_cat = 'physical' AND p.age BETWEEN 18 AND 75 AND u(p.id_number, 'disabled_vehicle') < 0.08
            END
        )
        SELECT person_key, id_number,
               '{plate}' || substr('ABCDEFHJKLMNPQRSTUVWXYZ', 1 + CAST(hash(id_number, vehicle_type || n, 'plate1',
                   getvariable('seed')) % 23 AS INTEGER), 1) || digits(id_number || vehicle_type || n, 'plate', 4) AS plate_no,
               vehicle_type, yuan(value) AS value, days_back(id_number || vehicle_type || n, 'registered_on', 200, 5400)
                   AS registered_on
        FROM v;

        CREATE OR REPLACE TABLE src_real_estate AS
        WITH o AS (
            SELECT *, (CASE WHEN urban THEN (u(id_number, 'home') < 0.78)::INTEGER ELSE (u(id_number, 'home') < 0.82)::INTEGER END)
                      + (u(id_number, 'home2') < clamp(CASE WHEN urban THEN 0.08 ELSE 0.04 END + 0.06 * z, 0.005, 0.5))::INTEGER
                      + (u(id_number, 'home3') < clamp(0.01 + 0.02 * z, 0.0, 0.2))::INTEGER AS homes
            FROM people WHERE owner
        ), r AS (
            SELECT o.*, s.n, 'residential' AS usage FROM o, range(1, 4) s(n) WHERE s.n <= o.homes
            UNION ALL
            SELECT o.*, 9, 'commercial' FROM o WHERE u(id_number, 'shop') < clamp(0.015 + 0.02 * z, 0.002, 0.2)
            UNION ALL
            SELECT o.*, 8, 'other' FROM o WHERE NOT urban AND u(id_number, 'shed') < 0.02
        )
        SELECT person_key, id_number,
               '{province}（' || (2005 + CAST(hash(id_number, n, 'cert_year', getvariable('seed')) % 20 AS INTEGER)) || '）'
                   || '{region_name}不动产权第' || digits(id_number || n, 'cert', 7) || '号' AS certificate_no,
               usage,
               yuan(CASE usage WHEN 'commercial' THEN 30 + 170 * u(id_number, 'shop_area')
                               WHEN 'other' THEN 20 + 60 * u(id_number, 'shed_area')
                               ELSE CASE WHEN urban THEN 50 ELSE 60 END + 80 * u(id_number || n, 'area') END) AS area,
               CASE WHEN usage = 'commercial' AND u(id_number, 'shop_rent') < 0.7
                        THEN yuan(round(1500 + 4500 * u(id_number, 'shop_rent_amount'), -1))
                    WHEN usage = 'residential' AND n >= 2 AND u(id_number || n, 'home_rent') < 0.5
                        THEN yuan(round(800 + 1400 * u(id_number || n, 'home_rent_amount'), -1)) END AS monthly_rent
        FROM r;

        CREATE OR REPLACE TABLE src_business AS
        SELECT person_key, id_number,
               uscc('92' || substr(id_number, 1, 6) || org_code(digits(id_number, 'org', 8))) AS uscc,
               {sql.pick(words.SHOP_WORDS, "id_number", "shop_word")}
                   || {sql.pick(words.SHOP_KINDS, "id_number", "shop_kind")} AS name,
               'legal_rep' AS role, status,
               CASE WHEN status = 'active' THEN yuan(round(CASE WHEN z > 0.3 THEN lognormal(4500, 0.5, id_number, 'profit')
                                                            ELSE 800 + 1200 * u(id_number, 'profit') END, -1)) END
                   AS monthly_net_income
        FROM (
            SELECT *, CASE WHEN (z > 0.3 AND u(id_number, 'business') < 0.07) OR u(id_number, 'business') < 0.012
                           THEN 'active' ELSE 'cancelled' END AS status
            FROM people
            WHERE owner AND age BETWEEN 20 AND 70
              AND ((z > 0.3 AND u(id_number, 'business') < 0.07) OR u(id_number, 'business') < 0.032)
        )
        UNION ALL
        SELECT person_key, id_number, uscc('91' || substr(id_number, 1, 6) || org_code(digits(id_number, 'org2', 8))),
               {sql.pick(words.EMPLOYERS_FORMAL, "id_number", "invest")}, 'investor', 'active', NULL
        FROM people WHERE z > 1.2 AND age BETWEEN 25 AND 70 AND u(id_number, 'investor') < 0.1;

        CREATE OR REPLACE TABLE src_housing_fund AS
        SELECT person_key, id_number, yuan(wage_m) AS deposit_base,
               yuan(wage_m * 0.24 * (6 + 120 * u(id_number, 'fund_months'))) AS balance, 'normal' AS status
        FROM workers WHERE formal AND u(id_number, 'housing_fund') < 0.65
        UNION ALL
        SELECT person_key, id_number, yuan(3000), yuan(3000 * 0.24 * (6 + 60 * u(id_number, 'fund_months'))), 'sealed'
        FROM people WHERE age BETWEEN 25 AND 59 AND urban AND u(id_number, 'sealed_fund') < 0.05
          AND person_key NOT IN (SELECT person_key FROM workers);

        CREATE OR REPLACE TABLE src_medical AS
        WITH visits AS (
            SELECT p.person_key, p.id_number, s.n, p.ill AND s.n <= 3 AS big,
                   u(p.id_number || s.n, 'inpatient') < 0.12 AS inpatient
            FROM people p, range(1, 7) s(n)
            WHERE (s.n <= 1 + CAST(floor(u(p.id_number, 'visits') * 3) AS INTEGER)
                   AND u(p.id_number, 'medical') < CASE WHEN p.age >= 60 THEN 0.55 WHEN p.age < 18 THEN 0.25 ELSE 0.3 END)
               OR (p.ill AND s.n <= 3)
        ), c AS (
            SELECT *,
                   CASE WHEN big THEN lognormal(40000, 0.5, id_number || n, 'cost')
                        WHEN inpatient THEN lognormal(9000, 0.6, id_number || n, 'cost')
                        ELSE lognormal(500, 0.9, id_number || n, 'cost') END AS total,
                   CASE WHEN big OR inpatient THEN 0.55 + 0.2 * u(id_number || n, 'covered')
                        ELSE 0.3 + 0.3 * u(id_number || n, 'covered') END AS covered
            FROM visits
        )
        SELECT person_key, id_number, days_back(id_number || n, 'settled_on', 1, 365) AS settled_on,
               yuan(total) AS total_cost, yuan(total * covered) AS fund_paid, yuan(total) - yuan(total * covered) AS out_of_pocket
        FROM c;

        CREATE OR REPLACE TABLE src_disability AS
        SELECT person_key, id_number,
               id_number || CASE dis_cat {" ".join(f"WHEN '{k}' THEN '{v}'" for k, v in words.DISABILITY_DIGIT.items())} END
                   || CAST(dis_grade AS VARCHAR) AS certificate_no,
               dis_cat AS category, CAST(dis_grade AS VARCHAR) AS grade,
               days_back(id_number, 'certified_on', 120, 3600) AS issued_on
        FROM people WHERE dis_cat <> '' AND dis_grade BETWEEN 1 AND 4;

        CREATE OR REPLACE TABLE src_civil_status AS
        SELECT person_key, id_number, event, days_back(id_number, 'event_on', 5, 330) AS event_on FROM (
            SELECT *, CASE
                WHEN u(id_number, 'death') < CASE WHEN age >= 85 THEN 0.05 WHEN age >= 75 THEN 0.02
                                                  WHEN age >= 60 THEN 0.006 ELSE 0.0005 END THEN 'death'
                WHEN age BETWEEN 18 AND 40 AND u(id_number, 'move_out') < 0.004 THEN 'move_out'
                WHEN age BETWEEN 20 AND 50 AND CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1
                     AND u(id_number, 'prison') < 0.001 THEN 'imprisoned'
                WHEN age BETWEEN 18 AND 70 AND u(id_number, 'missing') < 0.0002 THEN 'missing' END AS event
            FROM people
        ) WHERE event IS NOT NULL;

        CREATE OR REPLACE TABLE src_education AS
        WITH terms AS (
            SELECT p.*, t.term, t.start FROM people p,
                 (VALUES ('autumn', DATE '{sep.isoformat()}'), ('spring', DATE '{mar.isoformat()}')) t(term, start)
            WHERE p.stage IS NOT NULL
              AND (p.stage IN ('kindergarten', 'senior')
                   OR (p.stage = 'college' AND t.term = 'autumn')
                   OR (p.stage IN ('primary', 'junior') AND t.term = 'autumn' AND u(p.id_number, 'school_fee') < 0.5))
        )
        SELECT person_key, id_number, stage, CAST(start + CAST(floor(u(id_number || term, 'paid_on') * 20) AS INTEGER) AS DATE)
                   AS paid_on,
               yuan(round(CASE stage
                   WHEN 'kindergarten' THEN (1200 + 1800 * u(id_number, 'kindergarten_fee')) * CASE WHEN urban THEN 1 ELSE 0.7 END
                   WHEN 'senior' THEN 800 + 400 * u(id_number, 'tuition') + 300 + 300 * u(id_number, 'boarding')
                   WHEN 'college' THEN 5000 + 3000 * u(id_number, 'tuition')
                   ELSE 150 + 250 * u(id_number, 'misc_fee') END, -1)) AS fee
        FROM terms;
        """
    )


# --------------------------------------------------------------------------------------------- the whole demo


@dataclass
class SourceOutcome:
    source: str
    path: Path
    rows: int
    message: str
    rows_valid: int = 0
    rows_rejected: int = 0
    rows_unmatched: int = 0
    duplicate: bool = False
    rejects_path: str = ""


def import_delivery(code: str, path: Path, rows: int, *, region_code: str, period: datetime.date) -> SourceOutcome:
    """Import one generated delivery through the real importer, as a department's file would be."""
    from minzheng.exchange import importer

    outcome = importer.import_file(code, path, region_code=region_code, period=period, original_name=path.name)
    return SourceOutcome(
        code,
        path,
        rows,
        outcome.message,
        outcome.rows_valid,
        outcome.rows_rejected,
        outcome.rows_unmatched,
        outcome.duplicate,
        outcome.rejects_path,
    )


@dataclass
class CheckDataResult:
    region: str
    as_of: datetime.date
    period: datetime.date
    households: int
    persons: int
    parameters_created: int
    sources: list[SourceOutcome] = field(default_factory=list)
    authorisations: int = 0
    declarations: int = 0
    cases_checked: int = 0  # demo cases that waited at the investigation for their data check
    shares: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def snapshots_exist(prefix: str) -> bool:
    low, high = region_codes.subtree_range(parameters.city_code(prefix))
    return Snapshot.objects.filter(region_id__gte=low, region_id__lte=high).exists()


class Generation:
    """A DuckDB connection holding one region's generated data: `people`, `hh`, `workers`, `support` and one
    `src_<code>` table per source. `members` is an Arrow table with schemas.MEMBERS' columns (or a query giving them),
    `cases` one with investigations.CASES'."""

    def __init__(
        self,
        members: pa.Table | str,
        *,
        seed: int,
        as_of: datetime.date,
        ref: datetime.date,
        city: str,
        city_name: str,
        cases: pa.Table | None = None,
        database: str = ":memory:",
        config: dict | None = None,
    ):
        self.con = duckdb.connect(database, config=config or {})
        self.city = city
        sql.macros(
            self.con,
            seed,
            ref,
            as_of=as_of,
            authorised_sample=AUTHORISED_SAMPLE,
            unmatched_share=UNMATCHED_SHARE,
            malformed_share=MALFORMED_SHARE,
        )
        if isinstance(members, str):  # a query (e.g. over Parquet files), for populations too large for memory
            self.con.execute(f"CREATE TABLE members_in AS {members}")
        else:
            self.con.register("members_in", members)
        self.con.register("cases_in", cases if cases is not None else investigations.CASES.empty_table())
        build_people(self.con)
        build_sources(self.con, ref=ref, city=city, region_name=city_name)
        self.ref = ref

    def write_files(self, folder: Path, file_format: str = "csv") -> dict[str, tuple[Path, int]]:
        """One delivery file per source: code -> (path, rows)."""
        if file_format not in FORMATS:
            raise DomainError(f"文件格式只能是：{'、'.join(FORMATS)}", "invalid_format")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for code in SOURCES:
            path = folder / f"{code}-{self.city[:6]}-{self.ref:%Y%m%d}.{file_format}"
            out[code] = (path, sql.write_delivery(self.con, SOURCES[code], path, file_format))
        return out

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Generation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _start(prefix: str, as_of: datetime.date | None, seed: int) -> tuple[Generation, pa.Table, str, str]:
    today = timezone.localdate()
    as_of = as_of or today
    # A department delivers the months it has closed: data up to the end of the month before the day (and nothing
    # delivered is dated after today). A run dated on the first of the month reads it, as a real one would.
    ref = min(as_of, today).replace(day=1) - datetime.timedelta(days=1)
    region = region_codes.canonical(prefix)
    city = parameters.city_code(prefix)
    city_region = Region.objects.filter(code=city).first()
    if city_region is None:
        raise DomainError(f"区划“{city}”尚未导入：请先运行 minzheng import_regions --prefix {prefix}", "unknown_region")
    members = inputs.members(region_code=region)
    if members.num_rows == 0:
        raise DomainError(
            f"区划“{prefix}”下没有家庭数据：请先运行 minzheng generate_population --prefix {prefix}", "no_population"
        )
    generation = Generation(
        members,
        seed=seed,
        as_of=as_of,
        ref=ref,
        city=city,
        city_name=city_region.name,
        cases=investigations.region_cases(region),
    )
    return generation, members, region, city


def build_delivery_files(
    prefix: str, *, as_of: datetime.date | None = None, seed: int = 1, file_format: str = "csv", out_dir: Path
) -> dict[str, tuple[Path, int]]:
    """Only the delivery files of the region's population (nothing imported or stored)."""
    generation, *_ = _start(prefix, as_of, seed)
    with generation:
        return generation.write_files(out_dir, file_format)


def generate_check_data(
    prefix: str,
    *,
    as_of: datetime.date | None = None,
    seed: int = 1,
    file_format: str = "csv",
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> CheckDataResult:
    """Demo parameters, departmental files for every source (written and imported), authorisations, declarations,
    and the engine's verdict shares for the region. Deterministic for a population and seed."""
    if file_format not in FORMATS:
        raise DomainError(f"文件格式只能是：{'、'.join(FORMATS)}", "invalid_format")
    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    created = parameters.load_demo_parameters(prefix)
    generation, members, region, city = _start(prefix, as_of, seed)
    as_of, ref = as_of or timezone.localdate(), generation.ref
    result = CheckDataResult(
        region=city,
        as_of=as_of,
        period=ref,
        households=len(pc.unique(members.column("household_key"))),
        persons=members.num_rows,
        parameters_created=created,
    )
    with generation:
        folder = Path(out_dir) if out_dir else Path(settings.CHECKS_DATA_DIR) / "incoming"
        paths = generation.write_files(folder, file_format)
        timings["generate_files"] = time.perf_counter() - started

        t = time.perf_counter()
        for code, (path, rows) in paths.items():
            outcome = import_delivery(code, path, rows, region_code=city, period=ref)
            result.sources.append(outcome)
            say(f"{SOURCES[code].name}：{outcome.message}")
        timings["import"] = time.perf_counter() - t

        t = time.perf_counter()
        result.authorisations, result.declarations = investigations.record(generation.con, region, city, as_of, ref)
        timings["authorisations"] = time.perf_counter() - t

    # The parameters and the departments' data are in: the cases waiting for their check are checked now.
    from .cases import record_waiting_checks

    result.cases_checked = record_waiting_checks(region)

    t = time.perf_counter()
    result.shares = verdict_shares(region, as_of)
    timings["engine"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    result.seconds = {k: round(v, 2) for k, v in timings.items()}
    return result


# ------------------------------------------------------------------------------------------------------- shares


SHARE_LABELS = {
    "households": "家庭",
    "dibao": "符合低保条件",
    "edge": "低保边缘",
    "tekun": "符合特困条件",
    "tekun_pending": "特困待核实（法定义务人情况不明）",
    "rigid": "刚性支出困难",
    "ineligible": "不符合救助条件",
    "authorised": "有有效核对授权",
}


def verdict_shares(region_code: str, as_of: datetime.date) -> dict[str, int]:
    """Run the engine over every household of the region with the snapshots in force (what a batch run reads) and
    count the verdicts. Stores nothing."""
    table = household_verdicts(region_code, as_of)

    def count(column: str) -> int:
        return int(pc.sum(table.column(column).cast(pa.int64())).as_py() or 0)

    anything = pc.or_(
        pc.or_(
            pc.or_(table.column("dibao"), table.column("edge")), pc.or_(table.column("tekun"), table.column("rigid"))
        ),
        table.column("tekun_pending"),
    )
    return {
        "households": table.num_rows,
        "dibao": count("dibao"),
        "edge": count("edge"),
        "tekun": count("tekun"),
        "tekun_pending": count("tekun_pending"),
        "rigid": count("rigid"),
        "ineligible": table.num_rows - int(pc.sum(anything.cast(pa.int64())).as_py() or 0),
        "authorised": table.num_rows - table.column("authorisation_id").null_count,
    }


def household_verdicts(region_code: str, as_of: datetime.date) -> pa.Table:
    engine_inputs, _record, _snapshots = inputs.for_region(region_code, as_of)
    return execute(engine_inputs)["households"]


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

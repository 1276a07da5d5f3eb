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
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minzheng.checks import inputs
from minzheng.checks.engine import execute
from minzheng.checks.models import Authorisation, Declaration
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.months import add_months
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import CATEGORIES, SOURCES
from minzheng.policy.catalogue import spec
from minzheng.policy.models import Parameter
from minzheng.policy.parameters import resolve
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

DEMO_BASIS = "演示数据：示例值，非官方标准"
FORMATS = ("csv", "xlsx", "parquet")
AUTHORISED_SAMPLE = 0.10  # share of households without a case that signed an authorisation (earlier reviews)
UNMATCHED_SHARE = 0.01  # people per source file who are not in the registry
MALFORMED_SHARE = 0.005  # rows per file spoilt the ways staff files are spoilt

Progress = Callable[[str], None]

# --------------------------------------------------------------------------------------------------- parameters


def demo_parameter_values() -> tuple[datetime.date, str, dict[str, object]]:
    """(effective_from, basis, {key: value}) from demo/parameters.toml, each value validated against its key's spec."""
    data = tomllib.loads(resources.files("minzheng.demo").joinpath("parameters.toml").read_text("utf-8"))
    values = {key: spec(key).parse(raw) for key, raw in data["values"].items()}
    return data["effective_from"], data["basis"], values


def city_code(prefix: str) -> str:
    """The prefecture (地级) a prefix lies in, canonical; a province prefix stays the province."""
    prefix = (prefix or "").strip()
    if not prefix.isdigit() or len(prefix) not in (2, 4, 6, 9, 12):
        raise DomainError(f"区划前缀“{prefix}”格式错误：应为2、4、6、9或12位数字", "invalid_region_code")
    return region_codes.canonical(prefix[:4] if len(prefix) >= 4 else prefix)


def load_demo_parameters(region_prefix: str) -> int:
    """Store the illustrative demo values for the prefix's prefecture (idempotent); returns how many rows were new.
    A value already stored for the same key, region and date is left as it is (values in force are never edited)."""
    region = city_code(region_prefix)
    if not Region.objects.filter(code=region).exists():
        raise DomainError(
            f"区划“{region}”尚未导入：请先运行 minzheng import_regions --prefix {region_prefix}", "unknown_region"
        )
    effective_from, basis, values = demo_parameter_values()
    existing = set(
        Parameter.objects.filter(region_id=region, effective_from=effective_from, key__in=values).values_list(
            "key", flat=True
        )
    )
    new = [
        Parameter(key=key, region_id=region, effective_from=effective_from, value=value, basis=basis)
        for key, value in values.items()
        if key not in existing
    ]
    with transaction.atomic():
        Parameter.objects.bulk_create(new)
    return len(new)


# ------------------------------------------------------------------------------------------ the generating SQL

# Employers withholding wage tax (fictitious names in the style of the region's firms), banks, business names.
_EMPLOYERS_FORMAL = [
    "张家口宏达建筑工程有限公司",
    "张家口恒信商贸有限公司",
    "宣化鑫源机械制造有限公司",
    "张北县风电运维服务有限公司",
    "张家口市第三中学",
    "张家口市中心医院",
    "张家口冀北物流有限公司",
    "怀来县葡萄酒业有限公司",
    "崇礼区冰雪旅游服务有限公司",
    "张家口市城市供热有限公司",
    "张家口银行股份有限公司",
    "张家口市公共交通有限公司",
    "蔚县剪纸文化传媒有限公司",
    "万全区玉米种业有限公司",
]
_EMPLOYERS_INFORMAL = [
    "张北县兴旺建筑劳务队",
    "康保县农民专业合作社",
    "尚义县马铃薯种植合作社",
    "沽源县奶牛养殖场",
    "张家口市家政服务中心",
    "怀安县运输服务部",
    "阳原县毛皮加工厂",
    "赤城县温泉度假村",
]
_BANKS = [
    "中国农业银行",
    "中国邮政储蓄银行",
    "张家口农村商业银行",
    "中国工商银行",
    "中国建设银行",
    "中国银行",
    "张家口银行",
]
_ONLINE = ["支付宝（余额宝）", "微信支付（零钱通）", "京东金融"]
_SHOP_WORDS = ["宏福", "鑫源", "兴旺", "永盛", "顺达", "金穗", "恒泰", "福来", "德顺", "丰收"]
_SHOP_KINDS = ["便利店", "饭店", "养殖场", "汽车修理部", "超市", "种植专业合作社", "建材店", "理发店"]
_PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕",
    "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip
_DISABILITY_DIGIT = {
    "visual": 1,
    "hearing": 2,
    "speech": 3,
    "physical": 4,
    "intellectual": 5,
    "mental": 6,
    "multiple": 7,
}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


def _pick(items: list[str], key: str, tag: str) -> str:
    """One of `items`, chosen by a hash of `key` (a SQL expression)."""
    return f"{_sql_list(items)}[1 + CAST(hash({key}, '{tag}', getvariable('seed')) % {len(items)} AS INTEGER)]"


def _macros(con: duckdb.DuckDBPyConnection, seed: int, as_of: datetime.date, ref: datetime.date) -> None:
    """Deterministic randomness: u() uniform in (0, 1), nrm() standard normal (Box–Muller), both hashes of a key."""
    con.execute(f"SET VARIABLE seed = {int(seed)}")
    con.execute(f"SET VARIABLE authorised_sample = {AUTHORISED_SAMPLE}")
    con.execute(f"SET VARIABLE unmatched_share = {UNMATCHED_SHARE}")
    con.execute(f"SET VARIABLE malformed_share = {MALFORMED_SHARE}")
    con.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
    con.execute(f"SET VARIABLE ref = DATE '{ref.isoformat()}'")
    id_sum = " + ".join(f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    org_sum = " + ".join(
        f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate((3, 7, 9, 10, 5, 8, 4, 2))
    )
    uscc_sum = " + ".join(
        f"(position(substr(b, {i + 1}, 1) IN '{_USCC_ALPHABET}') - 1) * {pow(3, i, 31)}" for i in range(17)
    )
    con.execute(
        f"""
        CREATE OR REPLACE MACRO u(k, tag) AS (CAST(hash(k, tag, getvariable('seed')) % 1000000 AS DOUBLE) + 0.5) / 1e6;
        CREATE OR REPLACE MACRO nrm(k, tag) AS sqrt(-2.0 * ln(u(k, tag || '.1'))) * cos(2.0 * pi() * u(k, tag || '.2'));
        CREATE OR REPLACE MACRO clamp(x, lo, hi) AS greatest(lo, least(hi, x));
        CREATE OR REPLACE MACRO yuan(x) AS CAST(round(x, 2) AS DECIMAL(18, 2));
        CREATE OR REPLACE MACRO lognormal(median, sigma, k, tag) AS exp(ln(median) + sigma * nrm(k, tag));
        CREATE OR REPLACE MACRO days_back(k, tag, lo, hi) AS
            CAST(getvariable('ref') - CAST(lo + floor(u(k, tag) * (hi - lo)) AS INTEGER) AS DATE);
        CREATE OR REPLACE MACRO id_check(b) AS substr('10X98765432', ({id_sum}) % 11 + 1, 1);
        CREATE OR REPLACE MACRO org_code(b) AS b || CASE (11 - ({org_sum}) % 11) % 11 WHEN 10 THEN 'X'
            ELSE CAST((11 - ({org_sum}) % 11) % 11 AS VARCHAR) END;
        CREATE OR REPLACE MACRO uscc(b) AS b || substr('{_USCC_ALPHABET}', (31 - ({uscc_sum}) % 31) % 31 + 1, 1);
        CREATE OR REPLACE MACRO digits(k, tag, n) AS lpad(CAST(hash(k, tag, getvariable('seed')) % CAST(pow(10, n) AS UBIGINT)
            AS VARCHAR), n, '0');
        """
    )


def _last_term_start(ref: datetime.date, month: int) -> datetime.date:
    """The latest 1 <month> from which a 20-day payment window ends on or before `ref`."""
    year = ref.year if ref >= datetime.date(ref.year, month, 21) else ref.year - 1
    return datetime.date(year, month, 1)


def build_people(con: duckdb.DuckDBPyConnection) -> None:
    """From `members_in` (rules.MEMBERS) and `cases_in` (CASES): `people` (living members with their age and draws),
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
    province = _PROVINCE_ABBR.get(city[:2], "")
    # The plate's letter stands for the prefecture (in Hebei A 石家庄 … G 张家口, in code order).
    number = int(city[2:4] or 1)
    plate = province + ("ABCDEFGHJKLMNPQRSTUVWXYZ"[number - 1] if 1 <= number <= 24 else "A")
    at60 = "CAST(date_trunc('month', birth_date + INTERVAL 60 YEAR) AS DATE)"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE src_wage AS
        SELECT person_key, id_number, month,
               CASE WHEN formal THEN {_pick(_EMPLOYERS_FORMAL, "id_number", "employer")}
                    ELSE {_pick(_EMPLOYERS_INFORMAL, "id_number", "employer")} END AS employer,
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
        SELECT person_key, id_number, {_pick(_BANKS, "id_number", "bank")} AS institution, 'deposit' AS product,
               yuan(wealth) AS balance, yuan(wealth * 0.012) AS annual_income
        FROM adults WHERE u(id_number, 'has_deposit') < CASE WHEN z < -1 THEN 0.75 ELSE 0.9 END
        UNION ALL
        SELECT person_key, id_number, {_pick(_BANKS, "id_number", "bank2")}, 'deposit',
               yuan(wealth * 0.4 * u(id_number, 'deposit2')), yuan(wealth * 0.4 * u(id_number, 'deposit2') * 0.012)
        FROM adults WHERE u(id_number, 'has_deposit2') < 0.25
        UNION ALL
        SELECT person_key, id_number, {_pick(_BANKS, "id_number", "bank3")},
               ['wealth', 'fund', 'securities', 'insurance'][1 + CAST(hash(id_number, 'product', getvariable('seed')) % 4 AS INTEGER)],
               yuan(lognormal(50000, 0.8, id_number, 'product_balance') * exp(0.6 * z)),
               yuan(lognormal(50000, 0.8, id_number, 'product_balance') * exp(0.6 * z) * 0.025)
        FROM adults WHERE z > 0.3 AND u(id_number, 'has_product') < 0.3
        UNION ALL
        SELECT person_key, id_number, {_pick(_ONLINE, "id_number", "online")}, 'online',
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
               {_pick(_SHOP_WORDS, "id_number", "shop_word")}
                   || {_pick(_SHOP_KINDS, "id_number", "shop_kind")} AS name,
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
               {_pick(_EMPLOYERS_FORMAL, "id_number", "invest")}, 'investor', 'active', NULL
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
               id_number || CASE dis_cat {" ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _DISABILITY_DIGIT.items())} END
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


def _hash_key(columns: list[str]) -> str:
    return f"hash({', '.join(columns)}, getvariable('seed'))"


def _text_columns(code: str, chinese: bool = False) -> list[tuple[str, str, str]]:
    """(field name, label, SQL text expression) per field of a source, in declared order. `chinese`: coded values as
    their Chinese labels (存续, 小型汽车), as staff spreadsheets have them; machine deliveries keep the codes."""
    out = []
    for f in SOURCES[code].fields:
        if f.kind == "date":
            expr = f"strftime({f.name}, '%Y-%m-%d')"
        elif f.kind == "month":
            expr = f"strftime({f.name}, '%Y-%m')"
        elif f.kind == "code" and chinese:
            whens = " ".join(f"WHEN '{value}' THEN '{label}'" for value, label in f.choices.items())
            expr = f"CASE CAST({f.name} AS VARCHAR) {whens} ELSE CAST({f.name} AS VARCHAR) END"
        else:
            expr = f"CAST({f.name} AS VARCHAR)"
        out.append((f.name, f.label, expr))
    return out


def delivery_sql(code: str, chinese: bool = False) -> str:
    """The source's rows as a department delivers them: text columns in declared order, in the department's own row
    order, with some people the registry does not know and some malformed rows."""
    columns = _text_columns(code, chinese)
    names = [name for name, _, _ in columns]
    money = next((f.name for f in SOURCES[code].fields if f.kind == "money"), None)
    dated = next((f for f in SOURCES[code].fields if f.kind in ("date", "month")), None)
    text = ", ".join(f"{expr} AS {name}" for name, _, expr in columns)
    spoil = {
        # a wrong check digit, an old 15-digit number, an impossible date, text in an amount
        "id_number": (
            "CASE bad WHEN 0 THEN substr(id_number, 1, 17) || CASE substr(id_number, 18, 1) WHEN '0' THEN '1' ELSE '0' END"
            " WHEN 1 THEN substr(id_number, 1, 6) || substr(id_number, 9, 9) ELSE id_number END"
        )
    }
    if dated is not None:
        impossible = "'13'" if dated.kind == "month" else "'02-30'"
        spoil[dated.name] = f"CASE WHEN bad = 2 THEN substr({dated.name}, 1, 5) || {impossible} ELSE {dated.name} END"
    if money is not None:
        spoil[money] = f"CASE WHEN bad = 3 THEN '约' || {money} || '元' ELSE {money} END"
    spoilt = ", ".join(f"CASE WHEN bad IS NULL THEN {n} ELSE {spoil[n]} END AS {n}" if n in spoil else n for n in names)
    row_key = _hash_key([*names, f"'{code}'"])
    return f"""
        WITH t AS (SELECT id_number, person_key, {text} FROM src_{code}),
        fake AS (
            SELECT * REPLACE (b || id_check(b) AS id_number) FROM (
                SELECT *, substr(id_number, 1, 14) || '9' || digits(id_number, 'unmatched_seq', 2) AS b
                FROM t WHERE u(id_number, 'unmatched.{code}') < getvariable('unmatched_share')
            )
        ),
        rows AS (
            SELECT {", ".join(names)} FROM t
            UNION ALL
            SELECT {", ".join(names)} FROM fake f WHERE NOT EXISTS (SELECT 1 FROM members_in m WHERE m.id_number = f.id_number)
        ),
        judged AS (
            SELECT *, {row_key} AS k,
                   CASE WHEN u(CAST({row_key} AS VARCHAR), 'malformed') < getvariable('malformed_share')
                        THEN CAST(hash(CAST({row_key} AS VARCHAR), 'how', getvariable('seed')) % 4 AS INTEGER) END AS bad
            FROM rows
        )
        SELECT {spoilt} FROM judged ORDER BY k, {", ".join(names)}
    """


def write_delivery(con: duckdb.DuckDBPyConnection, code: str, path: Path, file_format: str) -> int:
    """Write one source's delivery file with Chinese column labels (field names in Parquet); returns its rows."""
    labels = {name: label for name, label, _ in _text_columns(code)}
    con.execute(f"CREATE OR REPLACE TEMP TABLE delivery AS {delivery_sql(code, chinese=file_format != 'parquet')}")
    target = str(path).replace("'", "''")
    if file_format == "parquet":
        con.execute(f"COPY delivery TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    elif file_format == "csv":
        labelled = ", ".join(f'{name} AS "{label}"' for name, label in labels.items())
        con.execute(f"COPY (SELECT {labelled} FROM delivery) TO '{target}' (FORMAT csv, HEADER true)")
    else:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet(SOURCES[code].name[:31].replace("/", "、"))
        sheet.write_row(0, 0, list(labels.values()))
        cursor = con.execute("SELECT * FROM delivery")
        row = 1
        while batch := cursor.fetchmany(50_000):
            for values in batch:
                sheet.write_row(row, 0, ["" if v is None else v for v in values])
                row += 1
        book.close()
    return con.execute("SELECT count(*) FROM delivery").fetchall()[0][0]


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
    shares: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def snapshots_exist(prefix: str) -> bool:
    low, high = region_codes.subtree_range(city_code(prefix))
    return Snapshot.objects.filter(region_id__gte=low, region_id__lte=high).exists()


class Generation:
    """A DuckDB connection holding one region's generated data: `people`, `hh`, `workers`, `support` and one
    `src_<code>` table per source. `members` is an Arrow table with rules.MEMBERS' columns (or a query giving them),
    `cases` one with CASES'."""

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
        _macros(self.con, seed, as_of, ref)
        if isinstance(members, str):  # a query (e.g. over Parquet files), for populations too large for memory
            self.con.execute(f"CREATE TABLE members_in AS {members}")
        else:
            self.con.register("members_in", members)
        self.con.register("cases_in", cases if cases is not None else CASES.empty_table())
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
            out[code] = (path, write_delivery(self.con, code, path, file_format))
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
    city = city_code(prefix)
    city_region = Region.objects.filter(code=city).first()
    if city_region is None:
        raise DomainError(f"区划“{city}”尚未导入：请先运行 minzheng import_regions --prefix {prefix}", "unknown_region")
    members = inputs.members(region_code=region)
    if members.num_rows == 0:
        raise DomainError(
            f"区划“{prefix}”下没有家庭数据：请先运行 minzheng generate_population --prefix {prefix}", "no_population"
        )
    generation = Generation(
        members, seed=seed, as_of=as_of, ref=ref, city=city, city_name=city_region.name, cases=region_cases(region)
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
    created = load_demo_parameters(prefix)
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
        from minzheng.exchange import importer

        for code, (path, rows) in paths.items():
            outcome = importer.import_file(code, path, region_code=city, period=ref, original_name=path.name)
            result.sources.append(
                SourceOutcome(
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
            )
            say(f"{SOURCES[code].name}：{outcome.message}")
        timings["import"] = time.perf_counter() - t

        t = time.perf_counter()
        result.authorisations, result.declarations = _investigations(generation.con, region, city, as_of, ref)
        timings["authorisations"] = time.perf_counter() - t

    t = time.perf_counter()
    result.shares = verdict_shares(region, as_of)
    timings["engine"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    result.seconds = {k: round(v, 2) for k, v in timings.items()}
    return result


# ------------------------------------------------------------------------------- authorisations and declarations


CASES = pa.schema(
    [
        ("household_key", pa.int64()),
        ("case_id", pa.int64()),
        ("submitted_on", pa.date32()),
        ("signed", pa.bool_()),
        ("workflow", pa.string()),
        ("state", pa.string()),
    ]
)


def region_cases(region: str) -> pa.Table:
    """The latest case of each household in the region (CASES)."""
    from minzheng.cases.models import Case

    low, high = region_codes.subtree_range(region)
    rows = (
        Case.objects.filter(household__region_id__gte=low, household__region_id__lte=high)
        .order_by("household_id", "-id")
        .values_list("household_id", "id", "submitted_on", "authorisation_signed", "service__workflow", "state")
    )
    latest: dict[int, tuple] = {}
    for row in rows:
        latest.setdefault(row[0], row)
    return pa.Table.from_pylist([dict(zip(CASES.names, row, strict=True)) for row in latest.values()], schema=CASES)


def _investigations(con, region: str, city: str, as_of: datetime.date, ref: datetime.date) -> tuple[int, int]:
    """Authorisations for every household with a case and a sample of others; the investigation's declarations.
    Idempotent: households already holding an authorisation valid on `as_of` and people already holding a
    declaration of the same kind and item get nothing new."""
    low, high = region_codes.subtree_range(region)
    held = Authorisation.objects.filter(
        household__region_id__gte=low,
        household__region_id__lte=high,
        revoked_on__isnull=True,
        signed_on__lte=as_of,
        valid_until__gte=as_of,
    ).values_list("household_id", flat=True)
    con.register("held_in", pa.table({"household_key": pa.array(sorted(set(held)), pa.int64())}))
    months = int(resolve("check.authorisation_valid_months", city, ref).value)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE investigated AS SELECT household_key FROM hh h LEFT JOIN cases_in c"
        " USING (household_key) WHERE c.household_key IS NOT NULL OR h.sampled"
    )
    # Households that sign: every one with a case, plus the sample. The case's own date when the case file holds
    # the signed form and it is still valid on as_of; otherwise a date in the last ten months.
    wanted = con.execute(
        f"""
        SELECT h.household_key,
               CASE WHEN c.signed AND c.submitted_on + INTERVAL {months} MONTH > getvariable('as_of') THEN c.case_id END
                   AS case_id,
               CASE WHEN c.signed AND c.submitted_on + INTERVAL {months} MONTH > getvariable('as_of') THEN c.submitted_on
                    ELSE days_back(h.hid, 'signed_on', 5, 300) END AS signed_on
        FROM hh h LEFT JOIN cases_in c USING (household_key)
        WHERE (c.household_key IS NOT NULL OR h.sampled)
          AND h.household_key NOT IN (SELECT household_key FROM held_in)
        ORDER BY h.household_key
        """
    ).fetchall()
    signers = con.execute(
        "SELECT household_key, person_key FROM base WHERE household_key IN (SELECT household_key FROM investigated)"
        " ORDER BY household_key, person_key"
    ).fetchall()
    persons_of: dict[int, list[int]] = {}
    for household_key, person_key in signers:
        persons_of.setdefault(household_key, []).append(person_key)

    existing = Declaration.objects.filter(household__region_id__gte=low, household__region_id__lte=high).values_list(
        "person_id", "kind", "item"
    )
    con.register(
        "declared_in",
        pa.Table.from_pylist(
            [{"person_key": p, "kind": k, "item": i} for p, k, i in existing],
            schema=pa.schema([("person_key", pa.int64()), ("kind", pa.string()), ("item", pa.string())]),
        ),
    )
    # What the home visits found: informal support from children; that childless elderly have no one to support
    # them (the village knows its 五保 elders, so this is recorded for all of them); serious illness.
    declarations = con.execute(
        """
        WITH d AS (
            SELECT household_key, person_key, id_number, 'no_supporter' AS kind, '' AS item, 0.0 AS amount,
                   CASE WHEN childless THEN '无子女，配偶亦年老或已故' ELSE '入户调查：无法定义务人或义务人无履行能力' END
                       AS note
            FROM people WHERE no_supporter
            UNION ALL
            SELECT household_key, person_key, id_number, 'has_supporter', '', 0.0, '子女在外地工作，有赡养能力'
            FROM support WHERE kind <> 'none' AND household_key IN (SELECT household_key FROM investigated)
            UNION ALL
            SELECT household_key, person_key, id_number, 'income', 'support_received', amount, '入户调查：子女每月给付赡养费'
            FROM support WHERE kind = 'informal' AND household_key IN (SELECT household_key FROM investigated)
            UNION ALL
            SELECT household_key, person_key, id_number, 'serious_illness', '', 0.0, '入户调查：患重特大疾病，有住院病历'
            FROM people WHERE ill AND household_key IN (SELECT household_key FROM investigated)
        )
        SELECT d.household_key, d.person_key, d.kind, d.item, d.amount, d.note,
               days_back(d.id_number, 'declared_on', 30, 200) AS valid_from
        FROM d ANTI JOIN declared_in x ON x.person_key = d.person_key AND x.kind = d.kind AND x.item = d.item
        ORDER BY d.household_key, d.person_key, d.kind
        """
    ).fetchall()

    def until(day: datetime.date) -> datetime.date:
        return add_months(day, months) - datetime.timedelta(days=1)

    categories = list(CATEGORIES)
    with transaction.atomic():
        auths = Authorisation.objects.bulk_create(
            [
                Authorisation(
                    household_id=household_key,
                    case_id=case_id,
                    categories=categories,
                    signed_on=signed_on,
                    valid_until=until(signed_on),
                )
                for household_key, case_id, signed_on in wanted
            ],
            batch_size=2000,
        )
        through = Authorisation.persons.through
        through.objects.bulk_create(
            [
                through(authorisation_id=auth.pk, person_id=person_key)
                for auth in auths
                for person_key in persons_of.get(auth.household_id, [])
            ],
            batch_size=5000,
        )
        Declaration.objects.bulk_create(
            [
                Declaration(
                    household_id=household_key,
                    person_id=person_key,
                    kind=kind,
                    item=item,
                    monthly_amount=Decimal(str(amount)).quantize(Decimal("0.01")),
                    note=note,
                    valid_from=valid_from,
                )
                for household_key, person_key, kind, item, amount, note, valid_from in declarations
            ],
            batch_size=2000,
        )
        if auths or declarations:
            audit.record(
                audit.Action.CREATE,
                object_type="authorisation",
                label=f"演示数据：登记核对授权 {len(auths)} 户、入户调查认定事项 {len(declarations)} 条",
                region_code=region,
                detail={"authorisations": len(auths), "declarations": len(declarations), "basis": DEMO_BASIS},
            )
    return len(auths), len(declarations)


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

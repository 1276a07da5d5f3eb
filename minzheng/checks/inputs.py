"""Building the engine's input tables from the database: members, declarations, authorisations, parameters and the
snapshots in force. Set-based reads (one SQL statement per table), never a per-household ORM loop."""

import datetime
from fractions import Fraction

import pyarrow as pa
from django.db import connection
from django.db.models import Q

from minzheng.core import arrow
from minzheng.core.errors import DomainError
from minzheng.core.money import to_fen
from minzheng.core.months import add_months, month_start_before
from minzheng.exchange.files import snapshot_path
from minzheng.exchange.selectors import snapshots_in_force
from minzheng.exchange.sources import CATEGORIES
from minzheng.policy.catalogue import as_fraction
from minzheng.policy.parameters import resolve_many
from minzheng.regions import codes

from . import schemas
from .items import ITEMS

PARAM_KEYS = [
    "dibao.standard_urban",
    "dibao.standard_rural",
    "dibao.edge_multiplier",
    "dibao.income_lookback_months",
    "dibao.employment_cost_base",
    "dibao.employment_cost_rate",
    "dibao.deduct_medical_costs",
    "dibao.extra_excluded_items",
    "dibao.uplift_elderly_age",
    "dibao.uplift_elderly",
    "dibao.uplift_minor",
    "dibao.uplift_severe_disability",
    "dibao.uplift_serious_illness",
    "dibao.financial_assets_months",
    "dibao.vehicle_rule",
    "dibao.vehicle_value_cap",
    "dibao.vehicle_exempt_types",
    "dibao.max_residential_properties",
    "dibao.nonresidential_property_allowed",
    "dibao.business_registration_allowed",
    "dibao.rounding_quantum",
    "dibao.rounding_mode",
    "tekun.basic_multiplier_of_dibao",
    "tekun.care_share_self",
    "tekun.care_share_partial",
    "tekun.care_share_full",
    "tekun.elderly_age",
    "tekun.minor_age",
    "tekun.student_age_limit",
    "rigid_expense.months_lookback",
    "rigid_expense.share_of_income",
    "local.min_wage",
    "local.disposable_income",
]


def _fraction(value) -> tuple[int | None, int | None]:
    if value in ("", None):
        return None, None
    f = Fraction(as_fraction(value))
    return f.numerator, f.denominator


def county_of(region_code: str) -> int:
    return int(region_code[:6])


# ------------------------------------------------------------------------------------------------------ members

_MEMBER_SQL = """
SELECT m.household_id, p.id, p.id_number, h.region_id, h.area_type, p.birth_date, p.disability_category,
       p.disability_grade, p.self_care, p.deceased_on
FROM registry_membership m
JOIN registry_person p ON p.id = m.person_id
JOIN registry_household h ON h.id = m.household_id
WHERE m.left_on IS NULL AND {where}
"""


def members(*, household_ids: list[int] | None = None, region_code: str | None = None) -> pa.Table:
    """Current members of the given households, or of every household in a region's subtree."""
    if household_ids is not None:
        where, params = f"m.household_id IN ({','.join(['%s'] * len(household_ids)) or 'NULL'})", list(household_ids)
    else:
        low, high = codes.subtree_range(region_code)
        where, params = "h.region_id BETWEEN %s AND %s", [low, high]
    cols: list[list] = [[] for _ in schemas.MEMBERS]
    with connection.cursor() as cur:
        cur.execute(_MEMBER_SQL.format(where=where), params)
        while batch := cur.fetchmany(100_000):
            for hid, pid, idn, region, area, birth, cat, grade, care, dead in batch:
                row = (
                    hid,
                    pid,
                    idn,
                    county_of(region),
                    area,
                    arrow.as_date(birth),
                    cat or "",
                    grade,
                    care or "",
                    arrow.as_date(dead),
                )
                for col, value in zip(cols, row, strict=True):
                    col.append(value)
    return arrow.from_columns(schemas.MEMBERS, cols)


def declarations(household_ids_or_region, as_of: datetime.date) -> pa.Table:
    from minzheng.cases.models import Declaration

    qs = Declaration.objects.filter(valid_from__lte=as_of).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=as_of)
    )
    qs = _restrict(qs, household_ids_or_region, "household")
    rows = [
        (h, p, kind, item, to_fen(amount) or 0)
        for h, p, kind, item, amount in qs.values_list("household_id", "person_id", "kind", "item", "monthly_amount")
    ]
    return arrow.table(schemas.DECLARATIONS, rows)


def _restrict(qs, household_ids_or_region, prefix: str):
    if isinstance(household_ids_or_region, str):
        low, high = codes.subtree_range(household_ids_or_region)
        return qs.filter(**{f"{prefix}__region__gte": low, f"{prefix}__region__lte": high})
    return qs.filter(**{f"{prefix}_id__in": list(household_ids_or_region)})


def authorisations(household_ids_or_region) -> tuple[pa.Table, pa.Table]:
    from .models import Authorisation

    qs = _restrict(Authorisation.objects.filter(revoked_on__isnull=True), household_ids_or_region, "household")
    every = set(CATEGORIES)
    auth_rows = [
        (pk, h, signed, until, every <= set(cats or []))
        for pk, h, signed, until, cats in qs.values_list("id", "household_id", "signed_on", "valid_until", "categories")
    ]
    through = Authorisation.persons.through.objects.filter(authorisation__in=qs)
    person_rows = list(through.values_list("authorisation_id", "person_id"))
    return arrow.table(schemas.AUTHORISATIONS, auth_rows), arrow.table(schemas.AUTHORISED_PERSONS, person_rows)


# ---------------------------------------------------------------------------------------------------- parameters


def parameters(
    counties: list[int], as_of: datetime.date, overrides: dict[int, dict[str, object]] | None = None
) -> tuple[pa.Table, pa.Table, dict]:
    """The parameters in force on `as_of` for each county (urban and rural rows), the item rules, and the record of
    every value used (stored with the run so a verdict stays explainable after a parameter changes).

    `overrides` (a policy scenario, `minzheng.simulation`): per county, values that replace the ones in force, already
    validated against the catalogue; the tables are then built exactly as for the values in force."""
    param_rows, item_rows, record = [], [], {}
    for county in sorted(set(counties)):
        code = f"{county:06d}000000"
        resolved = resolve_many(PARAM_KEYS, code, as_of)
        record[str(county)] = {k: r.as_record() for k, r in resolved.items()}
        v = {k: r.value for k, r in resolved.items()}
        for key, value in ((overrides or {}).get(county) or {}).items():
            v[key] = value
            record[str(county)][key] = {**record[str(county)][key], "value": value, "scenario": True}
        lookback = int(v["dibao.income_lookback_months"])
        if lookback <= 0:
            raise DomainError("收入计算期应至少为1个月", "invalid_parameter")
        common = {
            "county": county,
            "as_of": as_of,
            "income_from": month_start_before(as_of, lookback),
            # The previous N months: (as_of − N months, as_of].
            "rigid_from": add_months(as_of, -int(v["rigid_expense.months_lookback"])) + datetime.timedelta(days=1),
            "lookback_months": lookback,
            "emp_base": v["dibao.employment_cost_base"],
            "min_wage": to_fen(v["local.min_wage"]),
            "deduct_medical": bool(v["dibao.deduct_medical_costs"]),
            "elderly_age": int(v["dibao.uplift_elderly_age"]),
            "fin_months": None
            if v["dibao.financial_assets_months"] in ("", None)
            else int(v["dibao.financial_assets_months"]),
            "vehicle_rule": v["dibao.vehicle_rule"],
            "vehicle_cap": to_fen(v["dibao.vehicle_value_cap"]),
            "vehicle_exempt": "," + ",".join(s.strip() for s in str(v["dibao.vehicle_exempt_types"]).split(",")) + ",",
            "max_residential": None
            if v["dibao.max_residential_properties"] in ("", None)
            else int(v["dibao.max_residential_properties"]),
            "nonresidential_allowed": bool(v["dibao.nonresidential_property_allowed"]),
            "business_allowed": bool(v["dibao.business_registration_allowed"]),
            "round_quantum": to_fen(v["dibao.rounding_quantum"]),
            "round_mode": v["dibao.rounding_mode"],
            "tk_elderly_age": int(v["tekun.elderly_age"]),
            "tk_minor_age": int(v["tekun.minor_age"]),
            "tk_student_age": None if v["tekun.student_age_limit"] in ("", None) else int(v["tekun.student_age_limit"]),
            "disposable_income": to_fen(v["local.disposable_income"]),
        }
        for prefix, key in (
            ("edge", "dibao.edge_multiplier"),
            ("emp", "dibao.employment_cost_rate"),
            ("up_elderly", "dibao.uplift_elderly"),
            ("up_minor", "dibao.uplift_minor"),
            ("up_disability", "dibao.uplift_severe_disability"),
            ("up_illness", "dibao.uplift_serious_illness"),
            ("tk", "tekun.basic_multiplier_of_dibao"),
            ("care_self", "tekun.care_share_self"),
            ("care_partial", "tekun.care_share_partial"),
            ("care_full", "tekun.care_share_full"),
            ("rigid", "rigid_expense.share_of_income"),
        ):
            num, den = _fraction(v[key])
            if num is None and prefix != "rigid":  # not configured: no share (the rigid line says "not configured")
                num, den = 0, 1
            common[f"{prefix}_num"], common[f"{prefix}_den"] = num, den
        for area, key in (("urban", "dibao.standard_urban"), ("rural", "dibao.standard_rural")):
            row = dict(common, area_type=area, std=to_fen(v[key]))
            param_rows.append(tuple(row[c] for c in schemas.PARAMS))
        extra = {s.strip() for s in str(v["dibao.extra_excluded_items"]).split(",") if s.strip()}
        for item in ITEMS.values():
            item_rows.append((county, item.code, item.role, item.counted and item.code not in extra))
    return arrow.table(schemas.PARAMS, param_rows), arrow.table(schemas.ITEM_RULES, item_rows), record


# ------------------------------------------------------------------------------------------ one call per execution


def for_households(household_ids: list[int], region_code: str, as_of: datetime.date):
    """The window path: the households' own rows only (the snapshot scans are filtered to their members).
    Returns (EngineInputs, parameter record, snapshots in force)."""
    return _gather(list(household_ids), region_code, as_of)


def for_region(region_code: str, as_of: datetime.date):
    """The batch path: every household in the region's subtree, whole snapshots."""
    return _gather(region_code, region_code, as_of)


def _gather(selection: list[int] | str, region_code: str, as_of: datetime.date):
    from .engine import EngineInputs

    window = not isinstance(selection, str)
    member_table = members(household_ids=selection) if window else members(region_code=selection)
    counties = sorted(set(member_table.column("county").to_pylist())) or [county_of(region_code)]
    params, item_rules, record = parameters(counties, as_of)
    auths, auth_persons = authorisations(selection)
    snapshots = snapshots_in_force(region_code, as_of)
    engine_inputs = EngineInputs(
        members=member_table,
        declarations=declarations(selection, as_of),
        authorisations=auths,
        authorised_persons=auth_persons,
        item_rules=item_rules,
        params=params,
        snapshots={code: snapshot_path(s) if s else None for code, s in snapshots.items()},
        person_keys=member_table.column("person_key").to_pylist() if window else None,
        id_numbers=member_table.column("id_number").to_pylist() if window else None,
    )
    return engine_inputs, record, snapshots

"""The investigation's part of the checking demo: signed authorisations (授权核对书) for every household with a case
and a sample of others, and the declarations no department holds (informal support from children, no legal supporter
for childless elderly, serious illness)."""

import datetime
from decimal import Decimal

import pyarrow as pa
from django.db import transaction

from minzheng.cases.models import Declaration
from minzheng.checks.models import Authorisation
from minzheng.core import audit
from minzheng.core.months import add_months
from minzheng.exchange.sources import CATEGORIES
from minzheng.policy.parameters import resolve
from minzheng.regions import codes as region_codes

from . import parameters

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


def record(con, region: str, city: str, as_of: datetime.date, ref: datetime.date) -> tuple[int, int]:
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
                detail={
                    "authorisations": len(auths),
                    "declarations": len(declarations),
                    "basis": parameters.DEMO_BASIS,
                },
            )
    return len(auths), len(declarations)

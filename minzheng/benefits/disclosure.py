"""Public disclosure of a month's roll per village (DOMAIN.md §11: like the 公示 — masked name, household size,
amount; nothing else). Only committed lines (approved or paid) are published."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery, Sum

from minzheng.cases.public import public_region
from minzheng.core.masking import mask_name
from minzheng.core.money import from_fen
from minzheng.registry.models import Membership

from .kinds import label
from .models import COMMITTED_LINE_STATES, PaymentLine
from .rolls import parse_month
from .selectors import month_rolls

LIMIT = 2000


@dataclass(frozen=True)
class Row:
    benefit: str
    name: str  # masked
    household_size: int
    amount: object


@dataclass
class VillageRoll:
    region: object
    month: datetime.date
    rows: list[Row]
    truncated: bool


def village_roll(region_code: str, month: str) -> VillageRoll:
    region = public_region(region_code)
    month_start = parse_month(month)
    low, high = region.subtree_range()
    size = (
        Membership.objects.filter(household_id=OuterRef("household_id"), left_on__isnull=True)
        .order_by()
        .values("household_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = list(
        PaymentLine.objects.filter(
            region_id__gte=low,
            region_id__lte=high,
            roll__in=month_rolls(region.code, month_start),
            state__in=COMMITTED_LINE_STATES,
        )
        .values("benefit", "household_id", "recipient_name")
        .annotate(fen=Sum("amount_fen"), size=Subquery(size))
        .order_by("benefit", "household_id")[: LIMIT + 1]
    )
    return VillageRoll(
        region=region,
        month=month_start,
        rows=[
            Row(label(r["benefit"]), mask_name(r["recipient_name"]), r["size"] or 0, from_fen(r["fen"]))
            for r in rows[:LIMIT]
        ],
        truncated=len(rows) > LIMIT,
    )

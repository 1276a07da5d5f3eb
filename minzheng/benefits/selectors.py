"""Reads of benefits shared by pages, the API, the batch re-check and the monitoring chain: all scoped."""

import datetime
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core.money import from_fen
from minzheng.core.months import first_of_month
from minzheng.core.scoping import in_scope
from minzheng.regions import codes

from .models import Entitlement, EntitlementVersion, PaymentLine, PaymentRoll, Recovery, Status


def current_recipients(region_code: str) -> dict[int, tuple[str, Decimal]]:
    """household id -> (benefit, monthly amount) of the 低保/特困 entitlements in force (not stopped): what the batch
    re-check compares its verdicts with. A household with both is listed under 特困 with their sum."""
    low, high = codes.subtree_range(region_code)
    # What is in force this month, as the household page reads it (a stop decided for a later month is not yet in
    # force); an entitlement decided to start next month counts, at its decided amount.
    latest = _versions_in_force(this_month())
    rows = (
        Entitlement.objects.filter(region_id__gte=low, region_id__lte=high, benefit__in=("dibao", "tekun"))
        .annotate(
            status_now=Subquery(latest.values("status")[:1]),
            fen_now=Coalesce(Subquery(latest.values("amount_fen")[:1]), F("amount_fen")),
        )
        .filter(Q(status_now__isnull=True) | ~Q(status_now=Status.STOPPED))
        .values_list("household_id", "benefit", "fen_now")
    )
    out: dict[int, tuple[str, int]] = {}
    for household, benefit, fen in rows:
        if household in out:
            prior_benefit, prior = out[household]
            out[household] = ("tekun" if "tekun" in (benefit, prior_benefit) else benefit, prior + fen)
        else:
            out[household] = (benefit, fen)
    return {h: (b, from_fen(f)) for h, (b, f) in out.items()}


def this_month() -> datetime.date:
    return first_of_month(timezone.localdate())


def _versions_in_force(month: datetime.date):
    """An entitlement's versions from the one in force in `month` back, for a correlated subquery (`[:1]`)."""
    latest = EntitlementVersion.objects.filter(entitlement=OuterRef("pk"), effective_from__lte=month)
    return latest.order_by("-effective_from", "-id")


def status_in_force(month: datetime.date):
    """The status of the version in force in `month`, as an annotation (for filtering a list by what is paid now)."""
    return Subquery(_versions_in_force(month).values("status")[:1])


def in_force(entitlements: list[Entitlement], month: datetime.date | None = None) -> list[Entitlement]:
    """What people read of an entitlement, from its versions (one query for the list): `now`, the version in force
    in `month` (this month by default; None before the first month paid), and `upcoming`, the changes already
    decided for later months (a taper and the stop after it, the end of a one-off payment). The entitlement's own
    status and amount are those a decision last left, which may be a change still to come."""
    month = month or this_month()
    by_entitlement: dict[int, list[EntitlementVersion]] = {}
    for version in EntitlementVersion.objects.filter(entitlement_id__in=[e.pk for e in entitlements]).order_by(
        "entitlement_id", "effective_from", "id"
    ):
        by_entitlement.setdefault(version.entitlement_id, []).append(version)
    for e in entitlements:
        versions = by_entitlement.get(e.pk, [])
        e.now = next((v for v in reversed(versions) if v.effective_from <= month), None)
        upcoming = [v for v in versions if v.effective_from > month]
        # Several versions for one month (a decision replaced the same day): the last one recorded counts.
        e.upcoming = [
            v
            for i, v in enumerate(upcoming)
            if i + 1 == len(upcoming) or upcoming[i + 1].effective_from != v.effective_from
        ]
    return entitlements


def household_money(user, household_id: int) -> dict | None:
    """Entitlements, every payment line with its roll and bank result, arrears and recoveries of one household."""
    if not has_capability(user, Capability.VIEW_PEOPLE) and not has_capability(user, Capability.VIEW_PAYMENTS):
        return None
    ents = list(
        Entitlement.objects.for_user(user)
        .filter(household_id=household_id)
        .select_related("person")
        .annotate(last_decision_number=F("last_decision__number"))
        .order_by("-id")
    )
    if not ents:  # lines and recoveries belong to entitlements: most households have none, and need no more queries
        return {"entitlements": [], "lines": [], "arrears": [], "recoveries": []}
    in_force(ents)
    lines = list(  # through the household's entitlements: lines keep no household index (models.PaymentLine)
        PaymentLine.objects.for_user(user)
        .filter(entitlement_id__in=Entitlement.objects.filter(household_id=household_id).values("pk"))
        .select_related("roll")
        .order_by("-month", "-id")[:120]
    )
    for line in lines:  # a county's roll: a township's officer reads the household's lines, not the county's roll
        line.roll_visible = in_scope(user, line.roll.county_id)
    recoveries = list(Recovery.objects.for_user(user).filter(household_id=household_id).select_related("line"))
    return {
        "entitlements": ents,
        "lines": lines,
        "arrears": [line for line in lines if line.kind == PaymentLine.Kind.ARREARS],
        "recoveries": recoveries,
    }


def rolls_for(user, month: datetime.date | None = None):
    require(user, Capability.VIEW_PAYMENTS)
    qs = PaymentRoll.objects.for_user(user).select_related("county", "prepared_by", "approved_by")
    if month:
        qs = qs.filter(month=month)
    return qs


def month_rolls(region_code: str, month: datetime.date):
    """The month's rolls of the counties in or above a region (every line of the region is in one of them)."""
    low, high = codes.subtree_range(region_code)
    return PaymentRoll.objects.filter(month=month, county_id__gte=low[:6] + "000000", county_id__lte=high).values("pk")


def totals(user, month: datetime.date) -> dict[str, list[dict]]:
    """The month's committed and payable amounts by benefit, by township and by fund source (民政统计)."""
    from .kinds import TYPES

    require(user, Capability.VIEW_PAYMENTS)
    # Through the month's rolls (their (roll, state) index), not a scan of every month's lines.
    lines = (
        PaymentLine.objects.for_user(user)
        .filter(roll__in=month_rolls(user.region.code, month) if user.region_id else PaymentRoll.objects.none())
        .exclude(state__in=("held", "stopped", "reissued"))
    )
    by_benefit = list(lines.values("benefit").annotate(n=Count("id"), fen=Sum("amount_fen")).order_by("benefit"))
    by_township = list(
        lines.annotate(township=Substr("region_id", 1, 9))
        .values("township")
        .annotate(n=Count("id"), fen=Sum("amount_fen"))
        .order_by("township")
    )
    from minzheng.regions.models import Region

    names = dict(
        Region.objects.filter(code__in=[r["township"] + "000" for r in by_township]).values_list("code", "name")
    )
    funds: dict[str, dict] = {}
    for row in by_benefit:
        row["name"] = TYPES[row["benefit"]].name if row["benefit"] in TYPES else row["benefit"]
        row["amount"] = from_fen(row["fen"])
        fund = TYPES[row["benefit"]].fund if row["benefit"] in TYPES else "—"
        entry = funds.setdefault(fund, {"fund": fund, "n": 0, "fen": 0})
        entry["n"] += row["n"]
        entry["fen"] += row["fen"] or 0
    for row in by_township:
        row["name"] = names.get(row["township"] + "000", row["township"])
        row["amount"] = from_fen(row["fen"])
    for entry in funds.values():
        entry["amount"] = from_fen(entry["fen"])
    return {"benefit": by_benefit, "township": by_township, "fund": list(funds.values())}

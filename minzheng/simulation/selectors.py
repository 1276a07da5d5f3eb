"""Scoped reads of scenarios and their results, shared by the pages, the exports, the command and the API."""

from collections import defaultdict
from decimal import Decimal

import duckdb
from django.db.models import Q, Sum

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit, ids
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.scoping import get_in
from minzheng.regions import codes
from minzheng.regions.models import Region
from minzheng.registry.models import Household

from . import store
from .evaluate import CHANGES
from .models import Benefit, Figure, Scenario, ScenarioRun

COUNTS = (
    "households_before",
    "households_after",
    "people_before",
    "people_after",
    *(f"{c}_{w}" for c in CHANGES for w in ("households", "people")),
)
SUMS = (*COUNTS, "cost_before", "cost_after")
CHANGE_LABELS = {"new": "新增", "lost": "退出", "up": "金额增加", "down": "金额减少", "same": "不变"}


def can_view(user) -> bool:
    """Planners, and the officers who review checks (they read the affected households of their own area)."""
    return has_capability(user, Capability.SIMULATE) or has_capability(user, Capability.VIEW_CHECKS)


def scenarios_for(user):
    """The scenarios of the user's subtree and of the regions above it (a township officer reads the county's
    scenario, limited to the township: figures and lists are filtered by the user's region)."""
    if not can_view(user):
        require(user, Capability.SIMULATE)
    low, high = user.region.subtree_range()
    above = codes.lineage(user.region.code)
    return (
        Scenario.objects.filter(Q(region_id__gte=low, region_id__lte=high) | Q(region_id__in=above))
        .select_related("region", "created_by")
        .order_by("-id")
    )


def scenario_for(user, pk: int) -> Scenario:
    return get_in(scenarios_for(user).select_related("adopted_by"), user, pk=pk)


def _with_diff(row: dict) -> dict:
    row["cost_diff"] = (row["cost_after"] or Decimal(0)) - (row["cost_before"] or Decimal(0))
    row["cost_diff_year"] = row["cost_diff"] * 12
    row["cost_before_year"] = (row["cost_before"] or Decimal(0)) * 12
    row["cost_after_year"] = (row["cost_after"] or Decimal(0)) * 12
    row["benefit_label"] = Benefit(row["benefit"]).label
    return row


def _figures(run: ScenarioRun, user=None):
    qs = Figure.objects.filter(run=run)
    return qs.for_user(user) if user is not None else qs


def totals_by_benefit(run: ScenarioRun, user=None) -> list[dict]:
    rows = _figures(run, user).values("benefit").annotate(**{f: Sum(f) for f in SUMS}).order_by("benefit")
    order = list(Benefit.values)
    return sorted((_with_diff(dict(r)) for r in rows), key=lambda r: order.index(r["benefit"]))


def by_area(run: ScenarioRun, user=None, *, county: str | None = None) -> dict[str, list[dict]]:
    """Per benefit, the rows per county (or, given a county, per township of it), with the region's name."""
    field = "township" if county else "county"
    qs = _figures(run, user)
    if county:
        qs = qs.filter(county_id=county)
    rows = qs.values("benefit", field).annotate(**{f: Sum(f) for f in SUMS}).order_by("benefit", field)
    names = dict(Region.objects.filter(code__in={r[field] for r in rows}).values_list("code", "name"))
    result: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        r = _with_diff(dict(r))
        r["code"], r["name"] = r[field], names.get(r[field], r[field])
        result[r["benefit"]].append(r)
    order = list(Benefit.values)
    return dict(sorted(result.items(), key=lambda kv: order.index(kv[0])))


PAGE = 50


def affected(user, run: ScenarioRun, *, after: tuple[str, int, str] | None = None, change: str = "", limit: int = PAGE):
    """The affected households the user may see (their subtree of the scenario's region), paged by key, masked; the
    view is audited like every list of personal data."""
    require(user, Capability.VIEW_PEOPLE)
    path = store.path_for(run)
    if run.status != run.Status.COMPLETE or not path.exists():
        return []
    low, high = user.region.subtree_range()
    where, params = ["township BETWEEN ? AND ?"], [low[:9] + "000", high[:9] + "999"]
    if low[9:] != "000":  # a village-level user: none of a township's list is theirs alone
        return []
    if change in CHANGE_LABELS:
        where.append("change = ?")
        params.append(change)
    if after:
        where.append("(township, household_key, benefit) > (?, ?, ?)")
        params.extend(after)
    con = duckdb.connect()
    try:
        cursor = con.execute(
            f"SELECT * FROM read_parquet(?) WHERE {' AND '.join(where)} ORDER BY township, household_key, benefit"
            f" LIMIT {int(limit)}",
            [str(path), *params],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    households = {
        h.pk: h
        for h in Household.objects.for_user(user)
        .filter(pk__in={r["household_key"] for r in rows})
        .select_related("head", "region")
    }
    result = []
    for r in rows:
        h = households.get(r["household_key"])
        if h is None:
            continue
        head = h.head
        r.update(
            number=h.number,
            village=h.region.name,
            head=mask_name(head.name) if head else "",
            id_number=mask_id_number(head.id_number) if head else "",
            benefit_label=Benefit(r["benefit"]).label,
            change_label=CHANGE_LABELS[r["change"]],
            per_capita=Decimal(r["per_capita"] or 0) / 100,
            amount_before=Decimal(r["amount_before"] or 0) / 100,
            amount_after=Decimal(r["amount_after"] or 0) / 100,
        )
        result.append(r)
    audit.record(
        audit.Action.VIEW,
        user=user,
        obj=run.scenario,
        label=f"政策模拟受影响家庭名单（方案 {run.scenario_id}）",
        detail={"run": run.pk, "change": change, "rows": len(result)},
    )
    return result


def parse_cursor(raw: str) -> tuple[str, int, str] | None:
    """The affected list's keyset cursor `township,household,benefit` (pages and API alike); anything else starts over."""
    if raw.count(",") != 2:
        return None
    town, key, benefit = raw.split(",")
    household = ids.parse(key, minimum=0)
    return None if household is None else (town, household, benefit)

"""监测看板 (issue 5 §4): a region's warnings by rule and outcome, open/overdue/closed tasks per child region (drill
down to the village), the monitored population by category, and the days from signal to assistance. Every figure is
an SQL aggregate (grouped by the child region's code prefix with Substr); Python only arranges the grouped rows."""

import datetime
from collections import defaultdict

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core.errors import DomainError, NotFound
from minzheng.regions import codes
from minzheng.regions.models import Region

from . import texts
from .models import Alert, Category, MonitoredEntry, Outcome
from .rules import RULES


def _region(user, region_code: str | None) -> Region:
    if not region_code:
        return user.region
    try:
        code = codes.canonical(region_code)
    except DomainError:
        raise NotFound("区划不存在或不在您的管辖范围内") from None
    region = Region.objects.filter(pk=code).first()
    if region is None or not user.region.contains(region.code):
        raise NotFound("区划不存在或不在您的管辖范围内")
    return region


def _median(histogram: dict[int, int]) -> float | None:
    """Median of a {value: count} histogram (mean of the two middle values for an even count)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in sorted(histogram):
        count = histogram[value]
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found)


def _stats(histogram: dict[int, int]) -> dict:
    n = sum(histogram.values())
    mean = sum(v * c for v, c in histogram.items()) / n if n else None
    return {"count": n, "median": _median(histogram), "mean": None if mean is None else round(mean, 1)}


def dashboard(user, region_code: str | None = None, today: datetime.date | None = None) -> dict:
    """The figures of one region of the user's scope (the user's own by default)."""
    require(user, Capability.VIEW_MONITORING)
    today = today or timezone.localdate()
    region = _region(user, region_code)
    low, high = region.subtree_range()
    alerts = Alert.objects.filter(region_id__gte=low, region_id__lte=high)
    leaf = region.level >= codes.VILLAGE
    width = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]

    # Warnings by rule × suggested outcome.
    grid: dict[str, dict[str, int]] = defaultdict(dict)
    for row in alerts.order_by().values("rule", "suggested_outcome").annotate(n=Count("pk")):
        grid[row["rule"]][row["suggested_outcome"]] = row["n"]
    # The label's head ("政策未落实") names the outcome in narrow columns; the whole label is the tooltip.
    outcomes = [{"code": c, "label": label, "short": label.split("：")[0]} for c, label in Outcome.choices]
    rule_rows = [
        {
            "rule": rule,
            "name": texts.rule_name(rule),
            "counts": [grid[rule].get(o["code"], 0) for o in outcomes],
            "total": sum(grid[rule].values()),
        }
        for rule in [*RULES, *sorted(set(grid) - set(RULES))]
        if rule in grid
    ]
    outcome_totals = [sum(r["counts"][i] for r in rule_rows) for i in range(len(outcomes))]

    # Tasks per child region.
    open_q = ~Q(status=Alert.Status.CLOSED)
    overdue_q = open_q & Q(due_on__lt=today)
    children: list[dict] = []
    if not leaf:
        counted = {
            row["child"]: row
            for row in alerts.annotate(child=Substr("region_id", 1, width))
            .order_by()
            .values("child")
            .annotate(
                open=Count("pk", filter=open_q),
                overdue=Count("pk", filter=overdue_q),
                closed=Count("pk", filter=Q(status=Alert.Status.CLOSED)),
            )
        }
        names = dict(Region.objects.filter(parent=region).values_list("code", "name"))
        for prefix in sorted({c[:width] for c in names} | set(counted)):
            code = prefix.ljust(12, "0")
            row = counted.get(prefix, {})
            children.append(
                {
                    "code": code,
                    "prefix": prefix,
                    "name": names.get(code, prefix),
                    "open": row.get("open", 0),
                    "overdue": row.get("overdue", 0),
                    "closed": row.get("closed", 0),
                }
            )
    totals = alerts.aggregate(
        open=Count("pk", filter=open_q), overdue=Count("pk", filter=overdue_q), closed=Count("pk", filter=~open_q)
    )

    # The monitored population (current register) by category.
    population_counts = dict(
        MonitoredEntry.objects.filter(region_id__gte=low, region_id__lte=high, end_on__isnull=True)
        .order_by()
        .values("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    households = (
        MonitoredEntry.objects.filter(region_id__gte=low, region_id__lte=high, end_on__isnull=True)
        .values("household_id")
        .distinct()
        .count()
    )
    population = [{"code": c, "label": label, "count": population_counts.get(c, 0)} for c, label in Category.choices]

    # Days from the signal to assistance: the decision of the case the warning opened, or else the closing day.
    # Grouped by (child region, days) in SQL; median and mean are read off that histogram.
    assisted = ExpressionWrapper(
        Coalesce(F("case__decided_on"), F("closed_on")) - F("signal_on"), output_field=DurationField()
    )
    histogram_rows = (
        alerts.filter(status=Alert.Status.CLOSED, closed_on__isnull=False)
        .annotate(child=Substr("region_id", 1, width), wait=assisted)
        .order_by()
        .values("child", "wait")
        .annotate(n=Count("pk"))
    )
    overall: dict[int, int] = defaultdict(int)
    per_child: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in histogram_rows:
        days = _days(row["wait"])
        overall[days] += row["n"]
        per_child[row["child"]][days] += row["n"]
    timing_children = []
    for child in children:
        timing_children.append(
            {"code": child["code"], "name": child["name"], **_stats(per_child.get(child["prefix"], {}))}
        )

    chart = {
        "outcomes": [o["short"] for o in outcomes],
        "rules": [r["name"] for r in rule_rows],
        "by_rule": [[r["counts"][i] for r in rule_rows] for i in range(len(outcomes))],
        "children": [c["name"] for c in children],
        "open": [c["open"] - c["overdue"] for c in children],
        "overdue": [c["overdue"] for c in children],
        "closed": [c["closed"] for c in children],
        "population": [{"name": p["label"], "value": p["count"]} for p in population if p["count"]],
        "timing_names": [t["name"] for t in timing_children if t["count"]],
        "median": [t["median"] for t in timing_children if t["count"]],
        "mean": [t["mean"] for t in timing_children if t["count"]],
    }
    return {
        "region": region,
        "ancestors": [r for r in region.ancestors() if user.region.contains(r.code)],
        "leaf": leaf,
        "child_level": codes.LEVEL_NAMES[min(region.level + 1, codes.VILLAGE)],
        "outcomes": outcomes,
        "rule_rows": rule_rows,
        "outcome_totals": outcome_totals,
        "grand_total": sum(outcome_totals),
        "children": children,
        "totals": totals,
        "population": population,
        "population_total": sum(population_counts.values()),
        "households": households,
        "timing": _stats(overall),
        "timing_children": timing_children,
        "chart": chart,
        "today": today,
    }


def _days(value) -> int:
    if isinstance(value, datetime.timedelta):
        return value.days
    if value is None:
        return 0
    return int(value)

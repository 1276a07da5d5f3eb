"""Resolving a parameter for a region on a date: the nearest region up the tree with a value in force wins, down to
the national default (a database row without region, else the shipped national_defaults.toml)."""

import datetime
from dataclasses import asdict, dataclass

from django.db.models import Q

from minzheng.regions import codes

from .catalogue import spec, specs
from .models import Parameter


@dataclass(frozen=True)
class Resolved:
    key: str
    value: object
    region_code: str  # "" = national
    effective_from: datetime.date
    parameter_id: int | None  # None = the shipped national default

    def as_record(self) -> dict:
        """What a decision stores so it can be explained and replayed after the parameter changes."""
        data = asdict(self)
        data["effective_from"] = self.effective_from.isoformat()
        return data


def resolve_many(keys: list[str], region_code: str, on: datetime.date) -> dict[str, Resolved]:
    """All `keys` at once for a region and date: one query."""
    for key in keys:
        spec(key)  # unknown keys are programming errors reported in Chinese like everything else
    lineage = codes.lineage(region_code, root=False)
    rank = {code: i for i, code in enumerate(lineage)}
    rows = (
        Parameter.objects.filter(key__in=keys, effective_from__lte=on)
        .filter(Q(region__isnull=True) | Q(region_id__in=lineage))
        .values("id", "key", "region_id", "effective_from", "value")
    )
    best: dict[str, tuple[tuple[int, datetime.date], dict]] = {}
    for row in rows:
        # Nearer region first (national last), then the latest effective date.
        score = (-(rank[row["region_id"]] if row["region_id"] else len(lineage)), row["effective_from"])
        if row["key"] not in best or score > best[row["key"]][0]:
            best[row["key"]] = (score, row)
    result = {}
    for key in keys:
        if key in best:
            row = best[key][1]
            result[key] = Resolved(key, row["value"], row["region_id"] or "", row["effective_from"], row["id"])
        else:
            s = spec(key)
            result[key] = Resolved(key, s.default, "", s.effective_from, None)
    return result


def resolve(key: str, region_code: str, on: datetime.date) -> Resolved:
    return resolve_many([key], region_code, on)[key]


def group(prefix: str, region_code: str, on: datetime.date) -> dict[str, Resolved]:
    """Every parameter of a group ("dibao"), keyed by its short name ("total_wd")."""
    keys = [k for k in specs() if k.startswith(prefix + ".")]
    return {k.split(".", 1)[1]: v for k, v in resolve_many(keys, region_code, on).items()}

"""Writing dated parameters: the one service behind every change of a parameter made outside the admin (adopting a
policy scenario, `minzheng.simulation`). Values are validated by the catalogue; rows are added, never edited (a value
in force explains the decisions made under it); all or nothing, and audited."""

import datetime
from dataclasses import dataclass

from django.db import transaction

from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError
from minzheng.regions.models import Region

from .catalogue import spec
from .models import Parameter


@dataclass(frozen=True)
class NewValue:
    key: str
    region_code: str  # 12 digits
    value: object


def add_values(values: list[NewValue], *, effective_from: datetime.date, basis: str, user) -> list[Parameter]:
    """Add the values, each in force from `effective_from` for its region. The caller checks the user's right to set
    parameters; this checks the values and refuses a date on which a value is already set."""
    if not values:
        raise DomainError("没有需要写入的参数", "nothing_to_write")
    rows = []
    for item in values:
        s = spec(item.key)
        region = Region.objects.filter(code=item.region_code).first()
        if region is None:
            raise DomainError(f"区划代码 {item.region_code} 不存在", "unknown_region")
        if Parameter.objects.filter(key=item.key, region=region, effective_from=effective_from).exists():
            raise Conflict(
                f"{region.name}的“{s.label}”在 {effective_from:%Y-%m-%d} 已有取值，不能重复设定", "parameter_exists"
            )
        rows.append(
            Parameter(
                key=item.key,
                region=region,
                effective_from=effective_from,
                value=s.parse(item.value),
                basis=basis[:200],
                created_by=user,
            )
        )
    with transaction.atomic():
        created = Parameter.objects.bulk_create(rows)
        for row in created:
            audit.record(
                audit.Action.CREATE,
                user=user,
                obj=row,
                label=f"政策参数 {row.key}（{spec(row.key).label}）",
                region_code=row.region_id,
                detail={"value": row.value, "effective_from": effective_from.isoformat(), "basis": basis[:200]},
            )
    return created

"""The demo's illustrative local parameters (`parameters.toml`, basis 演示数据：示例值，非官方标准) for a prefecture."""

import datetime
import tomllib
from importlib import resources

from django.db import transaction

from minzheng.core.errors import DomainError
from minzheng.policy.catalogue import spec
from minzheng.policy.models import Parameter
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

DEMO_BASIS = "演示数据：示例值，非官方标准"


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

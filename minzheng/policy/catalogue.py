"""The national parameter catalogue: every parameter's key, label, unit, type and national default, read from
national_defaults.toml (DOMAIN.md's settings block). Code never spells a national value; it asks for a key."""

import datetime
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from importlib import resources

from minzheng.core.errors import DomainError


@dataclass(frozen=True)
class ParamSpec:
    key: str  # "dibao.total_wd"
    label: str
    default: object
    effective_from: datetime.date
    unit: str = ""
    marker: str = ""  # S / L / R as in DOMAIN.md
    source: str = ""
    choices: tuple[str, ...] = ()
    declared_kind: str = ""  # overrides the kind inferred from the default
    optional: bool = False  # an empty value means "not configured"

    @property
    def kind(self) -> str:
        if self.declared_kind:
            return self.declared_kind
        if self.choices:
            return "choice"
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, int):
            return "int"
        if self.unit in ("比例", "元"):
            return "decimal"
        return "text"

    def parse(self, raw: object) -> object:
        """Validate a value for this parameter; raise DomainError in Chinese. Decimals are kept as strings."""
        kind = self.kind
        if kind == "choice":
            if raw not in self.choices:
                raise DomainError(f"{self.label}只能取：{'、'.join(self.choices)}", "invalid_parameter")
            return raw
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "是"):
                return True
            if str(raw).lower() in ("false", "0", "否"):
                return False
            raise DomainError(f"{self.label}应为“是”或“否”", "invalid_parameter")
        if kind == "int":
            if self.optional and raw in ("", None):
                return ""
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise DomainError(f"{self.label}应为整数", "invalid_parameter") from None
            if value < 0:
                raise DomainError(f"{self.label}不能为负数", "invalid_parameter")
            return value
        if kind == "decimal":
            if raw in ("", None):
                return ""
            try:
                value = as_fraction(raw) if self.unit == "比例" else Decimal(str(raw).strip())
            except (InvalidOperation, ValueError, ZeroDivisionError):
                raise DomainError(f"{self.label}应为数字", "invalid_parameter") from None
            if self.unit == "比例" and "/" in str(raw):
                if value < 0 or value > 1:
                    raise DomainError(f"{self.label}应在0到1之间", "invalid_parameter")
                return str(raw).strip()
            if value < 0 or not value.is_finite():
                raise DomainError(f"{self.label}不能为负数", "invalid_parameter")
            if self.unit == "比例" and value > 1:
                raise DomainError(f"{self.label}应在0到1之间", "invalid_parameter")
            return str(value)
        return str(raw)


def as_fraction(raw: object) -> Fraction | Decimal:
    """A share written as a decimal ("0.1") or, where a decimal would not be exact, a fraction ("1/3")."""
    text = str(raw).strip()
    if "/" in text:
        num, den = text.split("/", 1)
        return Fraction(int(num), int(den))
    return Decimal(text)


@cache
def specs() -> dict[str, ParamSpec]:
    data = tomllib.loads(resources.files("minzheng.policy").joinpath("national_defaults.toml").read_text("utf-8"))
    result: dict[str, ParamSpec] = {}
    for group, body in data.items():
        for name, entry in body["params"].items():
            key = f"{group}.{name}"
            result[key] = ParamSpec(
                key=key,
                label=entry["label"],
                default=entry["value"],
                effective_from=body["effective_from"],
                unit=entry.get("unit", ""),
                marker=entry.get("marker", ""),
                source=f"{entry.get('source', '')}；{body['basis']}",
                choices=tuple(entry.get("choices", ())),
                declared_kind=entry.get("kind", ""),
                optional=entry.get("optional", False),
            )
    return result


def spec(key: str) -> ParamSpec:
    try:
        return specs()[key]
    except KeyError:
        raise DomainError(f"未知的政策参数：{key}", "unknown_parameter") from None

"""A scenario's parameter changes, written the way a planner thinks, parsed and validated against the parameter
catalogue (`minzheng.policy.catalogue`).

Syntax, one change per line (or per `--set`):

    KEY=+8%                  relative: the value in force, raised (or with -5%, lowered) by a percentage
    KEY=950                  absolute: the new value (for choices, the option code, e.g. min_wage)
    KEY@130722=+10%          for one county only (6-digit county code); overrides a change of the whole region

e.g. `dibao.standard_urban=+8%`, `dibao.standard_rural@130722=1000`, `dibao.edge_multiplier=2`.
Only the parameters that the checking rules read from the parameter table and that a planner varies may be changed
(`KEYS`). A change is applied to each county's value in force on the scenario's date; the result is validated by the
catalogue like a parameter typed by an administrator (units, non-negative, shares between 0 and 1).
"""

import re
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from minzheng.core.errors import DomainError
from minzheng.policy.catalogue import ParamSpec, spec

# The levers of a scenario (issue 19): standards, 边缘 multiplier, 分类施保 uplifts, employment-cost deduction, asset
# limits, 特困 multiplier. Every one is a column of the checks' parameter table, nothing else.
KEYS = (
    "dibao.standard_urban",
    "dibao.standard_rural",
    "dibao.edge_multiplier",
    "dibao.uplift_elderly",
    "dibao.uplift_minor",
    "dibao.uplift_severe_disability",
    "dibao.uplift_serious_illness",
    "dibao.employment_cost_base",
    "dibao.employment_cost_rate",
    "dibao.financial_assets_months",
    "dibao.vehicle_value_cap",
    "dibao.max_residential_properties",
    "tekun.basic_multiplier_of_dibao",
)
# A relative change outside these bounds is a typing error far more often than a policy (−60 % of a standard).
RELATIVE_MIN, RELATIVE_MAX = Decimal("-50"), Decimal("200")
SYNTAX_HELP = "写法：参数=+8%（按比例）、参数=950（新值）或 参数@130722=+10%（仅该县）"

_LINE = re.compile(r"^(?P<key>[a-z_]+\.[a-z_]+)(?:@(?P<county>\d+))?\s*=\s*(?P<value>\S+)$")
_RELATIVE = re.compile(r"^(?P<sign>[+-])(?P<number>\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class Change:
    key: str
    mode: str  # "relative" | "absolute"
    amount: str  # percent for relative ("8"), the new value for absolute ("950")
    county: int | None = None  # None: the whole region

    @property
    def label(self) -> str:
        return spec(self.key).label

    def describe(self) -> str:
        where = f"（仅 {self.county:06d}）" if self.county else ""
        if self.mode == "relative":
            sign = "" if self.amount.startswith("-") else "+"
            return f"{self.label}{where}：{sign}{self.amount}%"
        unit = spec(self.key).unit
        return f"{self.label}{where}：调整为 {self.amount}{'' if unit in ('比例', '') else ' ' + unit}"

    def as_text(self) -> str:
        county = f"@{self.county:06d}" if self.county else ""
        value = (
            (("" if self.amount.startswith("-") else "+") + self.amount + "%")
            if self.mode == "relative"
            else self.amount
        )
        return f"{self.key}{county}={value}"

    def as_dict(self) -> dict:
        return asdict(self)


def parse_one(text: str) -> Change:
    raw = str(text).strip().replace("＝", "=").replace("％", "%").replace("＋", "+")
    match = _LINE.match(raw)
    if not match:
        raise DomainError(f"调整“{text}”格式错误。{SYNTAX_HELP}", "invalid_change")
    key, county, value = match["key"], match["county"], match["value"]
    if key not in KEYS:
        try:
            label = spec(key).label
        except DomainError:
            raise DomainError(f"未知的政策参数：{key}。可调整的参数：{'、'.join(KEYS)}", "unknown_parameter") from None
        raise DomainError(f"政策模拟不能调整“{label}”（{key}）。可调整的参数：{'、'.join(KEYS)}", "invalid_change")
    if county is not None and len(county) != 6:
        raise DomainError(f"调整“{text}”中的县级区划代码应为6位，例如 130722", "invalid_change")
    s = spec(key)
    relative = _RELATIVE.match(value)
    if relative:
        if s.kind not in ("decimal", "int"):
            raise DomainError(f"“{s.label}”是选项，不能按比例调整，请写新值：{'、'.join(s.choices)}", "invalid_change")
        percent = Decimal(relative["number"]) * (-1 if relative["sign"] == "-" else 1)
        if not RELATIVE_MIN <= percent <= RELATIVE_MAX:
            raise DomainError(
                f"“{s.label}”的调整幅度 {percent}% 超出范围（{RELATIVE_MIN}% 至 +{RELATIVE_MAX}%），请核对",
                "invalid_change",
            )
        return Change(key, "relative", _plain(percent), int(county) if county else None)
    if value[0] in "+-":
        raise DomainError(
            f"调整“{text}”：带正负号的数值有歧义，请写百分比（如 +8%）或调整后的新值（如 950）", "invalid_change"
        )
    if value.endswith("%"):
        raise DomainError(f"调整“{text}”的比例应写成 +8% 或 -5%。{SYNTAX_HELP}", "invalid_change")
    parsed = s.parse(value)  # the catalogue's own validation, with its Chinese message
    if parsed in ("", None):
        raise DomainError(f"“{s.label}”的新值不能为空", "invalid_change")
    return Change(key, "absolute", str(parsed), int(county) if county else None)


def parse(lines) -> list[Change]:
    """Every change of a scenario, or the first error. Lines may be a list or text with one change per line."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    result = [parse_one(line) for line in lines if str(line).strip()]
    if not result:
        raise DomainError(f"请至少填写一项参数调整。{SYNTAX_HELP}", "invalid_change")
    seen = set()
    for change in result:
        if (change.key, change.county) in seen:
            where = f"（{change.county:06d}）" if change.county else ""
            raise DomainError(f"“{change.label}”{where}调整了两次，请只保留一项", "invalid_change")
        seen.add((change.key, change.county))
    return result


def from_dicts(rows: list[dict]) -> list[Change]:
    return [Change(**row) for row in rows]


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _quantise(s: ParamSpec, value: Decimal) -> object:
    if s.kind == "int":
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))
    if s.unit == "元":
        return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize().quantize(Decimal("0.01")))
    return format(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize(), "f")


def apply(changes: list[Change], county: int, in_force: dict[str, object], county_name: str = "") -> dict[str, object]:
    """The new values of one county: its own change of a key wins over the region's. `in_force` holds the values in
    force (from the run's parameter record). Raises a Chinese error for a value the catalogue refuses."""
    chosen: dict[str, Change] = {}
    for change in changes:
        if change.county in (None, county) and (change.key not in chosen or change.county == county):
            chosen[change.key] = change
    values = {}
    for key, change in chosen.items():
        s = spec(key)
        if change.mode == "absolute":
            values[key] = s.parse(change.amount)
            continue
        current = in_force.get(key)
        if current in ("", None):
            where = county_name or f"{county:06d}"
            raise DomainError(
                f"{where}尚未配置“{s.label}”，不能按比例调整，请直接写新值（{key}=新值）", "invalid_change"
            )
        try:
            base = Decimal(str(current))
        except InvalidOperation:
            raise DomainError(f"“{s.label}”的现行值“{current}”不是数字，不能按比例调整", "invalid_change") from None
        new = base * (Decimal(100) + Decimal(change.amount)) / Decimal(100)
        values[key] = s.parse(_quantise(s, new))
    return values

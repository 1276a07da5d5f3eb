"""Administrative division codes (区划代码, DOMAIN.md §9).

12 digits: 2 province + 2 prefecture + 2 county + 3 township + 3 village. Shorter official codes (2/4/6/9 digits)
are right-padded with zeros. A region's subtree is every code sharing its significant prefix, so
"everything under X" is a single range scan on the primary key: `code BETWEEN prefix+'000…' AND prefix+'999…'`.
"""

import re

from minzheng.core.errors import DomainError

COUNTRY, PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = range(6)
LEVEL_NAMES = {
    COUNTRY: "国家",
    PROVINCE: "省级",
    CITY: "地级",
    COUNTY: "县级",
    TOWNSHIP: "乡级",
    VILLAGE: "村级",
}
PREFIX_LENGTH = {COUNTRY: 0, PROVINCE: 2, CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LENGTH_LEVEL = {v: k for k, v in PREFIX_LENGTH.items()}
ROOT_CODE = "000000000000"
ROOT_NAME = "中华人民共和国"

URBAN, RURAL, UNDETERMINED = "urban", "rural", ""

_DIGITS = re.compile(r"^[0-9]+$")  # ASCII only: \d also matches full-width and other Unicode digits


def canonical(code: str) -> str:
    """'1307' -> '130700000000'. Accepts 2, 4, 6, 9 or 12 digits."""
    code = (code or "").strip()
    if not _DIGITS.match(code) or len(code) not in LENGTH_LEVEL or len(code) == 0:
        raise DomainError(f"区划代码“{code}”格式错误：应为2、4、6、9或12位数字", "invalid_region_code")
    return code.ljust(12, "0")


def level_of(code: str) -> int:
    """Level of a canonical 12-digit code, read from which digit groups are non-zero."""
    if code == ROOT_CODE:
        return COUNTRY
    if code[9:] != "000":
        return VILLAGE
    if code[6:9] != "000":
        return TOWNSHIP
    if code[4:6] != "00":
        return COUNTY
    if code[2:4] != "00":
        return CITY
    return PROVINCE


def significant_prefix(code: str, level: int | None = None) -> str:
    level = level_of(code) if level is None else level
    return code[: PREFIX_LENGTH[level]]


def subtree_range(code: str, level: int | None = None) -> tuple[str, str]:
    """Inclusive (low, high) bounds of every code in the subtree rooted at `code`."""
    prefix = significant_prefix(code, level)
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


def parent_code(code: str, level: int | None = None) -> str:
    level = level_of(code) if level is None else level
    if level == COUNTRY:
        raise ValueError("the root has no parent")
    if level == PROVINCE:
        return ROOT_CODE
    return code[: PREFIX_LENGTH[level - 1]].ljust(12, "0")


def lineage(code: str, *, root: bool = True) -> list[str]:
    """The region and every region above it, nearest first: the regions whose data or parameters can cover it.
    The national root comes last unless `root` is False."""
    chain, level = [code], level_of(code)
    while level > COUNTRY:
        code = parent_code(code, level)
        level -= 1
        chain.append(code)
    return chain if root else [c for c in chain if c != ROOT_CODE]


def urban_rural(code: str) -> str:
    """Village digits 001–199 are residents' committees (urban), 200–399 villagers' committees (rural).

    NBS also uses 400–599 for special settlements (生活区, 治理委员会); DOMAIN.md does not classify them, so they stay
    undetermined and a household registered there must state its type explicitly.
    """
    if level_of(code) != VILLAGE:
        return UNDETERMINED
    digits = int(code[9:])
    if 1 <= digits <= 199:
        return URBAN
    if 200 <= digits <= 399:
        return RURAL
    return UNDETERMINED


def township_kind(code: str) -> str:
    """Township digits 001–099 街道, 100–199 镇, 200–399 乡; NBS uses 400+ for development zones, farms and the like."""
    digits = int(code[6:9])
    if 1 <= digits <= 99:
        return "街道"
    if 100 <= digits <= 199:
        return "镇"
    if 200 <= digits <= 399:
        return "乡"
    return "其他"

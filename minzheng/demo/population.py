"""A seeded, deterministic demo population on the real divisions under a prefix (households, persons, memberships).

The same prefix, household count, seed and `as_of` date give the same people on an empty database, on SQLite and
PostgreSQL alike. Rows are built in Python in fixed-size chunks and written set-based (COPY on PostgreSQL,
executemany on SQLite) inside one transaction: a failure leaves nothing behind. Primary keys are allocated here
from the tables' current maxima, so persons, their household (whose head is one of them) and the memberships can
be written in one pass without reading generated keys back.

Demographic shape (north China, 7th census and the 2nd national disability sample survey, rounded): household
size 1–6 with mean ≈ 2.6, many single and couple-only elderly households in rural villages, about 6.3 % of people
disabled, rising steeply with age.
"""

import datetime
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from minzheng.core.errors import DomainError
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region
from minzheng.registry.codes import AreaType, DisabilityCategory, Relationship, SelfCare, Sex
from minzheng.registry.identifiers import parse_identity_number
from minzheng.registry.models import Household, Membership, Person

CHUNK_HOUSEHOLDS = 50_000  # fixed: the random stream is drawn chunk by chunk, so changing it changes the people
MAX_AGE = 100

Progress = Callable[[int, int], None]


@dataclass
class GenerationResult:
    prefix: str
    households: int
    persons: int
    disabled: int
    urban_households: int
    rural_households: int
    seconds: float
    # County code (6 digits) -> identity-number area code used instead, for NBS statistical-only counties.
    area_substitutes: dict[str, str] = field(default_factory=dict)


# --- 公民身份号码 (GB 11643-1999) -------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (Σ aᵢ·Wᵢ) mod 11


def _weighted_sum(digits: str, offset: int) -> int:
    return sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS[offset:], strict=False))


def identity_number(body17: str) -> str:
    """The 18-digit number for 17 leading digits (area + birth date + sequence)."""
    return body17 + _CHECK_CHARS[_weighted_sum(body17, 0) % 11]


def area_code_accepted(area: str) -> bool:
    """Whether `parse_identity_number` accepts `area` as the address code (it rejects codes that GB/T 2260 never
    had as a county, such as NBS statistical-only development zones)."""
    try:
        parse_identity_number(identity_number(area + "19800101001"))
    except DomainError:
        return False
    return True


def id_area_codes(county_codes: Iterable[str]) -> dict[str, str]:
    """County (6 digits) -> area code for its residents' identity numbers.

    A county that is not a GB/T 2260 county (经开区, 察北管理区, …) gets the first accepted real county of the same
    city in code order: its residents were registered there before the zone was carved out.
    """
    counties = sorted({c[:6] for c in county_codes})
    result = {c: c for c in counties if area_code_accepted(c)}
    for county in counties:
        if county in result:
            continue
        city = county[:4]
        imported = Region.objects.filter(
            level=region_codes.COUNTY, code__gte=city + "00000000", code__lte=city + "99999999"
        ).values_list("code", flat=True)
        candidates = [c[:6] for c in imported if c[:6] != county]
        # "01" is 市辖区, a grouping rather than a place; scan the rest when nothing imported is accepted.
        candidates += [f"{city}{n:02d}" for n in range(2, 100)]
        substitute = next((c for c in candidates if c in result or area_code_accepted(c)), None)
        if substitute is None:
            raise DomainError(f"区划“{county}”所在地级区划没有可用作身份证地址码的县级代码", "no_area_code")
        result[county] = substitute
    return result


# --- Names, phones, banks -------------------------------------------------------------------------------------

# Common surnames weighted for Hebei (7th census and the 2020 public-security name report, rounded, per mille).
_SURNAMES = (
    "王90 李85 张88 刘65 赵35 杨32 陈25 郭22 高22 孙20 马18 田15 贾14 武13 吴13 周13 徐12 朱11 胡11 闫11 韩11 "
    "宋10 曹10 冯9 董9 许8 任8 史8 郝8 崔8 梁7 黄7 何7 于7 魏7 苏6 吕6 侯6 白6 薛5 姚5 牛5 康5 谢5 范5 乔5 石5 "
    "邢4 安4 杜4 常4 温4 秦4 邓4 袁4 彭4 程4 郑4 姜4 孟4 丁4 林3 罗3 唐3 蔡3 付3 沈3 贺3 尹3 段3 雷3 卢3 霍3 "
    "樊3 陶2 毛2 邵2 钱2 严2 龚2 方2 江2 庞2 申2 翟2 岳2 齐2 尚2 焦2 路2 耿2 冀2 聂2 葛2 柴2 欧阳1 司马1"
)

# Given names by birth cohort and sex: whole two-character names, first × second characters combined, and
# single-character names with the cohort's share of them.
_GIVEN = {
    ("old", True): (
        "建国 国华 国强 志强 振华 德明 德胜 福来 福生 长生 金山 玉山 宝山 文华 占山 广才 永福 永贵 有才 有福 树林 "
        "树森 殿臣 凤山 连生 满仓 来顺 春生 玉成 万福",
        "德 福 永 长 金 玉 宝 广 树 文 占 振 国 庆 富 贵 殿 连",
        "山 林 明 生 才 福 贵 华 祥 海 发 成 堂 田 义 全 仓 奎",
        "明 德 福 贵 林 山 海 忠 义 仁 富 全 成 荣 顺 旺 喜",
        0.22,
    ),
    ("old", False): (
        "秀英 桂英 秀兰 玉兰 桂兰 桂芝 淑珍 凤英 玉珍 秀珍 玉英 淑兰 桂荣 凤兰 秀荣 玉梅 桂珍 素芬 翠花 金花 兰英 "
        "淑英 秀云 凤芝 玉华 桂香 素珍 秀芝 银花 润梅",
        "秀 桂 玉 淑 凤 素 翠 金 兰 银 润 秋",
        "英 兰 珍 芝 荣 梅 芬 花 云 香 华 琴",
        "兰 英 珍 芳 秀 梅 凤 霞 娥 莲 菊 桂 琴 花 荣 香 云 玉",
        0.18,
    ),
    ("mid", True): (
        "建军 建华 建平 国庆 志刚 志勇 海涛 海军 立新 卫东 红军 晓东 文斌 俊杰 永强 建伟 春生 宏伟 振宇 少华 "
        "利民 向阳 东升 立国 小军 海波 建新 国栋 永刚 志军",
        "建 志 海 立 卫 晓 文 俊 永 宏 振 少 利 向 东 国 春 小",
        "军 华 平 刚 勇 涛 新 东 斌 杰 强 伟 生 宇 民 阳 升 波",
        "伟 勇 军 磊 涛 斌 强 鹏 杰 刚 平 辉 超 亮 峰 波 华 明 龙 飞 东 林 健 宇 鑫 新 海 洋 凯 锋",
        0.30,
    ),
    ("mid", False): (
        "丽娟 海燕 艳红 丽华 红梅 晓燕 秀梅 丽萍 春燕 玉红 雪梅 晓红 彩霞 美玲 翠萍 艳玲 淑芳 金凤 建英 冬梅 "
        "海霞 晓丽 慧敏 丽丽 小红 艳霞 春梅 秀芳 晓梅 丽霞",
        "丽 海 艳 红 晓 秀 春 玉 雪 彩 美 翠 淑 金 冬 慧 小",
        "娟 燕 红 华 梅 萍 霞 玲 芳 凤 英 丽 敏 艳 琴 娜",
        "丽 静 敏 燕 艳 娟 霞 红 芳 萍 玲 娜 梅 莉 琳 洁 慧 英 琴 云 华 颖 雪 波 宁 凤",
        0.30,
    ),
    ("new", True): (
        "浩然 子轩 宇航 一鸣 浩宇 俊熙 子豪 博文 宇轩 皓轩 梓豪 明轩 晨阳 天佑 子墨 家豪 文博 嘉乐 思源 铭泽 "
        "鹏飞 志远 俊豪 佳豪 泽宇 一帆 奕辰 宇辰 浩轩 梓睿",
        "浩 子 宇 俊 博 皓 梓 明 晨 天 家 文 嘉 思 铭 泽 奕 一",
        "然 轩 航 宇 熙 豪 文 睿 阳 佑 墨 博 乐 源 泽 辰 鸣 凡",
        "浩 宇 鑫 凯 晨 磊 帅 博 昊 阳 旭 睿",
        0.08,
    ),
    ("new", False): (
        "梓涵 欣怡 雨萱 诗涵 佳怡 子涵 可馨 雨桐 一诺 思琪 梦瑶 佳琪 紫萱 欣妍 语桐 若汐 诗琪 雅琪 晓雪 婷婷 "
        "佳慧 梦琪 心怡 雨欣 静怡 嘉怡 思雨 梓萱 欣然 雅涵",
        "梓 欣 雨 诗 佳 子 可 思 梦 紫 语 若 雅 晓 心 静 嘉 一",
        "涵 怡 萱 桐 琪 瑶 妍 汐 雪 慧 欣 馨 彤 然 诺 雯",
        "婷 悦 琪 萌 瑶 雪 欣 佳 颖 洁",
        0.08,
    ),
}
_POOL_BITS = 12
_POOL_SIZE = 1 << _POOL_BITS  # weighted tables are expanded to a fixed size: one getrandbits() and one index per draw

# Mobile number segments of the three operators (all match ^1[3-9]\d{9}$).
_PHONE_PREFIXES = [
    str(n)
    for n in (
        *range(130, 140),
        145,
        147,
        *range(150, 154),
        *range(155, 160),
        166,
        173,
        *range(175, 179),
        *range(180, 190),
        191,
        193,
        195,
        198,
        199,
    )
]

# (bank, BIN of its debit cards, weight in rural areas, weight in towns)
_BANKS = (
    ("中国农业银行", "622848", 35, 20),
    ("中国邮政储蓄银行", "621799", 30, 15),
    ("农村信用社", "622858", 25, 5),
    ("中国工商银行", "622202", 4, 22),
    ("中国建设银行", "621700", 4, 22),
    ("中国银行", "621661", 2, 16),
)
BANK_ACCOUNT_SHARE = 0.10


def _expand(weighted: Iterable[tuple[object, float]], size: int = _POOL_SIZE) -> list:
    """A list of `size` items where each item appears in proportion to its weight (largest remainders)."""
    items = list(weighted)
    total = sum(w for _, w in items)
    exact = [(w * size / total) for _, w in items]
    counts = [int(e) for e in exact]
    order = sorted(range(len(items)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    return [item for (item, _), n in zip(items, counts, strict=True) for _ in range(n)]


def _surname_pool() -> list[str]:
    return _expand((m[1], int(m[2])) for m in re.finditer(r"(\D+?)(\d+)", _SURNAMES.replace(" ", "")))


def _given_pool(whole: str, first: str, second: str, single: str, single_share: float) -> list[str]:
    pairs = [a + b for a in first.split() for b in second.split() if a != b]
    two = [(n, 3.0) for n in whole.split()] + [(n, 1.0) for n in pairs]
    two_total = sum(w for _, w in two)
    singles = single.split()
    one_weight = two_total * single_share / (1 - single_share) / len(singles)
    return _expand(two + [(n, one_weight) for n in singles])


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


# --- Household make-up --------------------------------------------------------------------------------------------

# Household size per 1,000 households (7th census, Hebei; rural villages have more one- and two-person elderly
# households and more three-generation ones, towns more three-person ones). Means ≈ 2.6.
_SIZES_RURAL = {1: 250, 2: 330, 3: 160, 4: 140, 5: 70, 6: 50}
_SIZES_URBAN = {1: 210, 2: 300, 3: 270, 4: 140, 5: 50, 6: 30}

# Disability prevalence by age, scaled so that the whole population comes out near 6.3 %.
_DISABILITY_BY_AGE = ((0, 0.0096), (15, 0.0233), (45, 0.059), (60, 0.117), (70, 0.193), (80, 0.32))
_CATEGORIES = {
    DisabilityCategory.PHYSICAL: 29,
    DisabilityCategory.HEARING: 24,
    DisabilityCategory.MULTIPLE: 16,
    DisabilityCategory.VISUAL: 15,
    DisabilityCategory.MENTAL: 7,
    DisabilityCategory.INTELLECTUAL: 7,
    DisabilityCategory.SPEECH: 2,
}
# Children's disabilities are mostly intellectual, physical or speech (congenital), seldom hearing or sight loss.
_CHILD_CATEGORIES = {
    DisabilityCategory.INTELLECTUAL: 30,
    DisabilityCategory.PHYSICAL: 25,
    DisabilityCategory.MULTIPLE: 15,
    DisabilityCategory.SPEECH: 10,
    DisabilityCategory.HEARING: 10,
    DisabilityCategory.VISUAL: 5,
    DisabilityCategory.MENTAL: 5,
}
_GRADES = {1: 15, 2: 20, 3: 30, 4: 35}  # grades 1–2 (severe) ≈ 35 %
# Self-care is assessed only where it matters (特困 and care-allowance cases): the severely disabled and the very old.
_SELF_CARE_SEVERE = {SelfCare.SELF: 35, SelfCare.PARTIAL: 40, SelfCare.FULL: 25}
_SELF_CARE_SEVERE_OLD = {SelfCare.SELF: 20, SelfCare.PARTIAL: 45, SelfCare.FULL: 35}
_SELF_CARE_OLD = {SelfCare.SELF: 68, SelfCare.PARTIAL: 22, SelfCare.FULL: 10}


def _phone_share(age: int) -> float:
    if age < 18:
        return 0.0
    if age < 60:
        return 0.75
    return 0.45 if age < 75 else 0.2


def _disability_rate(age: int) -> float:
    return next(rate for low, rate in reversed(_DISABILITY_BY_AGE) if age >= low)


# Relationship codes (GB/T 4761) by birth order among the head's sons / daughters living in the household.
_SON_ORDER = (
    Relationship.ELDEST_SON,
    Relationship.SECOND_SON,
    Relationship.THIRD_SON,
    Relationship.FOURTH_SON,
    Relationship.FIFTH_SON,
)
_DAUGHTER_ORDER = (
    Relationship.ELDEST_DAUGHTER,
    Relationship.SECOND_DAUGHTER,
    Relationship.THIRD_DAUGHTER,
    Relationship.FOURTH_DAUGHTER,
    Relationship.FIFTH_DAUGHTER,
)


# --- Places -------------------------------------------------------------------------------------------------------


def village_short_name(name: str) -> str:
    """'南壕堑村村民委员会' -> '南壕堑村', '杏叶村民委员会' -> '杏叶村', '教育街社区居民委员会' -> '教育街社区'."""
    for suffix, add in (("村民委员会", "村"), ("村委会", "村"), ("居民委员会", ""), ("居委会", "")):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            return base if not add or base.endswith(add) else base + add
    return name


@dataclass
class _Village:
    code: str
    urban: bool
    address: str  # county + township + village, without the house number
    area: str  # identity-number area code
    area_key: int  # int(area) * 10**11: the first 6 of the 17 digits as a number
    area_sum: int  # weighted sum of the area digits for the check digit


def _load_villages(prefix: str) -> tuple[list[_Village], dict[str, str]]:
    canonical = region_codes.canonical(prefix)
    low, high = region_codes.subtree_range(canonical)
    rows = list(
        Region.objects.filter(code__gte=low, code__lte=high, level=region_codes.VILLAGE)
        .order_by("code")
        .values_list("code", "name", "urban_rural")
    )
    if not rows:
        raise DomainError(
            f"区划“{prefix}”下没有村（社区）数据：请先运行 minzheng import_regions --prefix {prefix}",
            "regions_not_imported",
        )
    upper = {c[:6].ljust(12, "0") for c, _, _ in rows} | {c[:9].ljust(12, "0") for c, _, _ in rows}
    names = dict(Region.objects.filter(code__in=sorted(upper)).values_list("code", "name"))
    areas = id_area_codes(c[:6] for c, _, _ in rows)
    villages = []
    for code, name, urban_rural in rows:
        county = names.get(code[:6].ljust(12, "0"), "")
        township = names.get(code[:9].ljust(12, "0"), "")
        village_name = village_short_name(name)
        if township and village_name.startswith(township) and len(village_name) > len(township):
            village_name = village_name[len(township) :]  # '庞家堡镇' + '庞家堡镇第二社区' reads twice
        parts = [p for p in (county, township, village_name) if p and p != "市辖区"]
        area = areas[code[:6]]
        villages.append(
            _Village(
                code=code,
                # Settlements NBS leaves unclassified (生活区, 工矿区) are towns in all but name.
                urban=urban_rural != region_codes.RURAL,
                address="".join(parts),
                area=area,
                area_key=int(area) * 10**11,
                area_sum=_weighted_sum(area, 0),
            )
        )
    return villages, {c: a for c, a in areas.items() if c != a}


# --- The generator ------------------------------------------------------------------------------------------------


class _Generator:
    """Holds the precomputed tables; `chunk()` turns n households into rows for the three tables."""

    def __init__(self, villages: list[_Village], seed: int, as_of: datetime.date, used: set[int], now: object):
        self.rng = random.Random(seed)
        self.villages = villages
        self.used = used  # int(first 17 digits) of every identity number in the database or generated so far
        self.now = now
        rand = self.rng.random
        # Urban communities are several times larger than villages; each place also gets its own size factor.
        self.village_cum_weights = []
        total = 0.0
        for v in villages:
            total += (6.0 if v.urban else 1.0) * self.rng.lognormvariate(0.0, 0.5)
            self.village_cum_weights.append(total)

        # Day tables, indexed by days before `as_of` counted from the oldest possible birth date.
        first = as_of - datetime.timedelta(days=int((MAX_AGE + 1) * 365.2425))
        self.top = (as_of - first).days
        self.day_iso, self.day_ymd, self.day_key, self.day_sum, self.day_era = [], [], [], [], []
        day = first
        for _ in range(self.top + 1):
            ymd = f"{day.year:04d}{day.month:02d}{day.day:02d}"
            self.day_iso.append(day.isoformat())
            self.day_ymd.append(ymd)
            self.day_key.append(int(ymd) * 1000)
            self.day_sum.append(_weighted_sum(ymd, 6))
            self.day_era.append(0 if day.year < 1960 else 1 if day.year < 1990 else 2)
            day += datetime.timedelta(days=1)
        self.seq_str = [f"{n:03d}" for n in range(1000)]
        self.seq_sum = [_weighted_sum(s, 14) for s in self.seq_str]

        self.surnames = _surname_pool()
        pools = {key: _given_pool(*spec) for key, spec in _GIVEN.items()}
        # Index: era * 2 + male.
        self.given = [pools[(era, male)] for era in ("old", "mid", "new") for male in (False, True)]
        self.sizes = (_expand(_SIZES_RURAL.items()), _expand(_SIZES_URBAN.items()))
        self.phone_share = [_phone_share(a) for a in range(MAX_AGE + 2)]
        self.disability_rate = [_disability_rate(a) for a in range(MAX_AGE + 2)]
        self.categories = [str(c) for c in _expand(_CATEGORIES.items())]
        self.child_categories = [str(c) for c in _expand(_CHILD_CATEGORIES.items())]
        self.grades = _expand(_GRADES.items())
        self.self_care_severe = [str(c) for c in _expand(_SELF_CARE_SEVERE.items())]
        self.self_care_severe_old = [str(c) for c in _expand(_SELF_CARE_SEVERE_OLD.items())]
        self.self_care_old = [str(c) for c in _expand(_SELF_CARE_OLD.items())]
        self.banks = (
            _expand(((name, bin_), rural) for name, bin_, rural, _urban in _BANKS),
            _expand(((name, bin_), urban) for name, bin_, _rural, urban in _BANKS),
        )
        self.rand = rand
        self.bits = self.rng.getrandbits
        self.disabled = 0
        self.urban = 0

    # Member specs are (relationship, male, age in years as a float, surname); the head comes first.

    def _kid_ages(self, n: int, younger: float, older: float) -> list[float]:
        """Ages of n children of parents aged `younger`/`older`: 20–40 years younger than both, eldest first."""
        rand = self.rand
        low = max(0.0, older - 40.0)
        high = max(low, younger - 20.0)
        span = high - low
        # Mean of two uniforms: gaps cluster around 30 years rather than spreading evenly over 20–40.
        return sorted((low + span * (rand() + rand()) * 0.5 for _ in range(n)), reverse=True)

    def _children(self, n: int, younger: float, older: float, surname: str, head_age: float) -> list[tuple]:
        rand = self.rand
        ages = self._kid_ages(n, younger, older)
        sexes = [rand() < 0.52 for _ in ages]  # sex ratio at birth ≈ 108
        sons, daughters = sexes.count(True), sexes.count(False)
        out = []
        son_i = daughter_i = 0
        for age, male in zip(ages, sexes, strict=True):
            if n == 1 and head_age < 50 and rand() < 0.7:
                rel = Relationship.ONLY_SON if male else Relationship.ONLY_DAUGHTER  # one-child-policy cohorts
            elif male:
                rel = Relationship.SON if sons == 1 else _SON_ORDER[min(son_i, 4)]
                son_i += 1
            else:
                rel = Relationship.DAUGHTER if daughters == 1 else _DAUGHTER_ORDER[min(daughter_i, 4)]
                daughter_i += 1
            out.append((str(rel), male, age, surname))
        return out

    def _couple(self, head_age: float, head_male: bool | None = None) -> tuple[list[tuple], float, float, str]:
        """Head and spouse; returns their specs, the younger and older age, and the children's surname."""
        rand, bits, surnames = self.rand, self.bits, self.surnames
        if head_male is None:
            head_male = rand() < 0.82  # most heads of couples in north China are the husband
        husband_surname = surnames[bits(_POOL_BITS)]
        wife_surname = surnames[bits(_POOL_BITS)]
        gap = rand() * 7.0 - 1.5  # husbands are mostly 0–5 years older
        if head_male:
            spouse_age = max(20.0 + rand(), head_age - gap)
            head = ("02", True, head_age, husband_surname)
            spouse = ("10" if rand() < 0.25 else "12", False, spouse_age, wife_surname)
        else:
            spouse_age = min(float(MAX_AGE) - rand(), max(20.0 + rand(), head_age + gap))
            head = ("02", False, head_age, wife_surname)
            spouse = ("10" if rand() < 0.25 else "11", True, spouse_age, husband_surname)
        kid_surname = husband_surname if rand() < 0.95 else wife_surname
        return [head, spouse], min(head_age, spouse_age), max(head_age, spouse_age), kid_surname

    def _parents(self, n: int, head: tuple, spouse: tuple | None) -> list[tuple]:
        """One or two elderly parents of the head (sometimes of the spouse) living with the household."""
        rand, bits = self.rand, self.bits
        base = head[2]
        if spouse is not None and rand() < 0.15:
            base = spouse[2]
            father, mother = (
                (Relationship.FATHER_IN_LAW_W, Relationship.MOTHER_IN_LAW_W)
                if head[1]
                else (Relationship.FATHER_IN_LAW_H, Relationship.MOTHER_IN_LAW_H)
            )
            surname = spouse[3]
        else:
            father, mother = Relationship.FATHER, Relationship.MOTHER
            surname = head[3]
        mother_age = min(MAX_AGE - rand(), base + 21.0 + rand() * 15.0)
        if n == 1:
            if rand() < 0.65:  # widows outlive widowers
                return [(str(mother), False, mother_age, self.surnames[bits(_POOL_BITS)])]
            return [(str(father), True, min(MAX_AGE - rand(), mother_age + rand() * 5.0), surname)]
        return [
            (str(father), True, min(MAX_AGE - rand(), mother_age + rand() * 5.0), surname),
            (str(mother), False, mother_age, self.surnames[bits(_POOL_BITS)]),
        ]

    def _three_generations(self, grandchildren: int) -> list[tuple]:
        """An older couple as head, a married son (or daughter) with spouse, and their children."""
        rand, bits, surnames = self.rand, self.bits, self.surnames
        members, young, old, surname = self._couple(50.0 + rand() * 28.0)
        child_age = max(24.0, old - 40.0) + rand() * (young - 20.0 - max(24.0, old - 40.0))
        partner_age = max(21.0 + rand(), child_age - rand() * 6.0 + 1.0)
        if rand() < 0.88:  # the son stays with his parents and brings his wife
            members.append((str(Relationship.SON), True, child_age, surname))
            members.append((str(Relationship.DAUGHTER_IN_LAW), False, partner_age, surnames[bits(_POOL_BITS)]))
            kid_surname, codes = surname, (Relationship.GRANDSON, Relationship.GRANDDAUGHTER)
        else:  # 上门女婿: the daughter's husband joins her family
            kid_surname = surnames[bits(_POOL_BITS)]
            members.append((str(Relationship.DAUGHTER), False, partner_age, surname))
            members.append((str(Relationship.SON_IN_LAW), True, child_age, kid_surname))
            codes = (Relationship.DAUGHTERS_SON, Relationship.DAUGHTERS_DAUGHTER)
        for age in self._kid_ages(grandchildren, min(child_age, partner_age), max(child_age, partner_age)):
            male = rand() < 0.52
            members.append((str(codes[0] if male else codes[1]), male, age, kid_surname))
        return members

    def _members(self, urban: bool) -> list[tuple]:
        rand, bits, surnames = self.rand, self.bits, self.surnames
        size = self.sizes[urban][bits(_POOL_BITS)]
        r = rand()
        if size == 1:
            if rand() < (0.45 if urban else 0.62):  # 空巢: widowed elderly living alone
                return [("02", rand() < 0.42, 60.0 + 30.0 * min(rand(), rand()), surnames[bits(_POOL_BITS)])]
            return [("02", rand() < 0.65, 25.0 + 35.0 * rand(), surnames[bits(_POOL_BITS)])]
        if size == 2:
            if r < 0.78:  # a couple: elderly empty-nesters in villages, young couples in towns
                elderly = rand() < (0.5 if urban else 0.62)
                head_age = 55.0 + 33.0 * min(rand(), rand()) if elderly else 25.0 + 30.0 * rand()
                return self._couple(head_age)[0]
            if r < 0.93:  # a widowed or divorced parent with one child
                return self._single_parent(1)
            head = ("02", rand() < 0.7, 25.0 + 30.0 * rand(), surnames[bits(_POOL_BITS)])
            return [head, *self._parents(1, head, None)]
        if size == 3:
            if r < 0.75:
                return self._nuclear(1)
            if r < 0.87:
                members, *_ = self._couple(30.0 + 32.0 * rand())
                return members + self._parents(1, members[0], members[1])
            if r < 0.95:
                return self._single_parent(2)
            # 留守儿童: grandparents bring up a grandchild while the parents work elsewhere.
            members, young, old, surname = self._couple(50.0 + 25.0 * rand())
            age = max(0.0, old - 80.0) + rand() * (min(17.0, young - 40.0) - max(0.0, old - 80.0))
            male = rand() < 0.52
            members.append((str(Relationship.GRANDSON if male else Relationship.GRANDDAUGHTER), male, age, surname))
            return members
        if size == 4:
            if r < 0.55:
                return self._nuclear(2)
            if r < 0.80:
                members = self._nuclear(1, 28.0, 28.0)
                return members + self._parents(1, members[0], members[1])
            return self._three_generations(0)
        if size == 5:
            if r < 0.35:
                members = self._nuclear(2, 28.0, 28.0)
                return members + self._parents(1, members[0], members[1])
            if r < 0.55:
                members = self._nuclear(1, 28.0, 28.0)
                return members + self._parents(2, members[0], members[1])
            if r < 0.85:
                return self._three_generations(1)
            return self._nuclear(3)
        if r < 0.40:
            members = self._nuclear(2, 28.0, 28.0)
            return members + self._parents(2, members[0], members[1])
        if r < 0.85:
            return self._three_generations(2)
        members = self._nuclear(3, 28.0, 28.0)
        return members + self._parents(1, members[0], members[1])

    def _nuclear(self, kids: int, low: float = 25.0, span: float = 35.0) -> list[tuple]:
        members, young, old, surname = self._couple(low + span * self.rand())
        return members + self._children(kids, young, old, surname, members[0][2])

    def _single_parent(self, kids: int) -> list[tuple]:
        rand, bits, surnames = self.rand, self.bits, self.surnames
        male = rand() < 0.35
        age = 30.0 + 50.0 * rand()
        surname = surnames[bits(_POOL_BITS)]
        kid_surname = surname if male or rand() < 0.3 else surnames[bits(_POOL_BITS)]
        return [("02", male, age, surname), *self._children(kids, age, age, kid_surname, age)]

    def _bank(self, urban: bool) -> tuple[str, str]:
        rand, bits = self.rand, self.bits
        name, bin_ = self.banks[urban][bits(_POOL_BITS)]
        if rand() < 0.8:  # a debit card: 19 digits with a Luhn check digit
            body = bin_ + "".join(str(int(rand() * 10)) for _ in range(12))
            return name, body + _luhn(body)
        length = 16 + int(rand() * 3)  # a passbook account
        return name, str(1 + int(rand() * 9)) + "".join(str(int(rand() * 10)) for _ in range(length - 1))

    def _new_sequence(self, village: _Village, day: int, seq: int) -> tuple[int, int]:
        """The next free sequence number of the same parity (then the day before) when `seq` is taken."""
        used = self.used
        for _ in range(400):
            for _ in range(500):
                seq += 2
                if seq > 999:
                    seq -= 1000 if seq % 2 else 998  # back to 001 (men) or 002 (women)
                if village.area_key + self.day_key[day] + seq not in used:
                    return day, seq
            day = day - 1 if day > 0 else day + 1
        raise DomainError("身份证号码已用尽", "id_exhausted")  # 200,000 people born in one county in 400 days

    def chunk(self, n: int, ids: list[int]) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Rows for n households. `ids` holds the next person, household and membership ids and is advanced."""
        rng, rand, bits = self.rng, self.rand, self.bits
        villages = rng.choices(self.villages, cum_weights=self.village_cum_weights, k=n)
        person_id, household_id, membership_id = ids
        persons: list[tuple] = []
        households: list[tuple] = []
        memberships: list[tuple] = []
        now, top, used = self.now, self.top, self.used
        day_iso, day_ymd, day_key, day_sum, day_era = (
            self.day_iso,
            self.day_ymd,
            self.day_key,
            self.day_sum,
            self.day_era,
        )
        seq_str, seq_sum, given = self.seq_str, self.seq_sum, self.given
        phone_share, phones, n_phones = self.phone_share, _PHONE_PREFIXES, len(_PHONE_PREFIXES)
        disability_rate, categories, child_categories, grades = (
            self.disability_rate,
            self.categories,
            self.child_categories,
            self.grades,
        )
        care_severe, care_severe_old, care_old = self.self_care_severe, self.self_care_severe_old, self.self_care_old
        check_chars = _CHECK_CHARS
        male_code, female_code = str(Sex.MALE), str(Sex.FEMALE)
        urban_code, rural_code = str(AreaType.URBAN), str(AreaType.RURAL)
        disabled = urban_households = 0
        for village in villages:
            urban = village.urban
            members = self._members(urban)
            household_id += 1
            head_id = person_id + 1
            code, area, area_key, area_sum = village.code, village.area, village.area_key, village.area_sum
            # Registered at this address some time in the last 30 years, but not before the head turned 18.
            head_birth = top - int(members[0][2] * 365.2425)
            registered = max(top - int(rand() * 30 * 365.2425), min(top - 30, head_birth + 6575))
            for rel, male, age, surname in members:
                person_id += 1
                membership_id += 1
                day = top - int(age * 365.2425)
                if day < 0:
                    day = 0
                years = int(age)
                # Odd sequence numbers for men, even for women; 000 is never issued.
                seq = int(rand() * 500) * 2 + 1 if male else int(rand() * 499) * 2 + 2
                key = area_key + day_key[day] + seq
                if key in used:
                    day, seq = self._new_sequence(village, day, seq)
                    key = area_key + day_key[day] + seq
                used.add(key)
                id_number = (
                    f"{area}{day_ymd[day]}{seq_str[seq]}{check_chars[(area_sum + day_sum[day] + seq_sum[seq]) % 11]}"
                )
                name = surname + given[day_era[day] * 2 + male][bits(_POOL_BITS)]
                phone = (
                    f"{phones[int(rand() * n_phones)]}{int(rand() * 100_000_000):08d}"
                    if rand() < phone_share[years]
                    else ""
                )
                category, grade, care = "", None, ""
                if rand() < disability_rate[years]:
                    disabled += 1
                    category = (child_categories if years < 18 else categories)[bits(_POOL_BITS)]
                    grade = grades[bits(_POOL_BITS)]
                    if grade <= 2:
                        care = (care_severe_old if years >= 80 else care_severe)[bits(_POOL_BITS)]
                if years >= 80 and not care:
                    care = care_old[bits(_POOL_BITS)]
                persons.append(
                    (
                        person_id,
                        name,
                        id_number,
                        male_code if male else female_code,
                        day_iso[day],
                        phone,
                        code,
                        category,
                        grade,
                        care,
                        now,
                        now,
                        1,
                    )
                )
                memberships.append(
                    (membership_id, household_id, person_id, rel, day_iso[registered if registered > day else day], "")
                )
            head_name = persons[head_id - ids[0] - 1][1]
            if urban:
                urban_households += 1
                address = (
                    f"{village.address}{1 + int(rand() * 30)}号楼{1 + int(rand() * 6)}单元"
                    f"{1 + int(rand() * 18)}{1 + int(rand() * 4):02d}室"
                )
            else:
                address = f"{village.address}{1 + int(rand() * 400)}号"
            bank_name = bank_account = holder = ""
            if rand() < BANK_ACCOUNT_SHARE:
                bank_name, bank_account = self._bank(urban)
                holder = head_name
            households.append(
                (
                    household_id,
                    code,
                    address,
                    urban_code if urban else rural_code,
                    head_id,
                    bank_name,
                    bank_account,
                    holder,
                    now,
                    now,
                    1,
                )
            )
        ids[:] = [person_id, household_id, membership_id]
        self.disabled += disabled
        self.urban += urban_households
        return persons, households, memberships


# --- Writing ------------------------------------------------------------------------------------------------------

_PERSON_FIELDS = (
    "id",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "region",
    "disability_category",
    "disability_grade",
    "self_care",
    "created_at",
    "updated_at",
    "version",
)
_HOUSEHOLD_FIELDS = (
    "id",
    "region",
    "address",
    "area_type",
    "head",
    "bank_name",
    "bank_account",
    "account_holder",
    "created_at",
    "updated_at",
    "version",
)
_MEMBERSHIP_FIELDS = ("id", "household", "person", "relationship", "joined_on", "leave_reason")
_TABLES = ((Person, _PERSON_FIELDS), (Household, _HOUSEHOLD_FIELDS), (Membership, _MEMBERSHIP_FIELDS))


def _columns(model, fields: tuple[str, ...]) -> str:
    return ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)


def _max_id(cursor, model) -> int:
    cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
    return cursor.fetchone()[0] or 0


def _write(cursor, rows_by_table: tuple[list[tuple], ...]) -> None:
    postgres = connection.vendor == "postgresql"
    for (model, fields), rows in zip(_TABLES, rows_by_table, strict=True):
        table = connection.ops.quote_name(model._meta.db_table)
        columns = _columns(model, fields)
        if postgres:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


@dataclass
class _Dropped:
    """Secondary indexes (and on PostgreSQL foreign keys) set aside for a bulk load, with the SQL to restore them."""

    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX …)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, definition)


def _drop_for_bulk_load(cursor) -> _Dropped:
    """Set aside what makes row-by-row loading slow, the way the PostgreSQL manual advises for bulk loads: building an
    index from sorted data beats millions of random inserts, and re-adding a foreign key validates it with one join
    instead of a trigger per row. Unique indexes stay, and all of it happens inside the caller's transaction, so the
    schema is back (and every row checked) before anything commits."""
    quote = connection.ops.quote_name
    tables = [m._meta.db_table for m, _ in _TABLES]
    dropped = _Dropped()
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisunique"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
            [tables],
        )
        dropped.indexes = cursor.fetchall()
        # Keys to regions and among the three tables only: a NULL recorded_by costs nothing to check, and leaving it
        # alone keeps the users table free of our lock.
        referenced = [*tables, Region._meta.db_table]
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) AND confrelid = ANY(%s::regclass[])"
            " ORDER BY conname",
            [tables, referenced],
        )
        dropped.foreign_keys = cursor.fetchall()
        # ALTER TABLE refuses tables with deferred checks still queued from earlier in the transaction: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in dropped.foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    else:
        for table in tables:
            cursor.execute(f"PRAGMA index_list({quote(table)})")  # seq, name, unique, origin, partial
            names = [row[1] for row in cursor.fetchall() if row[3] == "c" and not row[2]]
            for name in sorted(names):
                cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
                dropped.indexes.append((name, cursor.fetchone()[0]))
    for name, _sql in dropped.indexes:
        cursor.execute(f"DROP INDEX {quote(name)}")
    return dropped


def _restore_after_bulk_load(cursor, dropped: _Dropped) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, sql in dropped.indexes:
        cursor.execute(sql)
    for table, name, definition in dropped.foreign_keys:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
    if connection.vendor == "postgresql":
        # Back to normal after _drop_for_bulk_load's IMMEDIATE: Django declares foreign keys INITIALLY DEFERRED.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _load_used_numbers(cursor, areas: Iterable[str]) -> set[int]:
    """int(first 17 digits) of every identity number already stored under the area codes we will use."""
    used: set[int] = set()
    column = connection.ops.quote_name(Person._meta.get_field("id_number").column)
    table = connection.ops.quote_name(Person._meta.db_table)
    for area in sorted(set(areas)):
        # A range on the unique index rather than LIKE, which SQLite cannot serve from it.
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} >= %s AND {column} < %s", [area, area + ":"])
        for (number,) in cursor.fetchall():
            if number[:17].isdigit():
                used.add(int(number[:17]))
    return used


def _check_arguments(prefix: str, households: int) -> str:
    prefix = (prefix or "").strip()
    if not prefix.isdigit() or len(prefix) not in (2, 4, 6, 9, 12):
        raise DomainError(f"区划前缀“{prefix}”格式错误：应为2、4、6、9或12位数字", "invalid_region_code")
    if households < 1:
        raise DomainError("户数应为正整数", "invalid_household_count")
    return prefix


def households_exist(prefix: str) -> bool:
    low, high = region_codes.subtree_range(region_codes.canonical(prefix))
    return Household.objects.filter(region__gte=low, region__lte=high).exists()


# Below this many households, or when the tables already hold several times as many, inserting into the live indexes
# is cheaper than rebuilding them.
BULK_MIN_HOUSEHOLDS = 20_000


def generate_population(
    prefix: str,
    households: int,
    seed: int,
    *,
    as_of: datetime.date | None = None,
    progress: Progress | None = None,
    rebuild_indexes: bool | None = None,
) -> GenerationResult:
    """Add `households` demo households with their members under the divisions of `prefix`. All-or-nothing.

    Ages are counted from `as_of` (default: 1 January of the current year, so the same seed gives the same people
    all year; birth and joining dates are never in the future). `rebuild_indexes` chooses the bulk-load strategy
    (secondary indexes and foreign keys set aside and rebuilt, see `_drop_for_bulk_load`); by default it is used for
    large batches when not nested in a caller's transaction, whose other work it would lock out for longer.
    """
    started = time.perf_counter()
    prefix = _check_arguments(prefix, households)
    as_of = as_of or datetime.date(timezone.localdate().year, 1, 1)
    villages, substitutes = _load_villages(prefix)
    postgres = connection.vendor == "postgresql"
    if rebuild_indexes is None:
        existing = Household.objects.order_by("-id").values_list("id", flat=True).first() or 0
        rebuild_indexes = (
            households >= BULK_MIN_HOUSEHOLDS and households * 3 >= existing and not connection.in_atomic_block
        )
    now = timezone.now()
    now_value = now.isoformat() if postgres else connection.ops.adapt_datetimefield_value(now)
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Our own key allocation is only safe if nobody else inserts meanwhile; dropping indexes needs the
            # exclusive lock anyway, so take it first rather than upgrade. (SQLite's IMMEDIATE transaction already
            # holds the database's write lock.)
            mode = "ACCESS EXCLUSIVE" if rebuild_indexes else "SHARE ROW EXCLUSIVE"
            cursor.execute(f"LOCK TABLE {', '.join(quote(m._meta.db_table) for m, _ in _TABLES)} IN {mode} MODE")
        else:
            # The unique index on id_number is written in random order: a 256 MB page cache (the default is 2 MB)
            # keeps it in memory instead of spilling half-written pages to the WAL over and over.
            cursor.execute("PRAGMA cache_size")
            cache_size = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA cache_size = -262144")
        try:
            ids = [_max_id(cursor, Person), _max_id(cursor, Household), _max_id(cursor, Membership)]
            start_ids = list(ids)
            used = _load_used_numbers(cursor, {v.area for v in villages})
            generator = _Generator(villages, seed, as_of, used, now_value)
            dropped = _drop_for_bulk_load(cursor) if rebuild_indexes else None
            done = 0
            while done < households:
                n = min(CHUNK_HOUSEHOLDS, households - done)
                _write(cursor, generator.chunk(n, ids))
                done += n
                if progress:
                    progress(done, households)
            if dropped:
                _restore_after_bulk_load(cursor, dropped)
            if postgres:
                # Keys were allocated here: move the identity sequences past them for later ORM inserts.
                for model, _ in _TABLES:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                        [quote(model._meta.db_table), _max_id(cursor, model)],
                    )
        finally:
            if not postgres:
                cursor.execute(f"PRAGMA cache_size = {cache_size}")
    return GenerationResult(
        prefix=prefix,
        households=households,
        persons=ids[0] - start_ids[0],
        disabled=generator.disabled,
        urban_households=generator.urban,
        rural_households=households - generator.urban,
        seconds=time.perf_counter() - started,
        area_substitutes=substitutes,
    )

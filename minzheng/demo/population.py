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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from stdnum import luhn

from minzheng.core.errors import DomainError
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region
from minzheng.registry.codes import AreaType, DisabilityCategory, Relationship, SelfCare, Sex
from minzheng.registry.identifiers import ID_CHECK_CHARS, ID_WEIGHTS, id_check_char, parse_identity_number
from minzheng.registry.models import Household, Membership, Person

from . import bulkload, names

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


def _weighted_sum(digits: str, offset: int) -> int:
    return sum(int(d) * w for d, w in zip(digits, ID_WEIGHTS[offset:], strict=False))


def identity_number(body17: str) -> str:
    """The 18-digit number for 17 leading digits (area + birth date + sequence)."""
    return body17 + id_check_char(body17)


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

        self.surnames = names.surname_pool()
        pools = {key: names.given_pool(*spec) for key, spec in names.GIVEN.items()}
        # Index: era * 2 + male.
        self.given = [pools[(era, male)] for era in ("old", "mid", "new") for male in (False, True)]
        self.sizes = (names.expand(_SIZES_RURAL.items()), names.expand(_SIZES_URBAN.items()))
        self.phone_share = [_phone_share(a) for a in range(MAX_AGE + 2)]
        self.disability_rate = [_disability_rate(a) for a in range(MAX_AGE + 2)]
        self.categories = [str(c) for c in names.expand(_CATEGORIES.items())]
        self.child_categories = [str(c) for c in names.expand(_CHILD_CATEGORIES.items())]
        self.grades = names.expand(_GRADES.items())
        self.self_care_severe = [str(c) for c in names.expand(_SELF_CARE_SEVERE.items())]
        self.self_care_severe_old = [str(c) for c in names.expand(_SELF_CARE_SEVERE_OLD.items())]
        self.self_care_old = [str(c) for c in names.expand(_SELF_CARE_OLD.items())]
        self.banks = (
            names.expand(((name, bin_), rural) for name, bin_, rural, _urban in names.BANKS),
            names.expand(((name, bin_), urban) for name, bin_, _rural, urban in names.BANKS),
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
        husband_surname = surnames[bits(names.POOL_BITS)]
        wife_surname = surnames[bits(names.POOL_BITS)]
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
                return [(str(mother), False, mother_age, self.surnames[bits(names.POOL_BITS)])]
            return [(str(father), True, min(MAX_AGE - rand(), mother_age + rand() * 5.0), surname)]
        return [
            (str(father), True, min(MAX_AGE - rand(), mother_age + rand() * 5.0), surname),
            (str(mother), False, mother_age, self.surnames[bits(names.POOL_BITS)]),
        ]

    def _three_generations(self, grandchildren: int) -> list[tuple]:
        """An older couple as head, a married son (or daughter) with spouse, and their children."""
        rand, bits, surnames = self.rand, self.bits, self.surnames
        members, young, old, surname = self._couple(50.0 + rand() * 28.0)
        child_age = max(24.0, old - 40.0) + rand() * (young - 20.0 - max(24.0, old - 40.0))
        partner_age = max(21.0 + rand(), child_age - rand() * 6.0 + 1.0)
        if rand() < 0.88:  # the son stays with his parents and brings his wife
            members.append((str(Relationship.SON), True, child_age, surname))
            members.append((str(Relationship.DAUGHTER_IN_LAW), False, partner_age, surnames[bits(names.POOL_BITS)]))
            kid_surname, codes = surname, (Relationship.GRANDSON, Relationship.GRANDDAUGHTER)
        else:  # 上门女婿: the daughter's husband joins her family
            kid_surname = surnames[bits(names.POOL_BITS)]
            members.append((str(Relationship.DAUGHTER), False, partner_age, surname))
            members.append((str(Relationship.SON_IN_LAW), True, child_age, kid_surname))
            codes = (Relationship.DAUGHTERS_SON, Relationship.DAUGHTERS_DAUGHTER)
        for age in self._kid_ages(grandchildren, min(child_age, partner_age), max(child_age, partner_age)):
            male = rand() < 0.52
            members.append((str(codes[0] if male else codes[1]), male, age, kid_surname))
        return members

    def _members(self, urban: bool) -> list[tuple]:
        rand, bits, surnames = self.rand, self.bits, self.surnames
        size = self.sizes[urban][bits(names.POOL_BITS)]
        r = rand()
        if size == 1:
            if rand() < (0.45 if urban else 0.62):  # 空巢: widowed elderly living alone
                return [("02", rand() < 0.42, 60.0 + 30.0 * min(rand(), rand()), surnames[bits(names.POOL_BITS)])]
            return [("02", rand() < 0.65, 25.0 + 35.0 * rand(), surnames[bits(names.POOL_BITS)])]
        if size == 2:
            if r < 0.78:  # a couple: elderly empty-nesters in villages, young couples in towns
                elderly = rand() < (0.5 if urban else 0.62)
                head_age = 55.0 + 33.0 * min(rand(), rand()) if elderly else 25.0 + 30.0 * rand()
                return self._couple(head_age)[0]
            if r < 0.93:  # a widowed or divorced parent with one child
                return self._single_parent(1)
            head = ("02", rand() < 0.7, 25.0 + 30.0 * rand(), surnames[bits(names.POOL_BITS)])
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
        surname = surnames[bits(names.POOL_BITS)]
        kid_surname = surname if male or rand() < 0.3 else surnames[bits(names.POOL_BITS)]
        return [("02", male, age, surname), *self._children(kids, age, age, kid_surname, age)]

    def _bank(self, urban: bool) -> tuple[str, str]:
        rand, bits = self.rand, self.bits
        name, bin_ = self.banks[urban][bits(names.POOL_BITS)]
        if rand() < 0.8:  # a debit card: 19 digits with a Luhn check digit
            body = bin_ + "".join(str(int(rand() * 10)) for _ in range(12))
            return name, body + luhn.calc_check_digit(body)
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
        phone_share, phones, n_phones = self.phone_share, names.PHONE_PREFIXES, len(names.PHONE_PREFIXES)
        disability_rate, categories, child_categories, grades = (
            self.disability_rate,
            self.categories,
            self.child_categories,
            self.grades,
        )
        care_severe, care_severe_old, care_old = self.self_care_severe, self.self_care_severe_old, self.self_care_old
        check_chars = ID_CHECK_CHARS
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
                name = surname + given[day_era[day] * 2 + male][bits(names.POOL_BITS)]
                phone = (
                    f"{phones[int(rand() * n_phones)]}{int(rand() * 100_000_000):08d}"
                    if rand() < phone_share[years]
                    else ""
                )
                category, grade, care = "", None, ""
                if rand() < disability_rate[years]:
                    disabled += 1
                    category = (child_categories if years < 18 else categories)[bits(names.POOL_BITS)]
                    grade = grades[bits(names.POOL_BITS)]
                    if grade <= 2:
                        care = (care_severe_old if years >= 80 else care_severe)[bits(names.POOL_BITS)]
                if years >= 80 and not care:
                    care = care_old[bits(names.POOL_BITS)]
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
            if rand() < names.BANK_ACCOUNT_SHARE:
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
    (secondary indexes and foreign keys set aside and rebuilt, see `bulkload.drop_for_bulk_load`); by default it is used for
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
            cursor.execute(
                f"LOCK TABLE {', '.join(quote(m._meta.db_table) for m, _ in bulkload.TABLES)} IN {mode} MODE"
            )
        else:
            # The unique index on id_number is written in random order: a 256 MB page cache (the default is 2 MB)
            # keeps it in memory instead of spilling half-written pages to the WAL over and over.
            cursor.execute("PRAGMA cache_size")
            cache_size = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA cache_size = -262144")
        try:
            ids = [
                bulkload.max_id(cursor, Person),
                bulkload.max_id(cursor, Household),
                bulkload.max_id(cursor, Membership),
            ]
            start_ids = list(ids)
            used = bulkload.load_used_numbers(cursor, {v.area for v in villages})
            generator = _Generator(villages, seed, as_of, used, now_value)
            dropped = bulkload.drop_for_bulk_load(cursor) if rebuild_indexes else None
            done = 0
            while done < households:
                n = min(CHUNK_HOUSEHOLDS, households - done)
                bulkload.write(cursor, generator.chunk(n, ids))
                done += n
                if progress:
                    progress(done, households)
            if dropped:
                bulkload.restore_after_bulk_load(cursor, dropped)
            if postgres:
                # Keys were allocated here: move the identity sequences past them for later ORM inserts.
                for model, _ in bulkload.TABLES:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                        [quote(model._meta.db_table), bulkload.max_id(cursor, model)],
                    )
                # Planner statistics now rather than when autovacuum gets round to it (never where it is off): without
                # them a search by name planned a walk over every household.
                cursor.execute(f"ANALYZE {', '.join(quote(m._meta.db_table) for m, _ in bulkload.TABLES)}")
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

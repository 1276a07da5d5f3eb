import datetime
import hashlib
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from minzheng.demo import population
from minzheng.demo.population import generate_population, id_area_codes, village_short_name
from minzheng.regions.models import Region
from minzheng.registry.codes import SPOUSE_CODES, Relationship
from minzheng.registry.identifiers import parse_identity_number
from minzheng.registry.models import Household, Membership, Person

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 1, 1)
STATISTICAL_ONLY = {"130771", "130772", "130773"}  # 经开区, 察北管理区, 塞北管理区: not GB/T 2260 counties
MALE_CODES = {"11", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "41", "43", "51", "53", "55"}
FEMALE_CODES = {"12", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "42", "44", "52", "54", "56"}
CHILD_CODES = {"20", "21", "22", "23", "24", "25", "26", "30", "31", "32", "33", "34", "35", "36"}


def age(birth: datetime.date, day: datetime.date = AS_OF) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def snapshot() -> dict[int, list[tuple[Membership, Person]]]:
    """Members of each household, head first."""
    members = defaultdict(list)
    qs = Membership.objects.select_related("person", "household").order_by("household_id", "id")
    for m in qs:
        members[m.household_id].append((m, m.person))
    return members


def digest() -> str:
    rows = Membership.objects.order_by("person_id").values_list("person__name", "person__id_number", "relationship")
    return hashlib.sha256("\n".join(",".join(r) for r in rows).encode()).hexdigest()


def test_households_and_memberships_are_consistent():
    result = generate_population("1307", 300, seed=11, as_of=AS_OF)
    assert result.households == Household.objects.count() == 300
    assert result.persons == Person.objects.count() == Membership.objects.count()
    assert 2.0 <= result.persons / result.households <= 3.3
    assert result.urban_households + result.rural_households == 300

    households = {h.id: h for h in Household.objects.select_related("region")}
    members = snapshot()
    assert set(members) == set(households)
    person_households = Counter()
    for household_id, rows in members.items():
        household = households[household_id]
        heads = [(m, p) for m, p in rows if m.relationship == Relationship.HEAD]
        assert len(heads) == 1, household.address
        assert household.head_id == heads[0][1].id
        assert 1 <= len(rows) <= 6
        assert household.region.level == Region.Level.VILLAGE
        assert household.region_id.startswith("1307")
        for m, p in rows:
            person_households[p.id] += 1
            assert m.left_on is None
            assert p.birth_date <= m.joined_on <= datetime.date.today()
            assert p.region_id == household.region_id
            assert m.relationship in Relationship.values
        if household.bank_account:
            assert household.bank_name
            assert household.account_holder == heads[0][1].name
            assert household.bank_account.isdigit() and 16 <= len(household.bank_account) <= 19
        else:
            assert not household.bank_name and not household.account_holder
    assert set(person_households.values()) == {1}
    assert len(person_households) == result.persons


def test_relationships_sexes_and_ages_are_plausible():
    generate_population("1307", 400, seed=5, as_of=AS_OF)
    sizes, surnames = Counter(), Counter()
    for rows in snapshot().values():
        sizes[len(rows)] += 1
        head = next(p for m, p in rows if m.relationship == Relationship.HEAD)
        head_age = age(head.birth_date)
        assert 24 <= head_age <= 90  # 25–90, give or take the day a birth date is rounded to
        assert 2 <= len(head.name) <= 4  # surname (maybe two characters) and a one- or two-character given name
        for m, p in rows:
            person_age = age(p.birth_date)
            assert 0 <= person_age <= 100
            if m.relationship in MALE_CODES:
                assert p.sex == "M", m.relationship
            if m.relationship in FEMALE_CODES:
                assert p.sex == "F", m.relationship
            if m.relationship in SPOUSE_CODES:
                assert p.sex != head.sex
                assert abs(person_age - head_age) <= 8
            if m.relationship in CHILD_CODES:
                assert 18 <= head_age - person_age <= 46, (m.relationship, head_age, person_age)
            if m.relationship in {"51", "52"}:
                assert person_age - head_age >= 19
            if m.relationship in {"20", "21", "22", "23", "41", "42"} and head.sex == "M":
                surnames[p.name[0] == head.name[0]] += 1
            if p.phone:
                assert person_age >= 18
                assert len(p.phone) == 11 and p.phone[0] == "1" and p.phone[1] in "3456789" and p.phone.isdigit()
    assert set(sizes) <= {1, 2, 3, 4, 5, 6}
    assert surnames[True] >= 0.85 * (surnames[True] + surnames[False])  # sons mostly carry the father's surname
    assert sizes[1] and sizes[2] and sizes[3] and sizes[4]


def test_identity_numbers_are_valid_unique_and_match_the_county():
    generate_population("1307", 400, seed=2, as_of=AS_OF)
    counties = {
        r[:6]
        for r in Region.objects.filter(code__startswith="1307", level=Region.Level.COUNTY).values_list(
            "code", flat=True
        )
    }
    areas = id_area_codes(counties)
    assert len(counties) == 19
    assert {c for c, a in areas.items() if c != a} == STATISTICAL_ONLY
    assert all(a not in STATISTICAL_ONLY and a.startswith("1307") for a in areas.values())
    numbers = []
    for p in Person.objects.all():
        info = parse_identity_number(p.id_number)
        assert info.number == p.id_number
        assert info.area_code == areas[p.region_id[:6]]
        assert info.birth_date == p.birth_date
        assert info.sex == p.sex
        assert int(p.id_number[16]) % 2 == (1 if p.sex == "M" else 0)
        assert p.id_number[14:17] != "000"
        numbers.append(p.id_number)
    assert len(numbers) == len(set(numbers))


def test_statistical_only_counties_use_a_real_area_code():
    result = generate_population("130772", 60, seed=1, as_of=AS_OF)  # 察北管理区
    assert result.area_substitutes == {"130772": "130702"}
    for p in Person.objects.all():
        assert p.region_id.startswith("130772")
        assert parse_identity_number(p.id_number).area_code == "130702"


def test_same_seed_gives_the_same_people():
    def run(seed: int) -> str:
        with transaction.atomic():
            generate_population("1307", 200, seed=seed, as_of=AS_OF)
            value = digest()
            transaction.set_rollback(True)
        return value

    first = run(42)
    assert Person.objects.count() == 0
    assert run(42) == first
    assert run(43) != first


def test_urban_rural_follows_the_village():
    generate_population("1307", 400, seed=3, as_of=AS_OF)
    kinds = Counter()
    for h in Household.objects.select_related("region"):
        expected = "rural" if h.region.urban_rural == "rural" else "urban"  # undetermined counts as urban
        assert h.area_type == expected
        kinds[expected] += 1
        county = Region.objects.get(code=h.region_id[:6].ljust(12, "0")).name
        assert h.address.startswith(county)
        assert (
            village_short_name(h.region.name).removeprefix(Region.objects.get(code=h.region_id[:9].ljust(12, "0")).name)
            in h.address
        )
        assert h.address.endswith("室" if expected == "urban" else "号")
    assert kinds["urban"] and kinds["rural"]


def test_disability_and_self_care_rates_are_plausible():
    result = generate_population("1307", 1500, seed=7, as_of=AS_OF)
    people = list(Person.objects.all())
    disabled = [p for p in people if p.disability_category]
    assert len(disabled) == result.disabled
    assert 0.045 <= len(disabled) / len(people) <= 0.085
    severe = [p for p in disabled if p.disability_grade <= 2]
    assert 0.22 <= len(severe) / len(disabled) <= 0.48
    assert all(p.disability_grade is None for p in people if not p.disability_category)
    categories = Counter(p.disability_category for p in disabled)
    assert categories.most_common(1)[0][0] in {"physical", "hearing"}
    old = [p for p in people if age(p.birth_date) >= 60]
    young = [p for p in people if age(p.birth_date) < 45]
    assert sum(bool(p.disability_category) for p in old) / len(old) > 3 * (
        sum(bool(p.disability_category) for p in young) / len(young)
    )
    for p in people:
        if p.self_care:
            assert age(p.birth_date) >= 79 or (p.disability_grade or 9) <= 2
    assert sum(not p.self_care for p in people) / len(people) > 0.9


def test_second_run_adds_households_without_collisions():
    first = generate_population("1307", 200, seed=1, as_of=AS_OF)
    max_person = Person.objects.order_by("-id").first().id
    # The same seed again: every identity number it draws is taken, so each must be moved to a free one.
    second = generate_population("1307", 200, seed=1, as_of=AS_OF)
    assert Household.objects.count() == 400
    assert Person.objects.count() == first.persons + second.persons == Membership.objects.count()
    numbers = list(Person.objects.values_list("id_number", flat=True))
    assert len(numbers) == len(set(numbers))
    for p in Person.objects.filter(id__gt=max_person):
        info = parse_identity_number(p.id_number)
        assert info.sex == p.sex and info.birth_date == p.birth_date
    # ORM inserts still get fresh keys afterwards (PostgreSQL sequences were moved past the allocated ones).
    household = Household.objects.create(region_id="130722100201", address="测试", area_type="rural")
    assert household.id > Household.objects.exclude(id=household.id).order_by("-id").first().id


def test_bulk_load_restores_indexes_and_keys_and_is_all_or_nothing():
    def schema() -> dict:
        with connection.cursor() as cursor:
            return {
                m._meta.db_table: sorted(
                    (name, tuple(c["columns"]), bool(c["unique"]), bool(c["index"]), str(c["foreign_key"]))
                    for name, c in connection.introspection.get_constraints(cursor, m._meta.db_table).items()
                )
                for m in (Person, Household, Membership)
            }

    before = schema()

    def fail(done: int, total: int) -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        generate_population("1307", 120, seed=9, as_of=AS_OF, rebuild_indexes=True, progress=fail)
    assert Person.objects.count() == Household.objects.count() == Membership.objects.count() == 0
    assert schema() == before

    result = generate_population("1307", 150, seed=9, as_of=AS_OF, rebuild_indexes=True)
    assert schema() == before
    assert Household.objects.count() == 150 and Person.objects.count() == result.persons
    person = Person.objects.create(
        name="测试",
        id_number="11010519491231002X",
        sex="F",
        birth_date=datetime.date(1949, 12, 31),
        region_id="130722100201",
    )
    assert person.id > result.persons


def test_command_if_empty_and_summary():
    out = StringIO()
    call_command(
        "generate_population", "--prefix", "130722", "--households", "120", "--seed", "4", "--if-empty", stdout=out
    )
    text = out.getvalue()
    assert "120 户" in text and "残疾人" in text and "城镇" in text and "农村" in text and "秒" in text
    assert Household.objects.count() == 120
    today = datetime.date.today()  # the default as_of: ages counted from 1 January, nothing in the future
    assert not Person.objects.filter(birth_date__gt=today).exists()
    assert not Membership.objects.filter(joined_on__gt=today).exists()

    out = StringIO()
    call_command("generate_population", "--prefix", "130722", "--households", "120", "--if-empty", stdout=out)
    assert "跳过" in out.getvalue()
    assert Household.objects.count() == 120
    # Households elsewhere do not count as "not empty" for another prefix.
    call_command("generate_population", "--prefix", "130723", "--households", "30", "--if-empty", stdout=StringIO())
    assert Household.objects.count() == 150


@pytest.mark.parametrize("prefix", ["9999", "1308", "13x7"])
def test_unknown_prefix_is_refused_and_nothing_is_written(prefix):
    with pytest.raises(CommandError) as excinfo:
        call_command("generate_population", "--prefix", prefix, "--households", "10", stdout=StringIO())
    assert prefix in str(excinfo.value)
    assert "区划" in str(excinfo.value)
    assert Person.objects.count() == Household.objects.count() == Membership.objects.count() == 0


def test_progress_is_reported_per_chunk(monkeypatch):
    monkeypatch.setattr(population, "CHUNK_HOUSEHOLDS", 40)
    calls = []
    generate_population("130722", 100, seed=1, as_of=AS_OF, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(40, 100), (80, 100), (100, 100)]


def test_identity_number_check_digit():
    assert population.identity_number("11010519491231002") == "11010519491231002X"  # GB 11643 example
    assert population.area_code_accepted("130722")
    assert not population.area_code_accepted("130772")


def test_village_short_names():
    assert village_short_name("南壕堑村村民委员会") == "南壕堑村"
    assert village_short_name("杏叶村民委员会") == "杏叶村"
    assert village_short_name("沙沟村委会") == "沙沟村"
    assert village_short_name("教育街社区居民委员会") == "教育街社区"
    assert village_short_name("东坪工矿区居委会") == "东坪工矿区"
    assert village_short_name("康保牧场一分场生活区") == "康保牧场一分场生活区"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics of PostgreSQL")
def test_generation_leaves_planner_statistics_on_postgresql():
    """A bulk load that waits for autovacuum (or runs where it is off) leaves the planner guessing at empty tables."""
    generate_population("1307", 200, seed=5, as_of=AS_OF)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
            [[Person._meta.db_table, Household._meta.db_table, Membership._meta.db_table]],
        )
        estimates = dict(cursor.fetchall())
    assert estimates[Household._meta.db_table] == 200, estimates
    assert estimates[Person._meta.db_table] == Person.objects.count(), estimates
    assert estimates[Membership._meta.db_table] == Membership.objects.count(), estimates

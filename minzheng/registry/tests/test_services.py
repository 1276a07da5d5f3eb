import datetime

import pytest

from minzheng.conftest import OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, URBAN_VILLAGE, VILLAGE, make_id_number
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.models import AuditEntry
from minzheng.registry import services
from minzheng.registry.models import Household, Membership, Person
from minzheng.registry.services import MemberData, PersonData

HEAD = make_id_number(seq=11)
WIFE = make_id_number(birth="19820202", seq=22)
SON = make_id_number(birth="20100303", seq=31)


def family(household_data, region=VILLAGE, **extra):
    return household_data(region, [("02", "张三", HEAD), ("12", "李四", WIFE), ("20", "张小五", SON)], **extra)


def test_create_household_with_members(clerk, household_data):
    household = services.create_household(clerk, family(household_data))
    members = {m.person.name: m for m in household.current_memberships()}
    assert set(members) == {"张三", "李四", "张小五"}
    assert household.head.name == "张三"
    assert household.area_type == "rural"  # 南壕堑村村民委员会: village digits 201
    assert members["李四"].person.sex == "F" and members["张三"].person.sex == "M"
    assert members["张小五"].person.birth_date == datetime.date(2010, 3, 3)
    assert all(m.person.region_id == VILLAGE for m in members.values())
    entry = AuditEntry.objects.filter(object_type="household", object_id=str(household.pk)).get()
    assert entry.action == "create" and entry.username == clerk.username and entry.region_code == VILLAGE


def test_urban_village_gives_urban_household(clerk, household_data):
    household = services.create_household(clerk, household_data(URBAN_VILLAGE))
    assert household.area_type == "urban"


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ([("12", "李四", WIFE)], "head_count"),
        ([("02", "张三", HEAD), ("02", "李四", WIFE)], "head_count"),
        ([("02", "张三", HEAD), ("12", "张三", HEAD)], "duplicate_in_household"),
        ([("02", "张三", HEAD), ("ZZ", "李四", WIFE)], "invalid_relationship"),
        ([("02", "张三", "110105194912310021")], "id_checksum"),
    ],
)
def test_invalid_household_changes_nothing(clerk, household_data, members, code):
    before = (Household.objects.count(), Person.objects.count(), AuditEntry.objects.count())
    with pytest.raises(DomainError) as err:
        services.create_household(clerk, household_data(VILLAGE, members))
    assert err.value.code == code
    assert (Household.objects.count(), Person.objects.count(), AuditEntry.objects.count()) == before


def test_member_error_names_the_member(clerk, household_data):
    with pytest.raises(DomainError) as err:
        services.create_household(clerk, household_data(VILLAGE, [("02", "张三", HEAD), ("12", "李四", "1101")]))
    assert err.value.context["member_index"] == 1


@pytest.mark.parametrize(
    ("region", "code"),
    [
        (OTHER_VILLAGE, "region_out_of_scope"),
        (TOWNSHIP, "region_not_village"),
        ("130722100999", "unknown_region_code"),
        ("13a722100201", "invalid_region_code"),
    ],
)
def test_household_region_must_be_a_village_in_scope(clerk, household_data, region, code):
    with pytest.raises(DomainError) as err:
        services.create_household(clerk, household_data(region))
    assert err.value.code == code and err.value.field == "region_code"
    assert Household.objects.count() == 0


def test_duplicate_person_points_to_existing_record(clerk, household_data):
    first = services.create_household(clerk, household_data(members=[("02", "张三", HEAD)]))
    with pytest.raises(Conflict) as err:
        services.create_household(clerk, household_data(members=[("02", "张三三", HEAD.lower())]))
    assert err.value.code == "duplicate_person"
    assert err.value.context["existing_id"] == first.head_id
    assert f"/registry/persons/{first.head_id}/" in err.value.context["existing_url"]
    assert "1307" in err.value.message and HEAD not in err.value.message  # masked in the message
    assert Household.objects.count() == 1


def test_duplicate_outside_scope_says_only_elsewhere(make_user, household_data):
    """Not where (issue 18 §4: that made an oracle of the village of any number), only that and how to move them."""
    other_clerk = make_user("clerk", OTHER_TOWNSHIP)
    services.create_household(other_clerk, household_data(OTHER_VILLAGE, [("02", "王五", HEAD)]))
    clerk = make_user("clerk")
    with pytest.raises(Conflict) as err:
        services.create_household(clerk, household_data(members=[("02", "王五", HEAD)]))
    assert "已在其他地区登记" in err.value.message and "迁入" in err.value.message
    assert "公会镇" not in err.value.message and "王五" not in err.value.message
    assert "existing_url" not in err.value.context and "existing_region" not in err.value.context


def test_move_person_keeps_history(clerk, household_data):
    source = services.create_household(clerk, family(household_data), today=datetime.date(2026, 10, 1))
    target = services.create_household(clerk, household_data(members=[("02", "赵六", make_id_number(seq=41))]))
    son = Person.objects.get(id_number=SON)
    services.move_person(clerk, son.pk, target, "93", "随亲属迁居", today=datetime.date(2026, 11, 1))
    old = Membership.objects.get(person=son, household=source)
    assert old.left_on == datetime.date(2026, 11, 1) and old.leave_reason == "随亲属迁居"
    new = Membership.objects.get(person=son, left_on__isnull=True)
    assert new.household == target and new.relationship == "93"
    assert source.current_memberships().count() == 2
    assert AuditEntry.objects.filter(action="move", object_id=str(son.pk)).exists()


def test_person_cannot_be_in_two_households(clerk, household_data):
    services.create_household(clerk, family(household_data))
    son = Person.objects.get(id_number=SON)
    other = services.create_household(clerk, household_data(members=[("02", "赵六", make_id_number(seq=41))]))
    with pytest.raises(Conflict) as err:
        services.add_member(clerk, other, MemberData("93", person_id=son.pk))
    assert err.value.code == "already_in_household"


def test_head_must_be_changed_before_leaving(clerk, household_data):
    household = services.create_household(clerk, family(household_data))
    with pytest.raises(DomainError) as err:
        services.remove_member(clerk, household, household.head_id, "迁往外省")
    assert err.value.code == "head_must_change"
    wife = Person.objects.get(id_number=WIFE)
    services.change_head(clerk, household, wife.pk, "11")
    household.refresh_from_db()
    assert household.head_id == wife.pk
    assert Membership.objects.get(person__id_number=HEAD, left_on__isnull=True).relationship == "11"
    services.remove_member(clerk, household, Person.objects.get(id_number=HEAD).pk, "死亡")
    assert household.current_memberships().count() == 2


def test_add_member_cannot_add_a_second_head(clerk, household_data):
    household = services.create_household(clerk, household_data())
    with pytest.raises(DomainError) as err:
        services.add_member(clerk, household, MemberData("02", PersonData("李四", WIFE)))
    assert err.value.code == "head_exists"


def test_update_person_with_optimistic_locking(clerk, household_data):
    household = services.create_household(clerk, household_data())
    person = household.head
    data = PersonData(
        name="张三", id_number=HEAD, phone="13812345678", disability_category="physical", disability_grade=2
    )
    services.update_person(clerk, person, data, expected_version=1)
    person.refresh_from_db()
    assert person.version == 2 and person.disability_grade == 2 and person.phone == "13812345678"
    with pytest.raises(Conflict) as err:
        services.update_person(clerk, person, PersonData(name="张叁", id_number=HEAD), expected_version=1)
    assert err.value.code == "stale_version"
    person.refresh_from_db()
    assert person.name == "张三"
    change = AuditEntry.objects.filter(action="update", object_type="person").get()
    assert change.detail["changes"]["phone"] == ["", "138****5678"]


def test_disability_needs_category_and_grade(clerk, household_data):
    household = services.create_household(clerk, household_data())
    with pytest.raises(DomainError) as err:
        services.update_person(clerk, household.head, PersonData("张三", HEAD, disability_category="visual"))
    assert err.value.code == "disability_incomplete"


def test_view_is_audited(clerk, household_data):
    household = services.create_household(clerk, household_data())
    services.view_person(clerk, household.head_id)
    services.view_household(clerk, household.pk)
    assert AuditEntry.objects.filter(action="view", object_type="person", object_id=str(household.head_id)).exists()
    assert AuditEntry.objects.filter(action="view", object_type="household", object_id=str(household.pk)).exists()


def test_out_of_scope_records_look_missing(make_user, household_data):
    other_clerk = make_user("clerk", OTHER_TOWNSHIP)
    household = services.create_household(other_clerk, household_data(OTHER_VILLAGE))
    clerk = make_user("clerk")
    with pytest.raises(NotFound):
        services.view_household(clerk, household.pk)
    with pytest.raises(NotFound):
        services.view_person(clerk, household.head_id)
    assert not AuditEntry.objects.filter(action="view").exists()


def test_roles_without_edit_capability_cannot_register(make_user, household_data):
    for role in ("leader", "auditor"):
        with pytest.raises(PermissionDeniedError):
            services.create_household(make_user(role), household_data())
    assert Household.objects.count() == 0


def test_household_update_moves_members_registration(clerk, household_data):
    household = services.create_household(clerk, family(household_data))
    data = household_data(
        URBAN_VILLAGE, address="张北镇教育街5号", bank_name="中国农业银行", bank_account="6228480012345678901"
    )
    services.update_household(clerk, household, data, expected_version=1)
    household.refresh_from_db()
    assert household.region_id == URBAN_VILLAGE and household.area_type == "urban" and household.version == 2
    assert set(Person.objects.values_list("region_id", flat=True)) == {URBAN_VILLAGE}
    entry = AuditEntry.objects.filter(action="update", object_type="household").get()
    assert entry.detail["changes"]["bank_account"][1] == "***************8901"


def test_bank_account_needs_bank_name(clerk, household_data):
    with pytest.raises(DomainError) as err:
        services.create_household(clerk, household_data(bank_account="6228480012345678901"))
    assert err.value.field == "bank_name"

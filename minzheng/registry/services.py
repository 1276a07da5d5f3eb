"""Registry operations: the only code that changes people, households, memberships and organisations.

Every operation checks capability and region scope, validates its input (raising DomainError with a Chinese
message before anything is written), runs in one transaction, and appends an audit entry.
"""

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError, NotFound
from minzheng.core.masking import mask_account, mask_id_number, mask_phone
from minzheng.core.scoping import in_scope
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

from .codes import AreaType, DisabilityCategory, OrganisationType, Relationship, SelfCare
from .identifiers import normalize_bank_account, normalize_phone, normalize_uscc, parse_identity_number
from .models import Household, Membership, Organisation, Person

Action = audit.Action
_MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "bank_account": mask_account}


@dataclass
class PersonData:
    name: str
    id_number: str
    phone: str = ""
    disability_category: str = ""
    disability_grade: int | None = None
    self_care: str = ""


@dataclass
class MemberData:
    relationship: str
    person: PersonData | None = None  # a new person …
    person_id: int | None = None  # … or one already registered (and not in another household)


@dataclass
class HouseholdData:
    region_code: str
    address: str
    area_type: str = ""
    bank_name: str = ""
    bank_account: str = ""
    account_holder: str = ""
    members: list[MemberData] = field(default_factory=list)


# ---------------------------------------------------------------- validation


def _clean_name(name: str, field_name: str = "name", label: str = "姓名", max_length: int = 50) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(f"请填写{label}", "required", field=field_name)
    if len(name) > max_length:
        raise DomainError(f"{label}不能超过{max_length}个字", "too_long", field=field_name)
    return name


def _clean_person(data: PersonData, *, today: datetime.date | None = None) -> dict:
    info = parse_identity_number(data.id_number, today=today)
    category = data.disability_category or ""
    grade = data.disability_grade
    if category and category not in DisabilityCategory.values:
        raise DomainError("残疾类别不正确", "invalid_choice", field="disability_category")
    if grade is not None and grade not in (1, 2, 3, 4):
        raise DomainError("残疾等级应为一级至四级", "invalid_choice", field="disability_grade")
    if bool(category) != (grade is not None):
        raise DomainError(
            "残疾类别和残疾等级须同时填写（以残疾人证为准）",
            "disability_incomplete",
            field="disability_grade",
        )
    if data.self_care and data.self_care not in SelfCare.values:
        raise DomainError("生活自理能力选项不正确", "invalid_choice", field="self_care")
    return {
        "name": _clean_name(data.name),
        "id_number": info.number,
        "sex": info.sex,
        "birth_date": info.birth_date,
        "phone": normalize_phone(data.phone),
        "disability_category": category,
        "disability_grade": grade,
        "self_care": data.self_care or "",
    }


def _duplicate_error(existing: Person, user) -> DomainError:
    """Refuse a duplicate with a pointer to the existing record — a link when the user may open it."""
    if in_scope(user, existing.region_id):
        url = reverse("registry:person", args=[existing.pk])
        return Conflict(
            f"该公民身份号码已登记：{existing.name}（{mask_id_number(existing.id_number)}），请勿重复登记",
            "duplicate_person",
            field="id_number",
            existing_id=existing.pk,
            existing_url=url,
        )
    # Out of scope: where the person is registered is not the user's to know (the village of any number would
    # answer), only that they are and how to bring them here. The attempt is audited.
    audit.denied(
        user,
        "registered_elsewhere",
        message="登记的公民身份号码已在其他地区登记",
        object_type="person",
        object_id=existing.pk,
        target_region=existing.region_id,
    )
    return Conflict(REGISTERED_ELSEWHERE, "duplicate_person", field="id_number")


# A person moves between two regions through a user whose region covers both (`move_person`).
REGISTERED_ELSEWHERE = (
    "该公民身份号码已在其他地区登记，不能重复登记。"
    "如该人员已迁入本辖区，请报请共同的上级民政部门办理人员迁移（迁入本户）。"
)


def _region_in_scope(user, region_code: str, *, village: bool) -> Region:
    """The region a record is registered in: it must exist, be in the user's scope and, for people, be a village."""
    try:
        code = region_codes.canonical(region_code)
    except DomainError as exc:
        raise DomainError(exc.message, exc.code, field="region_code") from None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise DomainError(f"区划代码“{region_code}”不存在", "unknown_region_code", field="region_code")
    if village and region.level != Region.Level.VILLAGE:
        raise DomainError("家庭户籍地须选择到村（社区）一级", "region_not_village", field="region_code")
    if not in_scope(user, region.code):
        raise DomainError("该区划不在您的管辖范围内", "region_out_of_scope", field="region_code")
    return region


def _changes(instance, new_values: dict) -> dict:
    """Field-level diff for the audit log; identifiers are recorded masked."""
    diff = {}
    for name, new in new_values.items():
        old = getattr(instance, name)
        if old != new:
            mask = _MASKERS.get(name, lambda v: v)
            diff[name] = [
                mask(old) if old not in (None, "") else old,
                mask(new) if new not in (None, "") else new,
            ]
    return diff


def _bump(instance, expected_version: int | None) -> None:
    """Optimistic locking: refuse to overwrite someone else's newer save."""
    model = type(instance)
    current = model.objects.filter(pk=instance.pk).values_list("version", flat=True).first()
    if expected_version is not None and current != expected_version:
        raise Conflict("该记录已被他人修改，请刷新页面后重新编辑", "stale_version")
    instance.version = (current or 0) + 1


# ---------------------------------------------------------------- persons


def _insert_person(user, data: PersonData, region: Region) -> Person:
    values = _clean_person(data)
    existing = Person.objects.filter(id_number=values["id_number"]).first()
    if existing is not None:
        raise _duplicate_error(existing, user)
    try:
        with transaction.atomic():
            person = Person.objects.create(region=region, **values)
    except IntegrityError:  # a concurrent registration of the same number won the race
        raise _duplicate_error(Person.objects.get(id_number=values["id_number"]), user) from None
    audit.record(Action.CREATE, user=user, obj=person)
    return person


def update_person(user, person: Person, data: PersonData, expected_version: int | None = None) -> Person:
    require(user, Capability.EDIT_PEOPLE)
    person = Person.objects.get_for_user(user, pk=person.pk)
    values = _clean_person(data)
    if values["id_number"] != person.id_number:
        other = Person.objects.filter(id_number=values["id_number"]).exclude(pk=person.pk).first()
        if other is not None:
            raise _duplicate_error(other, user)
    with transaction.atomic():
        _bump(person, expected_version)
        diff = _changes(person, values)
        for name, value in values.items():
            setattr(person, name, value)
        person.save()
        if diff:
            audit.record(Action.UPDATE, user=user, obj=person, detail={"changes": diff})
    return person


def view_person(user, person_id: int) -> Person:
    """Open one person's full record (full identity number shown): audited."""
    require(user, Capability.VIEW_PEOPLE)
    person = Person.objects.select_related("region").get_for_user(user, pk=person_id)
    audit.record(Action.VIEW, user=user, obj=person)
    return person


def person_for_edit(user, person_id: int) -> Person:
    """Load one person's record for editing: the form shows the full number, so this is audited as a view too."""
    require(user, Capability.EDIT_PEOPLE)
    return view_person(user, person_id)


# ---------------------------------------------------------------- households


def _clean_household(user, data: HouseholdData) -> dict:
    region = _region_in_scope(user, data.region_code, village=True)
    address = (data.address or "").strip()
    if not address:
        raise DomainError("请填写家庭住址", "required", field="address")
    area_type = data.area_type or region.urban_rural
    if area_type not in AreaType.values:
        raise DomainError("该村（社区）无法自动判断城乡类别，请选择城镇或农村", "area_type_required", field="area_type")
    account = normalize_bank_account(data.bank_account)
    if account and not (data.bank_name or "").strip():
        raise DomainError("填写银行账号时须同时填写开户银行", "required", field="bank_name")
    return {
        "region": region,
        "address": address[:200],
        "area_type": area_type,
        "bank_name": (data.bank_name or "").strip(),
        "bank_account": account,
        "account_holder": (data.account_holder or "").strip(),
    }


def _check_relationship(code: str) -> str:
    if code not in Relationship.values:
        raise DomainError("与户主关系代码不正确（GB/T 4761）", "invalid_relationship", field="relationship")
    return code


def create_household(user, data: HouseholdData, today: datetime.date | None = None) -> Household:
    """Register a household with its members in one step: exactly one member is the head (关系 02)."""
    require(user, Capability.EDIT_PEOPLE)
    today = today or timezone.localdate()
    values = _clean_household(user, data)
    if not data.members:
        raise DomainError("请至少登记一名家庭成员（户主）", "no_members")
    heads = [m for m in data.members if m.relationship == Relationship.HEAD]
    if len(heads) != 1:
        raise DomainError("每户须有且只有一名户主（与户主关系为“户主”）", "head_count")
    seen: set[str] = set()
    for index, member in enumerate(data.members):
        if member.person is None:
            continue
        try:
            number = parse_identity_number(member.person.id_number).number
        except DomainError as exc:
            exc.context["member_index"] = index
            raise
        if number in seen:
            raise DomainError("同一户中有重复的公民身份号码", "duplicate_in_household", member_index=index)
        seen.add(number)
    with transaction.atomic():
        household = Household.objects.create(**values)
        for index, member in enumerate(data.members):
            try:
                person = _member_person(user, member, values["region"])
                _check_relationship(member.relationship)
                _join(user, household, person, member.relationship, today)
            except DomainError as exc:
                exc.context.setdefault("member_index", index)
                raise
            if member.relationship == Relationship.HEAD:
                household.head = person
        household.save(update_fields=["head"])
        audit.record(
            Action.CREATE,
            user=user,
            obj=household,
            detail={"members": len(data.members), "region": values["region"].code},
        )
    return household


def _member_person(user, member: MemberData, region: Region) -> Person:
    if member.person is not None:
        return _insert_person(user, member.person, region)
    if member.person_id is None:
        raise DomainError("请填写成员信息", "required")
    return Person.objects.get_for_user(user, pk=member.person_id)


def _join(user, household: Household, person: Person, relationship: str, day: datetime.date) -> Membership:
    current = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    if current is not None:
        raise Conflict(
            f"{person.name}已是家庭 {current.household.number} 的成员，请使用“迁移成员”办理",
            "already_in_household",
            existing_household=current.household_id,
        )
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                household=household, person=person, relationship=relationship, joined_on=day, recorded_by=user
            )
    except IntegrityError:
        raise Conflict(f"{person.name}已是其他家庭的成员", "already_in_household") from None
    if person.region_id != household.region_id:
        Person.objects.filter(pk=person.pk).update(region=household.region)
        person.region = household.region
    return membership


def update_household(user, household: Household, data: HouseholdData, expected_version: int | None = None) -> Household:
    require(user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(user, pk=household.pk)
    values = _clean_household(user, data)
    with transaction.atomic():
        _bump(household, expected_version)
        diff = _changes(household, {k: v for k, v in values.items() if k != "region"})
        if values["region"].code != household.region_id:
            diff["region"] = [household.region_id, values["region"].code]
        for name, value in values.items():
            setattr(household, name, value)
        household.save()
        if "region" in diff:  # members' registration follows the household
            Person.objects.filter(memberships__household=household, memberships__left_on__isnull=True).update(
                region=values["region"]
            )
        if diff:
            audit.record(Action.UPDATE, user=user, obj=household, detail={"changes": diff})
    return household


def view_household(user, household_id: int) -> Household:
    require(user, Capability.VIEW_PEOPLE)
    household = Household.objects.select_related("region", "head").get_for_user(user, pk=household_id)
    audit.record(Action.VIEW, user=user, obj=household)
    return household


def add_member(user, household: Household, member: MemberData, today: datetime.date | None = None) -> Membership:
    require(user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(user, pk=household.pk)
    relationship = _check_relationship(member.relationship)
    if relationship == Relationship.HEAD:
        raise DomainError("一户只能有一名户主；如需更换户主，请使用“变更户主”", "head_exists", field="relationship")
    with transaction.atomic():
        person = _member_person(user, member, household.region)
        membership = _join(user, household, person, relationship, today or timezone.localdate())
        audit.record(
            Action.UPDATE,
            user=user,
            obj=household,
            detail={"member_added": person.pk, "name": person.name, "relationship": relationship},
        )
    return membership


def _current_membership(household: Household, person_id: int) -> Membership:
    membership = (
        Membership.objects.filter(household=household, person_id=person_id, left_on__isnull=True)
        .select_related("person")
        .first()
    )
    if membership is None:
        raise NotFound("该人员不是本户的现有成员")
    return membership


def move_person(
    user,
    person_id: int,
    to_household: Household,
    relationship: str,
    reason: str,
    today: datetime.date | None = None,
) -> Membership:
    """Move a person to another household (both in scope), closing the old membership so history is kept."""
    require(user, Capability.EDIT_PEOPLE)
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写迁移原因", "required", field="reason")
    relationship = _check_relationship(relationship)
    if relationship == Relationship.HEAD:
        raise DomainError("迁入成员不能直接作为户主；迁入后可办理“变更户主”", "head_exists", field="relationship")
    target = Household.objects.get_for_user(user, pk=to_household.pk)
    person = Person.objects.get_for_user(user, pk=person_id)
    current = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    with transaction.atomic():
        if current is not None:
            if current.household_id == target.pk:
                raise DomainError("该人员已是目标家庭的成员", "same_household")
            if not in_scope(user, current.household.region_id):
                raise NotFound("原家庭不在您的管辖范围内")
            _leave(user, current, reason, today)
        membership = _join(user, target, person, relationship, today)
        audit.record(
            Action.MOVE,
            user=user,
            obj=person,
            detail={
                "from_household": current.household_id if current else None,
                "to_household": target.pk,
                "relationship": relationship,
                "reason": reason,
            },
        )
    return membership


def _leave(user, membership: Membership, reason: str, day: datetime.date) -> None:
    household = membership.household
    if household.head_id == membership.person_id:
        others = Membership.objects.filter(household=household, left_on__isnull=True).exclude(pk=membership.pk)
        if others.exists():
            raise DomainError("该成员是户主，请先为本户变更户主后再迁出", "head_must_change")
        Household.objects.filter(pk=household.pk).update(head=None)
    membership.left_on = max(day, membership.joined_on)
    membership.leave_reason = reason[:200]
    membership.save(update_fields=["left_on", "leave_reason"])


def remove_member(user, household: Household, person_id: int, reason: str, today: datetime.date | None = None) -> None:
    """A member leaves the household (death, moved out of the area, …); the membership is closed, not deleted."""
    require(user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(user, pk=household.pk)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写迁出原因", "required", field="reason")
    with transaction.atomic():
        membership = _current_membership(household, person_id)
        _leave(user, membership, reason, today or timezone.localdate())
        audit.record(
            Action.UPDATE,
            user=user,
            obj=household,
            detail={"member_left": person_id, "name": membership.person.name, "reason": reason},
        )


def change_head(user, household: Household, new_head_id: int, old_head_relationship: str) -> Household:
    """Make another current member the head; the former head takes the given relationship to the new one."""
    require(user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(user, pk=household.pk)
    old_relationship = _check_relationship(old_head_relationship)
    if old_relationship == Relationship.HEAD:
        raise DomainError("请选择原户主与新户主的关系", "invalid_relationship", field="relationship")
    with transaction.atomic():
        new = _current_membership(household, new_head_id)
        if household.head_id == new.person_id:
            raise DomainError("该成员已经是户主", "already_head")
        if household.head_id:
            Membership.objects.filter(household=household, person_id=household.head_id, left_on__isnull=True).update(
                relationship=old_relationship
            )
        new.relationship = Relationship.HEAD
        new.save(update_fields=["relationship"])
        old_head = household.head_id
        household.head_id = new.person_id
        household.version += 1
        household.save(update_fields=["head", "version", "updated_at"])
        audit.record(Action.UPDATE, user=user, obj=household, detail={"head": [old_head, new.person_id]})
    return household


# ---------------------------------------------------------------- organisations


@dataclass
class OrganisationData:
    name: str
    uscc: str
    org_type: str
    region_code: str
    address: str = ""
    legal_representative: str = ""
    phone: str = ""


def _clean_organisation(user, data: OrganisationData) -> dict:
    if data.org_type not in OrganisationType.values:
        raise DomainError("请选择组织类型", "invalid_choice", field="org_type")
    region = _region_in_scope(user, data.region_code, village=False)
    return {
        "name": _clean_name(data.name, "name", "名称", max_length=200),
        "uscc": normalize_uscc(data.uscc),
        "org_type": data.org_type,
        "region": region,
        "address": (data.address or "").strip()[:200],
        "legal_representative": (data.legal_representative or "").strip()[:50],
        "phone": normalize_phone(data.phone),
    }


def _duplicate_organisation(user, uscc: str, exclude: int | None = None) -> None:
    existing = Organisation.objects.filter(uscc=uscc).exclude(pk=exclude).first()
    if existing is not None:
        where = "" if in_scope(user, existing.region_id) else "（在其他地区）"
        raise Conflict(
            f"统一社会信用代码已登记{where}：{existing.name}",
            "duplicate_organisation",
            field="uscc",
            existing_id=existing.pk,
        )


def create_organisation(user, data: OrganisationData) -> Organisation:
    require(user, Capability.EDIT_PEOPLE)
    values = _clean_organisation(user, data)
    _duplicate_organisation(user, values["uscc"])
    with transaction.atomic():
        organisation = Organisation.objects.create(**values)
        audit.record(Action.CREATE, user=user, obj=organisation)
    return organisation


def update_organisation(
    user, organisation: Organisation, data: OrganisationData, expected_version: int | None = None
) -> Organisation:
    require(user, Capability.EDIT_PEOPLE)
    organisation = Organisation.objects.get_for_user(user, pk=organisation.pk)
    values = _clean_organisation(user, data)
    _duplicate_organisation(user, values["uscc"], exclude=organisation.pk)
    with transaction.atomic():
        _bump(organisation, expected_version)
        diff = _changes(organisation, {k: v for k, v in values.items() if k != "region"})
        for name, value in values.items():
            setattr(organisation, name, value)
        organisation.save()
        if diff:
            audit.record(Action.UPDATE, user=user, obj=organisation, detail={"changes": diff})
    return organisation


def create_person(user, data: PersonData, region_code: str) -> Person:
    """Register a person not (yet) in a household, e.g. before a household is set up."""
    require(user, Capability.EDIT_PEOPLE)
    region = _region_in_scope(user, region_code, village=True)
    with transaction.atomic():
        return _insert_person(user, data, region)

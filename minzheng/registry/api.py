"""Registry API: thin handlers over the same services and queries the pages use."""

import datetime
from typing import Annotated

from ninja import Field, Router, Schema, Status

from minzheng.core.ids import Id, Version
from minzheng.core.masking import mask_account, mask_id_number, mask_phone

from . import queries, services
from .models import Household, Organisation, Person

router = Router(tags=["人员与家庭"])


class PersonIn(Schema):
    name: str
    id_number: str
    phone: str = ""
    disability_category: str = ""
    disability_grade: Annotated[int, Field(ge=1, le=4)] | None = None
    self_care: str = ""

    def to_data(self) -> services.PersonData:
        return services.PersonData(**self.dict())


class MemberIn(Schema):
    relationship: str = Field(..., description="与户主关系，GB/T 4761 代码，户主为 02")
    person: PersonIn | None = None
    person_id: Id | None = None


class HouseholdIn(Schema):
    region_code: str = Field(..., description="户籍所在村（社区）的12位区划代码")
    address: str
    area_type: str = Field("", description="urban / rural；留空按村（社区）代码判断")
    bank_name: str = ""
    bank_account: str = ""
    account_holder: str = ""

    def to_data(self, members: list[MemberIn] | None = None) -> services.HouseholdData:
        values = self.dict(exclude={"members", "version"})
        return services.HouseholdData(
            **values,
            members=[
                services.MemberData(m.relationship, m.person.to_data() if m.person else None, m.person_id)
                for m in members or []
            ],
        )


class HouseholdCreate(HouseholdIn):
    members: list[MemberIn]


class HouseholdUpdate(HouseholdIn):
    version: Version | None = None


class PersonUpdate(PersonIn):
    version: Version | None = None


class PersonMasked(Schema):
    id: int
    name: str
    id_number_masked: str
    sex: str
    birth_date: datetime.date
    region_code: str

    @staticmethod
    def from_person(p: Person) -> "PersonMasked":
        return PersonMasked(
            id=p.pk,
            name=p.name,
            id_number_masked=mask_id_number(p.id_number),
            sex=p.sex,
            birth_date=p.birth_date,
            region_code=p.region_id,
        )


class PersonFull(Schema):
    id: int
    name: str
    id_number: str
    sex: str
    birth_date: datetime.date
    phone: str
    region_code: str
    disability_category: str
    disability_grade: int | None
    self_care: str
    household_id: int | None
    version: int


class MemberOut(Schema):
    person: PersonMasked
    relationship: str
    relationship_name: str
    joined_on: datetime.date
    left_on: datetime.date | None
    leave_reason: str


class HouseholdOut(Schema):
    id: int
    number: str
    region_code: str
    region_name: str
    address: str
    area_type: str
    head_id: int | None
    bank_name: str
    bank_account_masked: str
    members: list[MemberOut]
    history: list[MemberOut]
    version: int


class HouseholdSummary(Schema):
    id: int
    number: str
    region_code: str
    head_name: str
    head_id_number_masked: str
    size: int
    area_type: str


class SearchOut(Schema):
    kind: str
    message: str
    persons: list[PersonMasked]
    households: list[HouseholdSummary]


class MoveIn(Schema):
    to_household_id: Id
    relationship: str
    reason: str


class LeaveIn(Schema):
    reason: str


class OrganisationIn(Schema):
    name: str
    uscc: str
    org_type: str
    region_code: str
    address: str = ""
    legal_representative: str = ""
    phone: str = ""


class OrganisationOut(Schema):
    id: int
    name: str
    uscc: str
    org_type: str
    region_code: str
    address: str
    legal_representative: str
    phone_masked: str
    version: int


def _member_out(m) -> MemberOut:
    return MemberOut(
        person=PersonMasked.from_person(m.person),
        relationship=m.relationship,
        relationship_name=m.get_relationship_display(),
        joined_on=m.joined_on,
        left_on=m.left_on,
        leave_reason=m.leave_reason,
    )


def _household_out(h: Household) -> HouseholdOut:
    history = list(queries.household_history(h))
    return HouseholdOut(
        id=h.pk,
        number=h.number,
        region_code=h.region_id,
        region_name=h.region.name,
        address=h.address,
        area_type=h.area_type,
        head_id=h.head_id,
        bank_name=h.bank_name,
        bank_account_masked=mask_account(h.bank_account),
        members=[_member_out(m) for m in history if m.left_on is None],
        history=[_member_out(m) for m in history if m.left_on is not None],
        version=h.version,
    )


def _person_full(p: Person) -> PersonFull:
    current = p.memberships.filter(left_on__isnull=True).values_list("household_id", flat=True).first()
    return PersonFull(
        id=p.pk,
        name=p.name,
        id_number=p.id_number,
        sex=p.sex,
        birth_date=p.birth_date,
        phone=p.phone,
        region_code=p.region_id,
        disability_category=p.disability_category,
        disability_grade=p.disability_grade,
        self_care=p.self_care,
        household_id=current,
        version=p.version,
    )


def _organisation_out(o: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=o.pk,
        name=o.name,
        uscc=o.uscc,
        org_type=o.org_type,
        region_code=o.region_id,
        address=o.address,
        legal_representative=o.legal_representative,
        phone_masked=mask_phone(o.phone),
        version=o.version,
    )


@router.get(
    "/search", response=SearchOut, summary="按姓名或住址（任意部分）、公民身份号码（完整或末4–6位）或户编号查询"
)
def search(request, q: str = ""):
    result = queries.search(request.user, q)
    return SearchOut(
        kind=result.kind,
        message=result.message,
        persons=[PersonMasked.from_person(p) for p in result.persons[:200]],
        households=[
            HouseholdSummary(
                id=h.pk,
                number=h.number,
                region_code=h.region_id,
                head_name=h.head.name if h.head else "",
                head_id_number_masked=mask_id_number(h.head.id_number) if h.head else "",
                size=h.size,
                area_type=h.area_type,
            )
            for h in result.households[:200]
        ],
    )


@router.post("/households", response={201: HouseholdOut}, summary="登记家庭及其成员")
def create_household(request, payload: HouseholdCreate):
    household = services.create_household(request.user, payload.to_data(payload.members))
    return Status(201, _household_out(household))


@router.get("/households/{household_id}", response=HouseholdOut, summary="家庭详情（查看记入审计日志）")
def get_household(request, household_id: Id):
    return _household_out(services.view_household(request.user, household_id))


@router.put("/households/{household_id}", response=HouseholdOut, summary="修改家庭信息")
def update_household(request, household_id: Id, payload: HouseholdUpdate):
    household = Household.objects.get_for_user(request.user, pk=household_id)
    household = services.update_household(request.user, household, payload.to_data(), payload.version)
    return _household_out(household)


@router.post("/households/{household_id}/members", response={201: HouseholdOut}, summary="新增家庭成员")
def add_member(request, household_id: Id, payload: MemberIn):
    household = Household.objects.get_for_user(request.user, pk=household_id)
    member = services.MemberData(
        payload.relationship, payload.person.to_data() if payload.person else None, payload.person_id
    )
    services.add_member(request.user, household, member)
    return Status(201, _household_out(household))


@router.post("/households/{household_id}/members/{person_id}/leave", response=HouseholdOut, summary="成员迁出")
def leave(request, household_id: Id, person_id: Id, payload: LeaveIn):
    household = Household.objects.get_for_user(request.user, pk=household_id)
    services.remove_member(request.user, household, person_id, payload.reason)
    return _household_out(household)


@router.get("/persons/{person_id}", response=PersonFull, summary="人员详情（含完整身份号码，查看记入审计日志）")
def get_person(request, person_id: Id):
    return _person_full(services.view_person(request.user, person_id))


@router.put("/persons/{person_id}", response=PersonFull, summary="修改人员信息")
def update_person(request, person_id: Id, payload: PersonUpdate):
    person = Person.objects.get_for_user(request.user, pk=person_id)
    data = services.PersonData(**payload.dict(exclude={"version"}))
    return _person_full(services.update_person(request.user, person, data, payload.version))


@router.post("/persons/{person_id}/move", response=HouseholdOut, summary="迁移到另一个家庭（保留历史）")
def move(request, person_id: Id, payload: MoveIn):
    target = Household.objects.get_for_user(request.user, pk=payload.to_household_id)
    services.move_person(request.user, person_id, target, payload.relationship, payload.reason)
    return _household_out(target)


@router.get("/organisations", response=list[OrganisationOut], summary="组织机构列表")
def list_organisations(request, q: str = ""):
    return [_organisation_out(o) for o in queries.organisations(request.user, q)[:200]]


@router.post("/organisations", response={201: OrganisationOut}, summary="登记组织机构")
def create_organisation(request, payload: OrganisationIn):
    organisation = services.create_organisation(request.user, services.OrganisationData(**payload.dict()))
    return Status(201, _organisation_out(organisation))

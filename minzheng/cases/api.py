"""Cases API: thin handlers over the case services. Scope and roles are enforced there; out of scope reads as missing."""

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from minzheng.core.errors import DomainError
from minzheng.core.ids import Cursor, Id, Version
from minzheng.core.masking import mask_id_number, mask_name

from . import eventlog, investigations, procedure, queries, services
from . import workflows as wf
from .models import Case, CaseMaterial
from .uploads import record_material_upload

router = Router(tags=["受理与办理"])

# A case's history grows (objections under public notice): the case itself carries its latest events, the rest are
# read a page at a time from /events, so no response grows with the history.
RECENT_EVENTS = 30
MAX_EVENTS_PAGE = 200

# Keyword arguments of services.act itself: never taken from the client's data (`today` would backdate the step).
RESERVED_DATA_KEYS = frozenset({"user", "case_id", "action", "expected_version", "today"})


# ---------------------------------------------------------------- schemas


class CaseCreate(Schema):
    household_id: Id
    service_code: str
    applicant_id: Id
    channel: str = Field(..., description="window（窗口受理）/ online（网上申请）/ proxy（代办）")
    received: list[str] = Field(default_factory=list, description="已收取的材料编码")
    authorisation_signed: bool = False
    pledge_signed: bool = False
    entrusted_name: str = ""
    entrusted_id_number: str = ""
    note: str = ""


class MaterialUpload(Schema):
    file_name: str
    file_size: int = Field(..., description="字节数，大于0且不超过50 MB")
    sha256: str = Field(..., description="文件的SHA-256摘要（64位十六进制）")
    content_type: str = Field(..., description="application/pdf、image/jpeg 或 image/png")


class ActionIn(Schema):
    version: Version | None = Field(None, description="客户端所见的案件版本号；与当前版本不符时返回409")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "该环节的办理内容，如意见、金额、理由；拟批准、批准时金额与核对测算金额不一致须填 amount_reason，"
            "核对结果不符合、无法判断或已过时须填越过核对结果的理由 override_reasons"
        ),
    )


class FindingOut(Schema):
    person_id: int
    name: str = Field(..., description="成员姓名（脱敏）")
    kind: str
    kind_label: str
    item: str
    monthly_amount: Decimal
    note: str


class InvestigationOut(Schema):
    id: int
    visited_on: datetime.date
    investigators: list[str]
    findings: str
    signature: str = Field(..., description="confirmed（家庭已签字确认）/ refused（家庭拒绝签字）")
    signature_label: str
    signed_on: datetime.date
    signature_note: str
    declarations: list[FindingOut]


class ServiceOut(Schema):
    code: str
    name: str


class HouseholdRef(Schema):
    id: int
    size: int


class ApplicantOut(Schema):
    name_masked: str
    id_number_masked: str


class EventOut(Schema):
    seq: int
    on: datetime.date
    action: str
    from_state: str
    to_state: str
    actor: str
    data: dict[str, Any]
    note: str


class EventPage(Schema):
    items: list[EventOut] = Field(..., description="按序号升序")
    total: int = Field(..., description="办理记录总条数")
    next_before: int | None = Field(None, description="更早一页的 before 参数；为空表示没有更早的记录")


class DeadlineOut(Schema):
    code: str
    label: str
    started_on: datetime.date
    days: int
    unit: str
    due: datetime.date
    provisional: bool
    basis: str
    met_on: datetime.date | None
    overdue: bool
    informational: bool


class ActionOut(Schema):
    code: str
    label: str


class MaterialOut(Schema):
    code: str
    name: str
    required: bool
    shared_from: str
    received: bool
    received_on: datetime.date | None
    file_name: str
    file_size: int | None
    sha256: str
    content_type: str


class CaseOut(Schema):
    id: int
    number: str
    service: ServiceOut
    state: str
    state_label: str
    household: HouseholdRef
    applicant: ApplicantOut
    region_code: str
    channel: str
    channel_label: str
    conflict_of_interest: bool
    spot_check_selected: bool
    submitted_on: datetime.date
    accepted_on: datetime.date | None
    decided_on: datetime.date | None
    proposed_amount: str | None = Field(None, description="拟救助金额（元/月），两位小数")
    decided_amount: str | None = Field(None, description="核定金额（元/月），两位小数")
    start_month: datetime.date | None
    current_step: str
    current_due: datetime.date | None
    due_provisional: bool
    version: int
    missing_materials: list[str]
    materials: list[MaterialOut]
    events: list[EventOut] = Field(
        ..., description=f"最近的{RECENT_EVENTS}条办理记录（按序号升序）；更早的记录用 GET /cases/{{id}}/events 翻页"
    )
    events_total: int = Field(..., description="办理记录总条数")
    deadlines: list[DeadlineOut]
    actions: list[ActionOut]


class QueueItem(Schema):
    id: int
    number: str
    service_name: str
    applicant_name_masked: str
    household_size: int
    state: str
    state_label: str
    current_step: str
    current_due: datetime.date | None
    due_provisional: bool
    village: str
    overdue: bool
    overdue_days: int | None = Field(None, description="已超期的工作日数")
    due_soon: bool
    days_left: int | None = Field(None, description="临期时剩余的工作日数")


class QueueOut(Schema):
    items: list[QueueItem]
    total: int
    overdue: int
    due_soon: int
    due_soon_days: int
    today: datetime.date
    next_cursor: str = Field(..., description="下一页的 after 参数；为空表示没有更多")
    notes: list[str]


# ---------------------------------------------------------------- building responses


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _material_out(row: CaseMaterial) -> MaterialOut:
    return MaterialOut(
        code=row.material.code,
        name=row.material.name,
        required=row.material.required,
        shared_from=row.material.shared_from,
        received=row.received,
        received_on=row.received_on,
        file_name=row.file_name,
        file_size=row.file_size,
        sha256=row.file_sha256,
        content_type=row.content_type,
    )


def _event_out(e) -> EventOut:
    return EventOut(
        seq=e.seq,
        on=e.on,
        action=e.action,
        from_state=e.from_state,
        to_state=e.to_state,
        actor=e.actor.get_username(),
        data=e.data or {},
        note=e.note,
    )


def _latest_events(case: Case, limit: int, before: int = 0) -> list:
    """Up to `limit` of the case's latest events (with a seq below `before`, if given), oldest first."""
    qs = case.events.select_related("actor").order_by("-seq")
    if before:
        qs = qs.filter(seq__lt=before)
    events = list(qs[:limit])
    events.reverse()
    return events


def _case_out(user, case: Case) -> CaseOut:
    today = timezone.localdate()
    events = _latest_events(case, RECENT_EVENTS)
    materials = case.materials.select_related("material").order_by("material__order", "material_id")
    return CaseOut(
        id=case.pk,
        number=case.number,
        service=ServiceOut(code=case.service.code, name=case.service.name),
        state=case.state,
        state_label=wf.STATE_LABELS.get(case.state, case.state),
        household=HouseholdRef(id=case.household_id, size=services.household_size(case)),
        applicant=ApplicantOut(
            name_masked=mask_name(case.applicant.name), id_number_masked=mask_id_number(case.applicant.id_number)
        ),
        region_code=case.region_id,
        channel=case.channel,
        channel_label=case.get_channel_display(),
        conflict_of_interest=case.conflict_of_interest,
        spot_check_selected=case.spot_check_selected,
        submitted_on=case.submitted_on,
        accepted_on=case.accepted_on,
        decided_on=case.decided_on,
        proposed_amount=_amount(case.proposed_amount),
        decided_amount=_amount(case.decided_amount),
        start_month=case.start_month,
        current_step=case.current_step,
        current_due=case.current_due,
        due_provisional=case.due_provisional,
        version=case.version,
        missing_materials=procedure.missing_materials(case),
        materials=[_material_out(m) for m in materials],
        events=[_event_out(e) for e in events],
        events_total=case.events.count() if len(events) == RECENT_EVENTS else len(events),
        deadlines=[
            DeadlineOut(
                code=s.code,
                label=s.label,
                started_on=s.started_on,
                days=s.days,
                unit=s.unit,
                due=s.deadline.due,
                provisional=s.deadline.provisional,
                basis=s.deadline.basis,
                met_on=s.met_on,
                overdue=s.overdue(today),
                informational=s.informational,
            )
            for s in eventlog.deadlines(case)
        ],
        actions=[ActionOut(code=a.code, label=a.label) for a in services.available_actions(user, case)],
    )


def _fresh(case_id: int) -> Case:
    """The case as stored, after a service changed it (the service has already checked scope)."""
    return Case.objects.select_related("service", "applicant").get(pk=case_id)


# ---------------------------------------------------------------- endpoints


@router.get("/queue", response=QueueOut, summary="待办队列：本角色下一步办理的案件，按当前环节截止日期排序")
def queue(request, service: str = "", state: str = "", overdue_only: bool = False, after: str = ""):
    result = queries.work_queue(
        request.user, queries.QueueFilters(service=service, state=state, overdue_only=overdue_only, after=after)
    )
    return QueueOut(
        items=[
            QueueItem(
                id=row.pk,
                number=row.number,
                service_name=row.service,
                applicant_name_masked=row.applicant,
                household_size=row.household_size,
                state=row.state,
                state_label=row.state_label,
                current_step=row.step,
                current_due=row.due,
                due_provisional=row.due_provisional,
                village=row.village,
                overdue=row.overdue,
                overdue_days=row.overdue_days,
                due_soon=row.due_soon,
                days_left=row.days_left,
            )
            for row in result.rows
        ],
        total=result.total,
        overdue=result.overdue,
        due_soon=result.due_soon,
        due_soon_days=result.due_soon_days,
        today=result.today,
        next_cursor=result.next_cursor,
        notes=result.notes,
    )


@router.post("", response={201: CaseOut}, summary="受理申请（材料齐全即受理，否则待补齐材料）")
def create_case(request, payload: CaseCreate):
    case = services.open_application(request.user, **payload.dict())
    return Status(201, _case_out(request.user, _fresh(case.pk)))


@router.get("/{case_id}", response=CaseOut, summary="案件详情：办理记录、时限与可办理环节（查看记入审计日志）")
def get_case(request, case_id: Id):
    return _case_out(request.user, services.view_case(request.user, case_id))


@router.get(
    "/{case_id}/events",
    response=EventPage,
    summary="案件的办理记录，从最新往前翻页（before：上一页返回的 next_before；查看记入审计日志）",
)
def list_events(request, case_id: Id, before: Cursor = 0, limit: int = 50):
    case = services.view_case(request.user, case_id)
    events = _latest_events(case, max(1, min(limit, MAX_EVENTS_PAGE)), before)
    oldest = events[0].seq if events else None
    return EventPage(
        items=[_event_out(e) for e in events],
        total=case.events.count(),
        next_before=oldest if oldest is not None and case.events.filter(seq__lt=oldest).exists() else None,
    )


@router.get(
    "/{case_id}/investigations",
    response=list[InvestigationOut],
    summary="案件的入户调查记录及认定事项（查看记入审计日志；登记请用 actions/record_visit）",
)
def list_investigations(request, case_id: int):
    case = services.view_case(request.user, case_id)
    return [
        InvestigationOut(
            id=i.pk,
            visited_on=i.visited_on,
            investigators=[u.display_name for u in i.investigators.all()],
            findings=i.findings,
            signature=i.signature,
            signature_label=i.get_signature_display(),
            signed_on=i.signed_on,
            signature_note=i.signature_note,
            declarations=[
                FindingOut(
                    person_id=d.person_id,
                    name=mask_name(d.person.name),
                    kind=d.kind,
                    kind_label=d.get_kind_display(),
                    item=d.item,
                    monthly_amount=d.monthly_amount,
                    note=d.note,
                )
                for d in i.declarations.all()
            ],
        )
        for i in investigations.of_case(case)
    ]


@router.put("/{case_id}/materials/{material_code}", response=MaterialOut, summary="登记上传材料的文件信息")
def upload_material(request, case_id: Id, material_code: str, payload: MaterialUpload):
    row = record_material_upload(request.user, case_id, material_code, **payload.dict())
    return _material_out(row)


@router.post("/{case_id}/actions/{action}", response=CaseOut, summary="办理一个环节")
def act(request, case_id: Id, action: str, payload: ActionIn):
    reserved = sorted(RESERVED_DATA_KEYS & payload.data.keys())
    if reserved:
        raise DomainError(f"办理内容不能包含：{'、'.join(reserved)}", "invalid_data", field="data")
    case = services.act(request.user, case_id, action, expected_version=payload.version, **payload.data)
    return _case_out(request.user, _fresh(case.pk))

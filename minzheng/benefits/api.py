"""/api/v1/benefits: entitlements and rolls (read), and the bank's return upload — scoped to the caller's region,
names and accounts masked, every read of personal data and every upload audited."""

import datetime
from decimal import Decimal

from ninja import File, Router, Schema
from ninja.files import UploadedFile

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.ids import Cursor, Id
from minzheng.core.masking import mask_account, mask_id_number, mask_name

from . import bankfiles, selectors, settlement
from .models import Entitlement, PaymentLine, PaymentRoll

router = Router(tags=["救助待遇与资金发放"])
LIMIT = 500


NOT_STARTED = "not_started"


class ChangeOut(Schema):
    effective_from: datetime.date
    status: str
    amount: str


class EntitlementOut(Schema):
    id: int
    benefit: str
    benefit_name: str
    household: str
    person_name_masked: str
    region_code: str
    status: str
    amount: str
    breakdown: list[dict]
    start_month: datetime.date
    end_month: datetime.date | None
    decision: str
    next_review: datetime.date | None
    upcoming: list[ChangeOut]


class RollOut(Schema):
    id: int
    county_code: str
    benefit: str
    title: str
    month: datetime.date
    kind: str
    state: str
    lines: int
    held: int
    total: str
    paid: str
    failed: int
    lines_hash: str


class LineOut(Schema):
    id: int
    region_code: str
    recipient_name_masked: str
    recipient_id_masked: str
    month: datetime.date
    kind: str
    amount: str
    account_masked: str
    state: str
    hold_reasons: list[str]
    bank_reason: str


class RollDetail(RollOut):
    lines_page: list[LineOut]
    next_after: int | None


class ReturnOut(Schema):
    roll: int
    lines_paid: int
    lines_failed: int
    paid: str


def _roll(r: PaymentRoll) -> dict:
    return {
        "id": r.pk,
        "county_code": r.county_id,
        "benefit": r.benefit,
        "title": r.title,
        "month": r.month,
        "kind": r.kind,
        "state": r.state,
        "lines": r.lines_count,
        "held": r.held_count,
        "total": str(r.total),
        "paid": str(r.paid),
        "failed": r.failed_count,
        "lines_hash": r.lines_hash,
    }


@router.get(
    "/entitlements",
    response=list[EntitlementOut],
    summary="救助待遇列表（按户、区划；状态与金额为本月执行的，upcoming 为已决定的后续变更）",
)
def entitlements(request, household: Id | None = None, benefit: str = "", status: str = "", after: Cursor = 0):
    require(request.user, Capability.VIEW_PAYMENTS)
    qs = Entitlement.objects.for_user(request.user).select_related("person", "last_decision").order_by("id")
    if household is not None:
        qs = qs.filter(household_id=household)
    if benefit:
        qs = qs.filter(benefit=benefit)
    if status:  # what is in force this month, as `status` below says
        qs = qs.annotate(status_now=selectors.status_in_force(selectors.this_month()))
        qs = qs.filter(status_now__isnull=True) if status == NOT_STARTED else qs.filter(status_now=status)
    if after:
        qs = qs.filter(pk__gt=after)
    rows = selectors.in_force(list(qs[:LIMIT]))
    audit.record(
        audit.Action.SEARCH,
        user=request.user,
        object_type="entitlement",
        label="API 救助待遇列表",
        region_code=request.user.region_id,
        detail={"household": household, "rows": len(rows)},
    )
    return [_entitlement_out(e) for e in rows]


def _entitlement_out(e: Entitlement) -> dict:
    """As the household page reads it: the status in force this month ("not_started" before the first month paid),
    the amount and its parts paid this month (0 when nothing is), and the changes already decided."""
    paid_now = e.now is not None and e.now.paid
    return {
        "id": e.pk,
        "benefit": e.benefit,
        "benefit_name": e.benefit_name,
        "household": f"H{e.household_id:09d}",
        "person_name_masked": mask_name(e.person.name) if e.person_id else "",
        "region_code": e.region_id,
        "status": e.now.status if e.now else NOT_STARTED,
        "amount": str(e.now.amount if paid_now else Decimal("0.00")),
        "breakdown": e.now.breakdown if paid_now else [],
        "start_month": e.start_month,
        "end_month": e.end_month,
        "decision": e.last_decision.number,
        "next_review": e.next_review,
        "upcoming": [
            {"effective_from": v.effective_from, "status": v.status, "amount": str(v.amount)} for v in e.upcoming
        ],
    }


@router.get("/rolls", response=list[RollOut], summary="发放名册列表")
def roll_list(request, month: datetime.date | None = None):
    require(request.user, Capability.VIEW_PAYMENTS)
    qs = PaymentRoll.objects.for_user(request.user)
    if month:
        qs = qs.filter(month=month.replace(day=1))
    return [_roll(r) for r in qs[:LIMIT]]


@router.get("/rolls/{roll_id}", response=RollDetail, summary="发放名册及明细（脱敏，按流水号分页）")
def roll_detail(request, roll_id: Id, after: Cursor = 0):
    require(request.user, Capability.VIEW_PAYMENTS)
    roll = PaymentRoll.objects.get_for_user(request.user, pk=roll_id)
    lines = list(PaymentLine.objects.filter(roll=roll, pk__gt=max(after, 0)).order_by("id")[: LIMIT + 1])
    audit.record(audit.Action.VIEW, user=request.user, obj=roll, detail={"api": True, "after": after})
    page = lines[:LIMIT]
    return {
        **_roll(roll),
        "lines_page": [
            {
                "id": x.pk,
                "region_code": x.region_id,
                "recipient_name_masked": mask_name(x.recipient_name),
                "recipient_id_masked": mask_id_number(x.recipient_id_number),
                "month": x.month,
                "kind": x.kind,
                "amount": str(x.amount),
                "account_masked": mask_account(x.bank_account),
                "state": x.state,
                "hold_reasons": x.hold_labels,
                "bank_reason": x.bank_reason,
            }
            for x in page
        ],
        "next_after": page[-1].pk if len(lines) > LIMIT else None,
    }


@router.post("/rolls/{roll_id}/returns", response=ReturnOut, summary="上传银行回盘文件（全部校验通过才导入）")
def upload_return(request, roll_id: Id, file: UploadedFile = File(...)):  # noqa: B008
    if file.size and file.size > bankfiles.MAX_RETURN_BYTES:
        raise DomainError("回盘文件过大，未导入任何结果", "invalid_return")
    result = settlement.import_return(request.user, roll_id, file.read(), file.name or "")
    return {
        "roll": result.roll_id,
        "lines_paid": result.lines_paid,
        "lines_failed": result.lines_failed,
        "paid": str(result.paid_fen / 100),
    }

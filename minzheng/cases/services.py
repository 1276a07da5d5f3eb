"""Case operations: the only code that changes cases. Each action is validated against the workflow, the actor's
role and scope and the case's version (optimistic locking), appended as an event, audited, and the cached state and
current deadline are refreshed in the same transaction."""

import datetime
import hashlib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError, PermissionDeniedError
from minzheng.core.workdays import WorkingCalendar
from minzheng.policy.models import ServiceItem
from minzheng.policy.parameters import group, resolve
from minzheng.regions import codes as region_codes
from minzheng.registry.identifiers import parse_identity_number
from minzheng.registry.models import Household, Membership, Person

from . import checking
from . import workflows as wf
from .deadlines import clock_statuses, current
from .models import Case, CaseEvent, CaseMaterial, Channel, InterestDeclaration, Referral

CENT = Decimal("0.01")


# ---------------------------------------------------------------- helpers


def _money(raw, label: str = "金额") -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label}应为数字", "invalid_amount", field="amount") from None
    if not value.is_finite() or value <= 0:
        raise DomainError(f"{label}应大于0", "invalid_amount", field="amount")
    if value > Decimal("1000000"):
        raise DomainError(f"{label}过大，请核对", "invalid_amount", field="amount")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _text(raw, label: str, field: str = "note") -> str:
    value = "" if raw is None or isinstance(raw, list | dict) else str(raw).strip()
    if not value:
        raise DomainError(f"请填写{label}", "required", field=field)
    return value[:2000]


def _date(raw, label: str, today: datetime.date) -> datetime.date:
    if isinstance(raw, datetime.date):
        value = raw
    else:
        try:
            value = datetime.date.fromisoformat(str(raw))
        except ValueError:
            raise DomainError(f"{label}格式不正确", "invalid_date") from None
    if value > today:
        raise DomainError(f"{label}不能晚于今天", "invalid_date")
    return value


def _confirm_role(case: Case) -> str:
    level = (case.parameters or {}).get("confirm_level", {}).get("value", "county")
    return "township_reviewer" if level == "township" else "county_approver"


def _can_act(user, case: Case, action: wf.Action) -> bool:
    actors = {_confirm_role(case)} if action.actors == wf.CONFIRM else action.actors
    return user.role in actors


def workflow_of(case: Case) -> wf.Workflow:
    workflow = wf.WORKFLOWS.get(case.service.workflow)
    if workflow is None:
        raise DomainError(f"“{case.service.name}”暂未在平台内全流程办理，请转办", "no_workflow")
    return workflow


def available_actions(user, case: Case) -> list[wf.Action]:
    workflow = wf.WORKFLOWS.get(case.service.workflow)
    if workflow is None:
        return []
    return [a for a in workflow.allowed(case.state) if _can_act(user, case, a)]


# Catalogue material codes that stand for the applicant's signatures (DB §9): ticking one sets the case's flag.
SIGNATURES = {"authorisation": "authorisation_signed", "pledge": "pledge_signed"}


def missing_materials(case: Case) -> list[str]:
    """What the applicant must still provide: the item's required materials that no department can supply (the
    signed authorisation and pledge among them, where the item asks for them)."""
    return [
        m.material.name
        for m in case.materials.select_related("material").order_by("material__order")
        if m.material.required and m.material.demandable and not m.received
    ]


def _with_signatures(codes: set[str], authorisation: bool, pledge: bool) -> set[str]:
    return codes | {code for code, signed in (("authorisation", authorisation), ("pledge", pledge)) if signed}


def _conflicts(household: Household) -> list[InterestDeclaration]:
    numbers = Membership.objects.filter(household=household, left_on__isnull=True).values("person__id_number")
    low, high = region_codes.subtree_range(household.region_id[:6].ljust(12, "0"))  # declarations of the county
    declared = InterestDeclaration.objects.filter(id_number__in=numbers, active=True)
    return list(declared.filter(region_id__gte=low, region_id__lte=high))


# ---------------------------------------------------------------- intake


def open_application(
    user,
    *,
    household_id: int,
    service_code: str,
    applicant_id: int,
    channel: str,
    received: list[str] | None = None,
    authorisation_signed: bool = False,
    pledge_signed: bool = False,
    entrusted_name: str = "",
    entrusted_id_number: str = "",
    note: str = "",
    today: datetime.date | None = None,
    due_on: datetime.date | None = None,
) -> Case:
    """Register an application at the window (or online, or by a village assistant on the household's behalf).

    If every material the applicant must provide is there, the case is accepted at once; otherwise it waits in
    `pending` for the one-time notice of missing materials. `due_on` is a deadline set from outside the procedure
    (a 复核 after a member's death); the procedures with such a limit show it as one of the case's clocks.
    """
    require(user, Capability.EDIT_PEOPLE)
    today = _date(today, "申请日期", timezone.localdate()) if today else timezone.localdate()
    household = Household.objects.select_related("region").get_for_user(user, pk=household_id)
    service = ServiceItem.objects.filter(code=service_code, active=True).first()
    if service is None:
        raise DomainError("请选择服务事项", "unknown_service", field="service")
    if channel not in Channel.values:
        raise DomainError("请选择申请渠道", "invalid_channel", field="channel")
    if channel == Channel.ONLINE and not service.online:
        raise DomainError(f"“{service.name}”不支持网上申请", "not_online", field="channel")
    member = Membership.objects.filter(household=household, person_id=applicant_id, left_on__isnull=True).first()
    if member is None:
        raise DomainError("申请人须为本户现有成员", "applicant_not_member", field="applicant")
    if channel == Channel.PROXY:
        entrusted_name = _text(entrusted_name, "受托人姓名", "entrusted_name")
        entrusted_id_number = parse_identity_number(entrusted_id_number).number
    else:
        entrusted_name = entrusted_id_number = ""
    known = {m.code: m for m in service.materials.all()}
    codes = set(received or [])
    unknown = codes - set(known)
    codes = _with_signatures(codes, authorisation_signed, pledge_signed) & set(known)
    if unknown:
        raise DomainError(f"材料编码不正确：{'、'.join(sorted(unknown))}", "unknown_material", field="materials")
    duplicate = Case.objects.filter(household=household, service=service).exclude(state__in=wf.FINAL_STATES).first()
    if duplicate is not None:
        raise Conflict(
            f"该家庭已有在办的“{service.name}”申请（{duplicate.number}），请勿重复申请",
            "duplicate_case",
            existing_id=duplicate.pk,
        )
    conflicts = _conflicts(household)
    try:
        with transaction.atomic():
            case = Case.objects.create(
                number=f"TMP-{timezone.now().timestamp()}-{user.pk}",
                service=service,
                household=household,
                applicant_id=applicant_id,
                region=household.region,
                channel=channel,
                entrusted_name=entrusted_name,
                entrusted_id_number=entrusted_id_number,
                authorisation_signed="authorisation" in codes,
                pledge_signed="pledge" in codes,
                conflict_of_interest=bool(conflicts),
                conflict_note="；".join(f"{c.name}：{c.get_kind_display()}，{c.related_to}" for c in conflicts)[:300],
                submitted_on=today,
                state="",  # the submit event below moves it into `pending`, so the log reads "— → 待补齐材料"
                created_by=user,
            )
            case.number = f"MZ{today:%Y}{case.pk:07d}"
            case.save(update_fields=["number"])
            CaseMaterial.objects.bulk_create(
                CaseMaterial(
                    case=case,
                    material=m,
                    received=m.code in codes or not m.demandable,
                    received_on=today if m.code in codes else None,
                )
                for m in known.values()
            )
            submitted = {"channel": channel, "received": sorted(codes)}
            if due_on is not None:  # may already have passed: a late 复核 must still be opened, and shows overdue
                submitted["due_on"] = due_on.isoformat()
            _append(case, user, "submit", wf.PENDING, today, submitted, note)
            if conflicts:
                _append(
                    case,
                    user,
                    "register_conflict",
                    wf.PENDING,
                    today,
                    {"declarations": [c.pk for c in conflicts]},
                    "申请家庭成员为经办人员或村（居）委会成员的近亲属，单独登记备案",
                )
            audit.record(audit.Action.CREATE, user=user, obj=case)
            if workflow_of_or_none(service) is None:
                # 一门受理: the window accepts every item and hands the ones not run here to the office that decides them.
                _append(
                    case,
                    user,
                    "transfer",
                    wf.TRANSFERRED,
                    today,
                    {"to": service.get_deciding_level_display(), "missing": missing_materials(case)},
                    note,
                )
            elif not missing_materials(case):
                _do_accept(case, user, today, "")
            _refresh(case)
            return case
    except IntegrityError:  # a simultaneous application for the same item won the race (one_open_case_per_item)
        raise Conflict(f"该家庭已有在办的“{service.name}”申请，请勿重复申请", "duplicate_case") from None


def workflow_of_or_none(service: ServiceItem):
    return wf.WORKFLOWS.get(service.workflow)


def _do_accept(case: Case, user, on: datetime.date, note: str) -> None:
    missing = missing_materials(case)
    if missing:
        raise DomainError(f"材料不齐，不能受理。尚缺：{'、'.join(missing)}", "materials_missing")
    snapshot = {k: v.as_record() for k, v in group(case.service.parameter_group, case.region_id, on).items()}
    case.parameters = snapshot
    case.accepted_on = on
    _append(case, user, "accept", wf.ACCEPTED, on, {}, note)


# ---------------------------------------------------------------- actions


def act(
    user, case_id: int, action: str, *, expected_version: int | None = None, today: datetime.date | None = None, **data
) -> Case:
    """Take one workflow action on a case. Raises DomainError (nothing changed) when it is not allowed."""
    require(user, Capability.EDIT_PEOPLE)
    case = Case.objects.select_related("service", "household").get_for_user(user, pk=case_id)
    today = _action_date(case, today)
    workflow = workflow_of(case)
    step = workflow.actions.get(action)
    if step is None:
        raise DomainError(f"“{case.service.name}”没有“{action}”这一办理环节", "unknown_action")
    if case.state not in step.sources:
        raise DomainError(
            f"案件当前状态为“{wf.STATE_LABELS[case.state]}”，不能执行“{step.label}”", "illegal_transition"
        )
    if not _can_act(user, case, step):
        raise PermissionDeniedError(f"“{step.label}”须由{_actor_names(case, step)}办理", "forbidden")
    with transaction.atomic():
        # Optimistic lock, claimed first: of two officers acting on the same version only one gets the row.
        claimed = Case.objects.filter(
            pk=case.pk, version=case.version if expected_version is None else expected_version
        )
        if claimed.update(version=F("version") + 1) != 1:
            raise Conflict("案件已被他人办理，请刷新后重试", "stale_version")
        case.version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
        handler = _HANDLERS[action]
        target, payload, note = handler(case, user, workflow, today, data)
        _append(case, user, action, target or case.state, today, payload, note)
        _refresh(case)
        audit.record(audit.Action.UPDATE, user=user, obj=case, detail={"action": action, "state": case.state})
    return case


def _visit_date(data: dict, on: datetime.date, label: str) -> datetime.date:
    """A home visit happens on or before the day the step is recorded as taken (不填为办理日期)."""
    raw = data.get("visit_date")
    if raw in (None, ""):
        return on
    visit = _date(raw, label, timezone.localdate())
    if visit > on:
        raise DomainError(f"{label}不能晚于办理日期（{on:%Y-%m-%d}）", "invalid_date", field="visit_date")
    return visit


def _action_date(case: Case, on: datetime.date | str | None) -> datetime.date:
    """The date the step was taken (办理日期): today by default; an earlier date records paper-first work after the
    fact (the event keeps the time it was recorded too), but never before the case's previous step."""
    real_today = timezone.localdate()
    if on in (None, ""):
        return real_today
    on = _date(on, "办理日期", real_today)
    last = case.events.order_by("-seq").values_list("on", flat=True).first()
    if last and on < last:
        raise DomainError(f"办理日期不能早于上一环节的日期（{last:%Y-%m-%d}）", "invalid_date", field="on")
    return on


def _actor_names(case: Case, step: wf.Action) -> str:
    from minzheng.accounts.roles import Role

    actors = {_confirm_role(case)} if step.actors == wf.CONFIRM else step.actors
    return "、".join(Role(r).label for r in sorted(actors))


def _events(case: Case) -> list[CaseEvent]:
    return list(case.events.order_by("seq"))


def _has(case: Case, action: str, after_seq: int = 0) -> bool:
    return case.events.filter(action=action, seq__gt=after_seq).exists()


def _notify_missing(case, user, workflow, today, data):
    if _has(case, "notify_missing"):
        raise DomainError("一次性告知书已经出具过，不得再次要求申请人补充其他材料", "already_notified")
    missing = missing_materials(case)
    if not missing:
        raise DomainError("材料已齐全，无需出具一次性告知书，请直接受理", "nothing_missing")
    return None, {"missing": missing}, data.get("note", "")


def _complete_materials(case, user, workflow, today, data):
    codes = set(data.get("received") or [])
    rows = {m.material.code: m for m in case.materials.select_related("material")}
    unknown = codes - set(rows)
    if unknown:
        raise DomainError(f"材料编码不正确：{'、'.join(sorted(unknown))}", "unknown_material")
    codes = _with_signatures(codes, bool(data.get("authorisation_signed")), bool(data.get("pledge_signed"))) & set(rows)
    notified = case.events.filter(action="notify_missing").values_list("data", flat=True).first()
    for code in codes:
        row = rows[code]
        if not row.received:
            row.received, row.received_on = True, today
            row.save(update_fields=["received", "received_on"])
    for code, flag in SIGNATURES.items():
        if code in codes:
            setattr(case, flag, True)
    Case.objects.filter(pk=case.pk).update(
        authorisation_signed=case.authorisation_signed, pledge_signed=case.pledge_signed
    )
    payload = {
        "received": sorted(codes),
        "authorisation_signed": case.authorisation_signed,
        "pledge_signed": case.pledge_signed,
        "after_notice": bool(notified),
    }
    if data.get("accept") and not missing_materials(case):
        _append(case, user, "complete_materials", case.state, today, payload, data.get("note", ""))
        _do_accept(case, user, today, "")
        return wf.ACCEPTED, None, None
    return None, payload, data.get("note", "")


def _accept(case, user, workflow, today, data):
    _do_accept(case, user, today, data.get("note", ""))
    return wf.ACCEPTED, None, None  # _do_accept appended the event


def _reject_intake(case, user, workflow, today, data):
    return wf.NOT_ACCEPTED, {"reasons": _text(data.get("reasons"), "不予受理的理由", "reasons")}, data.get("note", "")


def _start_investigation(case, user, workflow, today, data):
    raw = data.get("investigators") or []
    if not isinstance(raw, list | tuple):
        raise DomainError("调查人员应逐人填写", "investigators", field="investigators")
    names = [str(n).strip() for n in raw if n and str(n).strip()]
    if len(set(names)) < 2:
        raise DomainError("入户调查须由2名以上工作人员进行，请填写调查人员", "investigators", field="investigators")
    return wf.INVESTIGATING, {"investigators": names}, data.get("note", "")


def _request_check(case, user, workflow, today, data):
    round_start = (
        case.events.filter(action__in=("start_investigation", "reinvestigate"))
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
        or 0
    )
    if _has(case, "request_check", after_seq=round_start):
        raise DomainError("本轮调查已提请信息核对，请等待核对结果", "already_requested")
    return None, {}, data.get("note", "")


def _record_check(case, user, workflow, today, data):
    """信息核对 (DB §17): the checking engine reads the departments' data under the household's authorisation and
    stores its verdict, reasons and evidence; the event links to that result. Where the data exchange is not available
    an officer may record a paper result instead (`manual`)."""
    if data.get("manual"):
        payload = {"summary": _text(data.get("summary"), "核对结果", "summary"), "manual": True}
        if data.get("per_capita_income") not in (None, ""):
            payload["per_capita_income"] = str(_nonnegative(data["per_capita_income"], "人均收入"))
        return None, payload, data.get("note", "")
    outcome = checking.run(case, user, workflow=workflow.code, today=today)
    payload = {
        "check_result": outcome.result_id,
        "verdict": outcome.verdict,
        "eligible": outcome.eligible,
        "amount": str(outcome.amount),
        "per_capita_income": str(outcome.per_capita_income),
        "summary": (data.get("summary") or "").strip() or outcome.verdict,
    }
    return None, payload, data.get("note", "")


def _nonnegative(raw, label: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label}应为数字", "invalid_amount") from None
    if not value.is_finite() or value < 0:
        raise DomainError(f"{label}不能为负数", "invalid_amount")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def self_care_tier(items: dict[str, bool]) -> str:
    """Six activities (DOMAIN.md §2): all achieved = 自理; ≤3 not achieved = partial; ≥4 not achieved = full loss."""
    activities = ("feeding", "dressing", "transfer", "toileting", "walking", "bathing")
    missing = [a for a in activities if a not in items]
    if missing:
        raise DomainError("生活自理能力评估须逐项填写六项活动", "self_care_items")
    failed = sum(1 for a in activities if not items[a])
    if failed == 0:
        return "self"
    return "partial" if failed <= 3 else "full"


def _assess_self_care(case, user, workflow, today, data):
    raw = data.get("items") or {}
    if not isinstance(raw, dict):
        raise DomainError("生活自理能力评估须逐项填写六项活动", "self_care_items")
    items = {k: bool(v) for k, v in raw.items()}
    return None, {"items": items, "tier": self_care_tier(items)}, data.get("note", "")


def _complete_investigation(case, user, workflow, today, data):
    if workflow.requires_self_care and not _has(case, "assess_self_care"):
        raise DomainError("特困人员认定须先完成生活自理能力评估", "self_care_required")
    visit = _visit_date(data, today, "入户调查日期")
    payload = {
        "visit_date": visit.isoformat(),
        "findings": _text(data.get("findings"), "调查情况", "findings"),
    }
    if data.get("per_capita_income") not in (None, ""):
        payload["per_capita_income"] = str(_nonnegative(data["per_capita_income"], "家庭人均收入"))
    return wf.FIRST_REVIEW, payload, data.get("note", "")


def _first_review(case, user, workflow, today, data):
    opinion = data.get("opinion")
    if opinion not in ("approve", "refuse"):
        raise DomainError("请选择初审意见：拟批准或拟不予批准", "opinion", field="opinion")
    payload = {"opinion": opinion}
    if opinion == "approve":
        amount = _money(data.get("amount"), "拟救助金额")
        payload["amount"] = str(amount)
        case.proposed_amount = amount
        Case.objects.filter(pk=case.pk).update(proposed_amount=amount)
    else:
        payload["reasons"] = _text(data.get("reasons"), "拟不予批准的理由", "reasons")
    # Only a proposed approval is posted for public supervision (DB §19); a proposed refusal goes to the deciding
    # level directly, without exposing the family on the notice board.
    target = wf.NOTICE if case.service.public_notice and opinion == "approve" else wf.COUNTY_REVIEW
    return target, payload, data.get("note", "")


def _open_objections(case) -> int:
    raised = case.events.filter(action="record_objection").count()
    closed = case.events.filter(action__in=("resolve_objection", "reinvestigate")).count()
    return raised - closed


def _record_objection(case, user, workflow, today, data):
    return (
        None,
        {
            "content": _text(data.get("content"), "异议内容", "content"),
            "raised_by": (data.get("raised_by") or "匿名").strip()[:50],
        },
        data.get("note", ""),
    )


def _resolve_objection(case, user, workflow, today, data):
    if _open_objections(case) <= 0:
        raise DomainError("没有待处理的异议", "no_objection")
    method = data.get("method")
    if method not in ("verified", "democratic_appraisal"):
        raise DomainError("请选择处理方式：核实或民主评议", "method", field="method")
    return (
        None,
        {"method": method, "result": _text(data.get("result"), "处理结果", "result"), "upheld": False},
        data.get("note", ""),
    )


def _reinvestigate(case, user, workflow, today, data):
    if _open_objections(case) <= 0:
        raise DomainError("没有待处理的异议", "no_objection")
    return wf.INVESTIGATING, {"upheld": True, "result": _text(data.get("result"), "异议核实情况", "result")}, ""


def _end_notice(case, user, workflow, today, data):
    start = case.events.filter(action="first_review").order_by("-seq").values_list("on", flat=True).first()
    days = int(case.parameters["notice_days"]["value"])
    ends = start + datetime.timedelta(days=days)
    if today < ends:
        raise DomainError(f"公示期{days}日，{ends:%Y年%m月%d日}期满后方可报送审核确认", "notice_running")
    if _open_objections(case) > 0:
        raise DomainError("公示期间有未处理的异议，请先处理异议", "objection_open")
    return wf.COUNTY_REVIEW, {"notice_from": start.isoformat(), "notice_to": ends.isoformat()}, data.get("note", "")


def _county_visit(case, user, workflow, today, data):
    visit = _visit_date(data, today, "入户核查日期")
    return None, {"visit_date": visit.isoformat(), "findings": _text(data.get("findings"), "核查情况", "findings")}, ""


def _spot_check(case, user, workflow, today, data):
    if not case.spot_check_selected:
        raise DomainError("该案件未被抽中，无需抽查", "not_selected")
    return None, {"findings": _text(data.get("findings"), "抽查情况", "findings")}, ""


def _decision_guards(case, workflow) -> None:
    if case.conflict_of_interest and not _has(case, "county_visit"):
        raise DomainError("近亲属备案案件须先由县级民政部门入户核查", "county_visit_required")
    if workflow.spot_check and case.spot_check_selected and not _has(case, "spot_check"):
        raise DomainError("该案件被抽中，须先完成县级抽查", "spot_check_required")


def _first_of_next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def _approve(case, user, workflow, today, data):
    _decision_guards(case, workflow)
    amount = _money(data.get("amount") or case.proposed_amount, "核定救助金额")
    pay_start = (case.parameters.get("pay_start") or {}).get("value", "next_month")
    start_month = case.submitted_on.replace(day=1) if pay_start == "application_month" else _first_of_next_month(today)
    case.decided_amount, case.decided_on, case.start_month = amount, today, start_month
    Case.objects.filter(pk=case.pk).update(decided_amount=amount, decided_on=today, start_month=start_month)
    return wf.APPROVED, {"amount": str(amount), "start_month": start_month.isoformat()}, data.get("note", "")


def _refuse(case, user, workflow, today, data):
    _decision_guards(case, workflow)
    reasons = _text(data.get("reasons"), "不予批准的理由", "reasons")
    case.decided_on = today
    Case.objects.filter(pk=case.pk).update(decided_on=today)
    return wf.REFUSED, {"reasons": reasons}, data.get("note", "")


def _deliver_refusal(case, user, workflow, today, data):
    if _has(case, "deliver_refusal"):
        raise DomainError("不予批准通知书已送达", "already_delivered")
    return None, {"method": (data.get("method") or "直接送达")[:50]}, data.get("note", "")


def _extend(case, user, workflow, today, data):
    if _has(case, "extend"):
        raise DomainError("办理时限已延长过一次", "already_extended")
    if "extend_to_wd" not in (case.parameters or {}):
        raise DomainError("该事项不适用延长办理时限", "not_extendable")
    return None, {"reason": _text(data.get("reason"), "延长理由", "reason")}, ""


def _withdraw(case, user, workflow, today, data):
    return wf.WITHDRAWN, {"reason": _text(data.get("reason"), "撤回原因", "reason")}, ""


def _pay_first(case, user, workflow, today, data):
    amount = _money(data.get("amount"), "先行救助金额")
    cap = resolve("temp_aid.township_approval_cap", case.region_id, today).value
    if cap not in ("", None) and amount > Decimal(str(cap)):
        raise DomainError(f"先行救助金额超过乡镇审批权限（{cap}元），须报县级审批", "over_cap", field="amount")
    if not case.parameters:
        case.parameters = {
            k: v.as_record() for k, v in group(case.service.parameter_group, case.region_id, today).items()
        }
        Case.objects.filter(pk=case.pk).update(parameters=case.parameters)
    case.decided_amount = amount
    Case.objects.filter(pk=case.pk).update(decided_amount=amount)
    return (
        wf.PAID_FIRST,
        {"amount": str(amount), "situation": _text(data.get("situation"), "急难情况", "situation")},
        "",
    )


def _complete_documents(case, user, workflow, today, data):
    missing = missing_materials(case)
    if missing:
        raise DomainError(f"手续尚未补齐：{'、'.join(missing)}", "materials_missing")
    case.decided_on = today
    Case.objects.filter(pk=case.pk).update(decided_on=today)
    return wf.APPROVED, {"amount": str(case.decided_amount)}, data.get("note", "")


_HANDLERS = {
    "notify_missing": _notify_missing,
    "complete_materials": _complete_materials,
    "accept": _accept,
    "reject_intake": _reject_intake,
    "start_investigation": _start_investigation,
    "request_check": _request_check,
    "record_check": _record_check,
    "assess_self_care": _assess_self_care,
    "complete_investigation": _complete_investigation,
    "first_review": _first_review,
    "record_objection": _record_objection,
    "resolve_objection": _resolve_objection,
    "reinvestigate": _reinvestigate,
    "end_notice": _end_notice,
    "county_visit": _county_visit,
    "spot_check": _spot_check,
    "approve": _approve,
    "refuse": _refuse,
    "deliver_refusal": _deliver_refusal,
    "extend": _extend,
    "withdraw": _withdraw,
    "pay_first": _pay_first,
    "complete_documents": _complete_documents,
}


# ---------------------------------------------------------------- event log and caches


def _append(case: Case, user, action: str, to_state: str, on: datetime.date, data, note) -> CaseEvent | None:
    if data is None:  # the handler appended its own events
        return None
    last = case.events.order_by("-seq").values_list("seq", flat=True).first() or 0
    event = CaseEvent.objects.create(
        case=case,
        seq=last + 1,
        action=action,
        from_state=case.state,
        to_state=to_state,
        on=on,
        actor=user,
        data=data,
        note=note or "",
    )
    if to_state != case.state:
        case.state = to_state
        if to_state == wf.COUNTY_REVIEW and wf.WORKFLOWS[case.service.workflow].spot_check:
            case.spot_check_selected = _select_for_spot_check(case, on)
        Case.objects.filter(pk=case.pk).update(state=to_state, spot_check_selected=case.spot_check_selected)
    return event


def _select_for_spot_check(case: Case, on: datetime.date) -> bool:
    """County spot check of 特困 cases (TK: ≥ spot_check_min): always select while the county's share this year is
    below the minimum, otherwise a draw with that probability, reproducible from the case number."""
    share = Decimal(str(case.parameters["spot_check_min"]["value"]))
    low, high = region_codes.subtree_range(case.region_id[:6].ljust(12, "0"))
    reviewed = (
        Case.objects.filter(
            service=case.service,
            region_id__gte=low,
            region_id__lte=high,
            events__to_state=wf.COUNTY_REVIEW,
            events__on__year=on.year,
        )
        .exclude(pk=case.pk)
        .distinct()
    )
    total = reviewed.count() + 1
    selected = reviewed.filter(spot_check_selected=True).count()
    if Decimal(selected) / total < share:
        return True
    draw = int(hashlib.sha256(case.number.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return Decimal(str(draw)) < share


def _refresh(case: Case) -> None:
    statuses = clock_statuses(case, _events(case))
    step = current(statuses) if case.state not in (wf.APPROVED, wf.WITHDRAWN, wf.NOT_ACCEPTED) else None
    case.current_step = step.label if step else ""
    case.current_due = step.deadline.due if step else None
    case.due_provisional = step.deadline.provisional if step else False
    Case.objects.filter(pk=case.pk).update(
        current_step=case.current_step,
        current_due=case.current_due,
        due_provisional=case.due_provisional,
        parameters=case.parameters,
        accepted_on=case.accepted_on,
    )


def deadlines(case: Case, calendar: WorkingCalendar | None = None):
    return clock_statuses(case, _events(case), calendar)


# ---------------------------------------------------------------- referrals


def refer(
    user,
    *,
    household_id: int,
    department: str,
    need: str,
    case_id: int | None = None,
    days: int = 10,
    today: datetime.date | None = None,
) -> Referral:
    """转办 a need outside civil affairs to the department concerned, with a working-day deadline for its reply."""
    require(user, Capability.EDIT_PEOPLE)
    today = today or timezone.localdate()
    household = Household.objects.get_for_user(user, pk=household_id)
    case = Case.objects.get_for_user(user, pk=case_id) if case_id else None
    if department not in Referral.Department.values:
        raise DomainError("请选择转办部门", "invalid_department", field="department")
    if not 1 <= int(days) <= 60:
        raise DomainError("回复期限应为1至60个工作日", "invalid_days", field="days")
    deadline = WorkingCalendar().add_working_days(today, int(days))
    with transaction.atomic():
        referral = Referral.objects.create(
            case=case,
            household=household,
            region=household.region,
            department=department,
            need=_text(need, "转办需求", "need"),
            referred_on=today,
            due=deadline.due,
            due_provisional=deadline.provisional,
            created_by=user,
        )
        audit.record(
            audit.Action.CREATE,
            user=user,
            object_type="referral",
            object_id=referral.pk,
            label=f"转办 {referral.get_department_display()}",
            region_code=household.region_id,
        )
    return referral


def record_referral_reply(user, referral_id: int, reply: str, today: datetime.date | None = None) -> Referral:
    require(user, Capability.EDIT_PEOPLE)
    referral = Referral.objects.get_for_user(user, pk=referral_id)
    if referral.replied_on:
        raise DomainError("该转办已登记回复", "already_replied")
    referral.reply = _text(reply, "部门回复", "reply")
    referral.replied_on = today or timezone.localdate()
    referral.save(update_fields=["reply", "replied_on"])
    audit.record(
        audit.Action.UPDATE,
        user=user,
        object_type="referral",
        object_id=referral.pk,
        label=f"转办回复 {referral.get_department_display()}",
        region_code=referral.region_id,
    )
    return referral


def view_case(user, case_id: int) -> Case:
    require(user, Capability.VIEW_PEOPLE)
    case = Case.objects.select_related("service", "household", "applicant", "region").get_for_user(user, pk=case_id)
    audit.record(audit.Action.VIEW, user=user, obj=case)
    return case


def household_size(case: Case) -> int:
    return Membership.objects.filter(household_id=case.household_id, left_on__isnull=True).count()


def applicant(case: Case) -> Person:
    return case.applicant

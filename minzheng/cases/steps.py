"""The steps of the case procedures: one handler per workflow action (the actions, their order, actors and clocks are
data in `workflows.py`). A handler validates the step's input and returns (new state or None, the event's data, the
note); `services.act` appends the event, refreshes the case and audits it, all in one transaction."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q

from minzheng.core.errors import DomainError
from minzheng.core.money import parse as parse_amount
from minzheng.core.months import add_months, first_of_month, first_of_next_month
from minzheng.policy.parameters import group, resolve

from . import checking, confirmation, eventlog, investigations, procedure, values
from . import workflows as wf
from .models import Case


def do_accept(case: Case, user, on: datetime.date, note: str) -> None:
    missing = procedure.missing_materials(case)
    if missing:
        raise DomainError(f"材料不齐，不能受理。尚缺：{'、'.join(missing)}", "materials_missing")
    snapshot = {k: v.as_record() for k, v in group(case.service.parameter_group, case.region_id, on).items()}
    case.parameters = snapshot
    case.accepted_on = on
    eventlog.append(case, user, "accept", wf.ACCEPTED, on, {}, note)


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


def decision_guards(case, workflow) -> None:
    if case.conflict_of_interest and not eventlog.has(case, "county_visit"):
        raise DomainError("近亲属备案案件须先由县级民政部门入户核查", "county_visit_required")
    if workflow.spot_check and case.spot_check_selected and not eventlog.has(case, "spot_check"):
        raise DomainError("该案件被抽中，须先完成县级抽查", "spot_check_required")


def _notify_missing(case, user, workflow, today, data):
    if eventlog.has(case, "notify_missing"):
        raise DomainError("一次性告知书已经出具过，不得再次要求申请人补充其他材料", "already_notified")
    missing = procedure.missing_materials(case)
    if not missing:
        raise DomainError("材料已齐全，无需出具一次性告知书，请直接受理", "nothing_missing")
    return None, {"missing": missing}, data.get("note", "")


def _complete_materials(case, user, workflow, today, data):
    codes = set(data.get("received") or [])
    rows = {m.material.code: m for m in case.materials.select_related("material")}
    unknown = codes - set(rows)
    if unknown:
        raise DomainError(f"材料编码不正确：{'、'.join(sorted(unknown))}", "unknown_material")
    codes = procedure.with_signatures(
        codes, bool(data.get("authorisation_signed")), bool(data.get("pledge_signed"))
    ) & set(rows)
    newly = {code for code in codes if not rows[code].received}
    if not newly:
        # Nothing ticked (or only what was already in the file): no success, no empty row in the case history.
        raise DomainError("未勾选本次补齐的材料，请勾选收到的材料后再提交", "nothing_received", field="received")
    notified = case.events.filter(action="notify_missing").values_list("data", flat=True).first()
    for code in codes:
        row = rows[code]
        if not row.received:
            row.received, row.received_on = True, today
            row.save(update_fields=["received", "received_on"])
    for code, flag in procedure.SIGNATURES.items():
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
    if data.get("accept") and not procedure.missing_materials(case):
        eventlog.append(case, user, "complete_materials", case.state, today, payload, data.get("note", ""))
        do_accept(case, user, today, "")
        return wf.ACCEPTED, None, None
    return None, payload, data.get("note", "")


def _accept(case, user, workflow, today, data):
    do_accept(case, user, today, data.get("note", ""))
    return wf.ACCEPTED, None, None  # do_accept appended the event


def _reject_intake(case, user, workflow, today, data):
    return (
        wf.NOT_ACCEPTED,
        {"reasons": values.text(data.get("reasons"), "不予受理的理由", "reasons")},
        data.get("note", ""),
    )


def _start_investigation(case, user, workflow, today, data):
    raw = data.get("investigators") or []
    if not isinstance(raw, list | tuple):
        raise DomainError("调查人员应逐人填写", "investigators", field="investigators")
    names = [str(n).strip() for n in raw if n and str(n).strip()]
    if len(set(names)) < 2:
        raise DomainError("入户调查须由2名以上工作人员进行，请填写调查人员", "investigators", field="investigators")
    return wf.INVESTIGATING, {"investigators": names}, data.get("note", "")


def _record_visit(case, user, workflow, today, data):
    return None, investigations.record(case, user, today, data), data.get("note", "")


def _request_check(case, user, workflow, today, data):
    round_start = (
        case.events.filter(action__in=("start_investigation", "reinvestigate"))
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
        or 0
    )
    if eventlog.has(case, "request_check", after_seq=round_start):
        raise DomainError("本轮调查已提请信息核对，请等待核对结果", "already_requested")
    return None, {}, data.get("note", "")


def _record_check(case, user, workflow, today, data):
    """信息核对 (DB §17): the checking engine reads the departments' data under the household's authorisation and
    stores its verdict, reasons and evidence; the event links to that result. Where the data exchange is not available
    an officer may record a paper result instead (`manual`)."""
    if data.get("manual"):
        payload = {"summary": values.text(data.get("summary"), "核对结果", "summary"), "manual": True}
        if data.get("per_capita_income") not in (None, ""):
            payload["per_capita_income"] = str(values.nonnegative(data["per_capita_income"], "人均收入"))
        return None, payload, data.get("note", "")
    outcome = checking.run(case, user, workflow=workflow.code, today=today)
    payload = {
        "check_result": outcome.result_id,
        "verdict": outcome.verdict,
        "verdict_code": outcome.code,
        "eligible": outcome.eligible,
        "amount": str(outcome.amount),
        "per_capita_income": str(outcome.per_capita_income),
        "breakdown": [list(row) for row in outcome.breakdown],
        # The summary is what the check found; an officer's words are kept beside it as a remark, never instead.
        "summary": outcome.verdict,
    }
    remark = (data.get("summary") or "").strip()
    if remark:
        payload["remark"] = remark[:2000]
    return None, payload, data.get("note", "")


def _assess_self_care(case, user, workflow, today, data):
    raw = data.get("items") or {}
    if not isinstance(raw, dict):
        raise DomainError("生活自理能力评估须逐项填写六项活动", "self_care_items")
    items = {k: bool(v) for k, v in raw.items()}
    return None, {"items": items, "tier": self_care_tier(items)}, data.get("note", "")


def _complete_investigation(case, user, workflow, today, data):
    if workflow.requires_self_care and not eventlog.has(case, "assess_self_care"):
        raise DomainError("特困人员认定须先完成生活自理能力评估", "self_care_required")
    visit = values.visit_date(data, today, "入户调查日期")
    payload = {
        "visit_date": visit.isoformat(),
        "findings": values.text(data.get("findings"), "调查情况", "findings"),
    }
    if data.get("per_capita_income") not in (None, ""):
        payload["per_capita_income"] = str(values.nonnegative(data["per_capita_income"], "家庭人均收入"))
    return wf.FIRST_REVIEW, payload, data.get("note", "")


def _first_review(case, user, workflow, today, data):
    opinion = data.get("opinion")
    if opinion not in ("approve", "refuse"):
        raise DomainError("请选择初审意见：拟批准或拟不予批准", "opinion", field="opinion")
    payload = {"opinion": opinion}
    if opinion == "approve":
        record = confirmation.guard(case, workflow.code, "first_review", today, data)
        amount, extra = confirmation.amount(case, "first_review", data, record, "拟救助金额")
        payload.update(record, amount=str(amount), **extra)
        case.proposed_amount = amount
        Case.objects.filter(pk=case.pk).update(proposed_amount=amount)
    else:
        payload["reasons"] = values.text(data.get("reasons"), "拟不予批准的理由", "reasons")
    # Only a proposed approval is posted for public supervision (DB §19); a proposed refusal goes to the deciding
    # level directly, without exposing the family on the notice board.
    target = wf.NOTICE if case.service.public_notice and opinion == "approve" else wf.COUNTY_REVIEW
    return target, payload, data.get("note", "")


def open_objections(case) -> int:
    """Objections raised under notice and not yet dealt with: one count in the database, none loaded."""
    counts = case.events.filter(action__in=("record_objection", "resolve_objection", "reinvestigate")).aggregate(
        raised=Count("pk", filter=Q(action="record_objection")),
        closed=Count("pk", filter=Q(action__in=("resolve_objection", "reinvestigate"))),
    )
    return counts["raised"] - counts["closed"]


def _record_objection(case, user, workflow, today, data):
    return (
        None,
        {
            "content": values.text(data.get("content"), "异议内容", "content"),
            "raised_by": (data.get("raised_by") or "匿名").strip()[:50],
        },
        data.get("note", ""),
    )


def _resolve_objection(case, user, workflow, today, data):
    if open_objections(case) <= 0:
        raise DomainError("没有待处理的异议", "no_objection")
    method = data.get("method")
    if method not in ("verified", "democratic_appraisal"):
        raise DomainError("请选择处理方式：核实或民主评议", "method", field="method")
    return (
        None,
        {"method": method, "result": values.text(data.get("result"), "处理结果", "result"), "upheld": False},
        data.get("note", ""),
    )


def _reinvestigate(case, user, workflow, today, data):
    if open_objections(case) <= 0:
        raise DomainError("没有待处理的异议", "no_objection")
    return wf.INVESTIGATING, {"upheld": True, "result": values.text(data.get("result"), "异议核实情况", "result")}, ""


def _end_notice(case, user, workflow, today, data):
    start = case.events.filter(action="first_review").order_by("-seq").values_list("on", flat=True).first()
    days = int(case.parameters["notice_days"]["value"])
    ends = start + datetime.timedelta(days=days)
    if today < ends:
        raise DomainError(f"公示期{days}日，{ends:%Y年%m月%d日}期满后方可报送审核确认", "notice_running")
    if open_objections(case) > 0:
        raise DomainError("公示期间有未处理的异议，请先处理异议", "objection_open")
    return wf.COUNTY_REVIEW, {"notice_from": start.isoformat(), "notice_to": ends.isoformat()}, data.get("note", "")


def _county_visit(case, user, workflow, today, data):
    visit = values.visit_date(data, today, "入户核查日期")
    return (
        None,
        {"visit_date": visit.isoformat(), "findings": values.text(data.get("findings"), "核查情况", "findings")},
        "",
    )


def _spot_check(case, user, workflow, today, data):
    if not case.spot_check_selected:
        raise DomainError("该案件未被抽中，无需抽查", "not_selected")
    return None, {"findings": values.text(data.get("findings"), "抽查情况", "findings")}, ""


def _approve(case, user, workflow, today, data):
    decision_guards(case, workflow)
    record = confirmation.guard(case, workflow.code, "approve", today, data)
    amount, extra = confirmation.amount(case, "approve", data, record, "核定救助金额")
    pay_start = (case.parameters.get("pay_start") or {}).get("value", "next_month")
    start_month = case.submitted_on.replace(day=1) if pay_start == "application_month" else first_of_next_month(today)
    case.decided_amount, case.decided_on, case.start_month = amount, today, start_month
    Case.objects.filter(pk=case.pk).update(decided_amount=amount, decided_on=today, start_month=start_month)
    payload = {**record, "amount": str(amount), "start_month": start_month.isoformat(), **extra}
    return wf.APPROVED, payload, data.get("note", "")


def _refuse(case, user, workflow, today, data):
    decision_guards(case, workflow)
    reasons = values.text(
        data.get("reasons"), "不予批准的理由" if workflow.code != "review" else "停止保障的理由", "reasons"
    )
    case.decided_on = today
    Case.objects.filter(pk=case.pk).update(decided_on=today)
    payload = {"reasons": reasons}
    if workflow.code == "review":
        payload.update(_review_stop(case, today, data))
    return wf.REFUSED, payload, data.get("note", "")


# ---------------------------------------------------------------- review decisions (动态复核, DB §31–33; TK)


def effective_month(data, today: datetime.date) -> datetime.date:
    """The month a change takes effect (the decision says it): next month by default; an earlier month is allowed
    (an unreported death or income found late), so what was paid since becomes an overpayment to recover."""
    raw = str(data.get("effective_month") or "").strip()
    if not raw:
        return first_of_next_month(today)
    try:
        year, month = (int(part) for part in raw[:7].split("-"))
        month_start = datetime.date(year, month, 1)
    except ValueError:
        raise DomainError(f"生效月份“{raw}”格式错误，应为 YYYY-MM", "invalid_month", field="effective_month") from None
    if month_start < add_months(first_of_month(today), -24) or month_start > add_months(first_of_month(today), 12):
        raise DomainError("生效月份应在决定日前24个月至后12个月之间", "invalid_month", field="effective_month")
    return month_start


def _review_stop(case, today, data) -> dict:
    """停止保障: from the month the decision states; a 特困 termination only after its 7-day notice, from the month
    after the decision (TK), with the person moved to 低保/临时救助 if eligible (`transfer_to`)."""
    payload = {"outcome": "stop", "effective_month": effective_month(data, today).isoformat()}
    notice = case.events.filter(action="notify_termination").order_by("-seq").first()
    if notice is None and _supported_tekun(case):
        days = int(resolve("tekun.termination_notice_days", case.region_id, today).value)
        raise DomainError(
            f"特困人员终止救助供养，须先发布终止供养公示（{days}日），期满后方可作出终止决定",
            "termination_notice_required",
        )
    if notice is not None:
        days = int(notice.data.get("days") or 7)
        ends = notice.on + datetime.timedelta(days=days)
        if today < ends:
            raise DomainError(f"终止供养公示{days}日，{ends:%Y年%m月%d日}期满后方可作出终止决定", "notice_running")
        payload["effective_month"] = first_of_next_month(today).isoformat()
        payload["termination_notice"] = {"from": notice.on.isoformat(), "to": ends.isoformat()}
    transfer = data.get("transfer_to") or ""
    if transfer not in ("", "dibao", "temp_expense"):
        raise DomainError("转入救助只能选择低保或临时救助", "invalid_transfer", field="transfer_to")
    if transfer:
        payload["transfer_to"] = transfer
    return payload


def _supported_tekun(case) -> bool:
    """The household has someone under 特困 support (an approved 特困 case): its termination follows TK."""
    return (
        Case.objects.filter(household_id=case.household_id, service__workflow="tekun", state=wf.APPROVED)
        .exclude(pk=case.pk)
        .exists()
    )


def _review_decision(outcome: str):
    def handler(case, user, workflow, today, data):
        decision_guards(case, workflow)
        payload = {
            "outcome": outcome,
            "effective_month": effective_month(data, today).isoformat(),
            "reasons": values.text(data.get("reasons"), "决定理由", "reasons"),
        }
        if outcome == "change":
            record = confirmation.guard(case, workflow.code, "change_amount", today, data)
            amount, extra = confirmation.amount(case, "change_amount", data, record, "调整后金额")
            payload.update(record, amount=str(amount), **extra)
            case.decided_amount = amount
        if outcome == "taper":
            amount = parse_amount(data.get("amount"), "渐退期内金额")
            payload["amount"] = str(amount)
            case.decided_amount = amount
        if outcome == "taper":
            limit = int(resolve("dibao.taper_max_months", case.region_id, today).value)
            try:
                months = int(str(data.get("months") or "").strip())
            except ValueError:
                raise DomainError("请填写渐退期月数", "invalid_months", field="months") from None
            if not 1 <= months <= limit:
                raise DomainError(f"渐退期应为1至{limit}个月", "invalid_months", field="months")
            payload["months"] = months
        case.decided_on = today
        Case.objects.filter(pk=case.pk).update(decided_on=today, decided_amount=case.decided_amount)
        return wf.APPROVED, payload, data.get("note", "")

    return handler


def _notify_termination(case, user, workflow, today, data):
    if eventlog.has(case, "notify_termination"):
        raise DomainError("终止供养公示已经发布", "already_notified")
    days = int(resolve("tekun.termination_notice_days", case.region_id, today).value)
    reasons = values.text(data.get("reasons"), "终止理由", "reasons")
    return None, {"reasons": reasons, "days": days, "ends": (today + datetime.timedelta(days=days)).isoformat()}, ""


def _deliver_refusal(case, user, workflow, today, data):
    if eventlog.has(case, "deliver_refusal"):
        raise DomainError("不予批准通知书已送达", "already_delivered")
    return None, {"method": (data.get("method") or "直接送达")[:50]}, data.get("note", "")


def _extend(case, user, workflow, today, data):
    if eventlog.has(case, "extend"):
        raise DomainError("办理时限已延长过一次", "already_extended")
    if "extend_to_wd" not in (case.parameters or {}):
        raise DomainError("该事项不适用延长办理时限", "not_extendable")
    return None, {"reason": values.text(data.get("reason"), "延长理由", "reason")}, ""


def _withdraw(case, user, workflow, today, data):
    return wf.WITHDRAWN, {"reason": values.text(data.get("reason"), "撤回原因", "reason")}, ""


def _pay_first(case, user, workflow, today, data):
    amount = parse_amount(data.get("amount"), "先行救助金额")
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
        {"amount": str(amount), "situation": values.text(data.get("situation"), "急难情况", "situation")},
        "",
    )


def _complete_documents(case, user, workflow, today, data):
    missing = procedure.missing_materials(case)
    if missing:
        raise DomainError(f"手续尚未补齐：{'、'.join(missing)}", "materials_missing")
    case.decided_on = today
    Case.objects.filter(pk=case.pk).update(decided_on=today)
    return wf.APPROVED, {"amount": str(case.decided_amount)}, data.get("note", "")


HANDLERS = {
    "notify_missing": _notify_missing,
    "complete_materials": _complete_materials,
    "accept": _accept,
    "reject_intake": _reject_intake,
    "start_investigation": _start_investigation,
    "record_visit": _record_visit,
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
    "change_amount": _review_decision("change"),
    "taper": _review_decision("taper"),
    "suspend": _review_decision("suspend"),
    "notify_termination": _notify_termination,
}

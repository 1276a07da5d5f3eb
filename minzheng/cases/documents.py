"""Printed notices of a case as PDF: 受理通知书, 一次性告知书, 不予受理通知书, 批准通知书 (救助决定书), 不予批准通知书.

Each notice is a Django template under `cases/pdf/` rendered to HTML and converted by WeasyPrint (A4, CJK font
embedded as a subset). A notice exists once the event it records has happened; before that `render` raises NotFound.
The addressee is the applicant by full name (the notice is served on them); the identity number is always masked.
"""

import datetime
from decimal import Decimal

from django.template.loader import render_to_string

from minzheng.core import money, pdf
from minzheng.core.errors import DomainError, NotFound
from minzheng.core.masking import mask_account, mask_id_number
from minzheng.policy.catalogue import spec
from minzheng.policy.models import ServiceItem
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

from . import eventlog, procedure, services
from . import workflows as wf
from .models import Case, CaseEvent

# Statutory remedy periods, stated on every adverse decision. National law, not a policy parameter:
# 《中华人民共和国行政复议法》（2023年修订）第二十条：自知道或者应当知道该行政行为之日起六十日内提出行政复议申请；
RECONSIDERATION_DAYS = 60
# 《中华人民共和国行政诉讼法》第四十六条：直接向人民法院提起诉讼的，应当自知道或者应当知道作出行政行为之日起六个月内提出。
LITIGATION_MONTHS = 6

# 低保: the one-time notice of missing materials rests on these articles (DOMAIN.md §1, DB §10–11).
DIBAO_MISSING_BASIS = "《最低生活保障审核确认办法》第十条、第十一条"

ACCEPTANCE, MISSING, NOT_ACCEPTED, APPROVAL, REFUSAL = "acceptance", "missing", "not_accepted", "approval", "refusal"
KINDS = (ACCEPTANCE, MISSING, NOT_ACCEPTED, APPROVAL, REFUSAL)

_TITLES = {
    ACCEPTANCE: "受理通知书",
    MISSING: "一次性告知书",
    NOT_ACCEPTED: "不予受理通知书",
    APPROVAL: "批准通知书",
    REFUSAL: "不予批准通知书",
}
_NUMBER_SUFFIX = {
    ACCEPTANCE: "受理",
    MISSING: "告知",
    NOT_ACCEPTED: "不予受理",
    APPROVAL: "批准",
    REFUSAL: "不予批准",
}
_TEMP_AID_WORKFLOWS = ("temp_expense", "temp_emergency")

# The parameters printed on a decision: those that explain it (the time limit applied is printed from its clock).
_DECISION_PARAMETERS = {
    "dibao": ("confirm_level", "notice_days", "county_review_wd", "pay_start"),
    "tekun": ("survey_wd", "notice_days", "county_wd", "pay_start"),
    "temp_expense": ("notice_days",),
    "temp_emergency": ("emergency_document_wd", "township_approval_cap"),
}
_CHOICE_LABELS = {
    "county": "县级民政部门审核确认",
    "township": "委托乡镇人民政府（街道办事处）审核确认",
    "next_month": "批准之日的次月起发放",
    "application_month": "申请当月起发放",
}

_PDF_DIR = "cases/pdf"


def cn_date(day: datetime.date | None) -> str:
    """2025-03-03 -> 2025年3月3日 (Arabic numerals, as GB/T 9704 writes dates)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def cn_month(day: datetime.date | None) -> str:
    return f"{day.year}年{day.month}月" if day else ""


def _is_temp_aid(case: Case) -> bool:
    return case.service.workflow in _TEMP_AID_WORKFLOWS


def title(case: Case, kind: str) -> str:
    if kind == APPROVAL and _is_temp_aid(case):
        return "临时救助决定书"
    return _TITLES[kind]


def document_number(case: Case, kind: str) -> str:
    suffix = "决定" if kind == APPROVAL and _is_temp_aid(case) else _NUMBER_SUFFIX[kind]
    return f"{case.number}-{suffix}"


# The events the notices are issued on and read (延长 for the acceptance notice's limit, 先行救助 for the decision):
# loaded on their own, so listing a case's notices costs the same however long its history.
# The events the notices are printed from (eventlog.key_events reads them with the case page's other events).
NOTICE_EVENTS = (
    "accept",
    "notify_missing",
    "reject_intake",
    "approve",
    "complete_documents",
    "refuse",
    "extend",
    "pay_first",
)


def _events(case: Case) -> list[CaseEvent]:
    return list(case.events.filter(action__in=NOTICE_EVENTS).order_by("seq"))


def _last(events: list[CaseEvent], *actions: str) -> CaseEvent | None:
    return next((e for e in reversed(events) if e.action in actions), None)


def _event(case: Case, kind: str, events: list[CaseEvent]) -> CaseEvent | None:
    """The event a notice records, or None while the notice does not apply."""
    if kind == ACCEPTANCE:
        event = _last(events, "accept")
    elif kind == MISSING:
        event = _last(events, "notify_missing")
    elif kind == NOT_ACCEPTED:
        event = _last(events, "reject_intake")
    elif kind == APPROVAL:
        event = _last(events, "approve", "complete_documents") if case.state == wf.APPROVED else None
    elif kind == REFUSAL:
        event = _last(events, "refuse") if case.state == wf.REFUSED else None
    else:
        event = None
    return event


def available(case: Case, events: list[CaseEvent] | None = None) -> list[tuple[str, str]]:
    """The notices that can be printed for the case now, as (kind, label), in procedural order; `events`: the case's
    eventlog.key_events, when already read."""
    events = _events(case) if events is None else [e for e in events if e.action in NOTICE_EVENTS]
    return [(kind, title(case, kind)) for kind in KINDS if _event(case, kind, events) is not None]


# ---------------------------------------------------------------- issuing authorities


def _ancestor(region: Region, level: int) -> Region:
    node = region
    while node is not None and node.level > level:
        node = node.parent
    if node is None or node.level != level:
        raise DomainError(f"区划“{region.name}”缺少{region_codes.LEVEL_NAMES[level]}上级", "region_tree")
    return node


def township_authority(case: Case) -> str:
    """The township government (or street office) of the case's village: 张北县张北镇人民政府."""
    township = _ancestor(case.region, region_codes.TOWNSHIP)
    county = _ancestor(township, region_codes.COUNTY)
    name = township.name
    if name.endswith("街道"):
        name += "办事处"
    elif name.endswith(("镇", "乡")):
        name += "人民政府"
    return f"{county.name}{name}"


def county_authority(case: Case) -> str:
    return f"{_ancestor(case.region, region_codes.COUNTY).name}民政局"


def reconsideration_body(case: Case) -> str:
    """行政复议机关 (行政复议法 2023 第二十四条): for a county department or a township government alike, the county
    people's government."""
    return f"{_ancestor(case.region, region_codes.COUNTY).name}人民政府"


def _delegated(case: Case) -> bool:
    return (case.parameters or {}).get("confirm_level", {}).get("value") == "township"


def decision_authority(case: Case) -> str:
    if case.service.deciding_level == ServiceItem.Level.TOWNSHIP:
        return township_authority(case)
    return county_authority(case)


# ---------------------------------------------------------------- contexts


def _money(amount: Decimal | None) -> str:
    return money.fmt(amount, grouping=False)


def _limit_line(status) -> dict:
    return {
        "label": status.label,
        "days": f"{status.days}{status.unit}",
        "due": cn_date(status.deadline.due),
        "provisional": status.deadline.provisional,
    }


def _common(case: Case, kind: str, event: CaseEvent, issuer: str) -> dict:
    return {
        "kind": kind,
        "title": title(case, kind),
        "doc_number": document_number(case, kind),
        "case": case,
        "service_name": case.service.name,
        "addressee": case.applicant.name,
        "id_masked": mask_id_number(case.applicant.id_number),
        "address": case.household.address,
        "household_number": case.household.number,
        "household_size": services.household_size(case),
        "submitted_on": cn_date(case.submitted_on),
        "issuer": issuer,
        "date": cn_date(event.on),
        "closing": "特此告知。" if kind == MISSING else "特此通知。",
        "remedies": {
            "body": reconsideration_body(case),
            "days": RECONSIDERATION_DAYS,
            "months": LITIGATION_MONTHS,
        },
    }


def _acceptance(case: Case, event: CaseEvent, events: list[CaseEvent]) -> dict:
    context = _common(case, ACCEPTANCE, event, township_authority(case))
    statuses = eventlog.deadlines(case)
    total = next((s for s in statuses if s.code == "total"), None)
    later = []
    if total is not None:
        limits = [total]
    else:
        # No overall limit (特困): the limits that start at acceptance (the township's investigation), and the
        # county's, which starts when the file reaches it.
        clocks = [c for c in procedure.workflow_of(case).clocks if not c.informational]
        from_acceptance = {c.code for c in clocks if c.start == "accept"}
        limits = [s for s in statuses if s.code in from_acceptance]
        for clock in clocks:
            record = (case.parameters or {}).get(clock.param)
            if clock.start == f"enter:{wf.COUNTY_REVIEW}" and record:
                later.append(
                    {"label": clock.label, "days": f"{record['value']}{'日' if clock.calendar else '个工作日'}"}
                )
    context.update(
        accepted_on=cn_date(event.on),
        channel=case.get_channel_display(),
        entrusted=case.entrusted_name,
        overall=total is not None,
        limits=[_limit_line(s) for s in limits],
        later_limits=later,
        extended=any(e.action == "extend" for e in events),
    )
    return context


def _missing(case: Case, event: CaseEvent, events: list[CaseEvent]) -> dict:
    context = _common(case, MISSING, event, township_authority(case))
    shared = (
        case.materials.select_related("material").exclude(material__shared_from="").order_by("material__order", "pk")
    )
    basis = DIBAO_MISSING_BASIS if case.service.workflow == "dibao" else case.service.legal_basis
    context.update(
        missing=list(event.data.get("missing") or []),
        shared=[(m.material.name, m.material.shared_from) for m in shared],
        legal_basis=basis,
        window=township_authority(case),
    )
    return context


def _not_accepted(case: Case, event: CaseEvent, events: list[CaseEvent]) -> dict:
    context = _common(case, NOT_ACCEPTED, event, township_authority(case))
    context.update(reasons=event.data.get("reasons", ""), legal_basis=case.service.legal_basis)
    return context


def _parameter_value(record: dict, unit: str) -> str:
    value = record.get("value")
    if value in ("", None):
        return "未设定"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and value in _CHOICE_LABELS:
        return _CHOICE_LABELS[value]
    if unit == "工作日":
        return f"{value}个工作日"
    return f"{value}{unit}"


def _parameter_rows(case: Case, total) -> list[dict]:
    snapshot = case.parameters or {}
    keys = [k for k in _DECISION_PARAMETERS.get(case.service.workflow, ()) if k in snapshot]
    regions = Region.objects.in_bulk([snapshot[k]["region_code"] for k in keys if snapshot[k].get("region_code")])
    rows = []
    if total is not None:
        rows.append(
            {
                "label": "办理时限",
                "value": f"{total.days}{total.unit}（至{cn_date(total.deadline.due)}"
                f"{'，暂定' if total.deadline.provisional else ''}）",
                "source": "",
            }
        )
    for key in keys:
        record = snapshot[key]
        try:
            param = spec(record.get("key") or f"{case.service.parameter_group}.{key}")
            label, unit = param.label, param.unit
        except DomainError:
            label, unit = key, ""
        region = regions.get(record.get("region_code") or "")
        since = record.get("effective_from")
        since_text = cn_date(datetime.date.fromisoformat(since)) if since else ""
        rows.append(
            {
                "label": label,
                "value": _parameter_value(record, unit),
                "source": f"{region.name if region else '全国默认值'}（{since_text}起）",
            }
        )
    return rows


def _approval(case: Case, event: CaseEvent, events: list[CaseEvent]) -> dict:
    context = _common(case, APPROVAL, event, decision_authority(case))
    temp = _is_temp_aid(case)
    total = next((s for s in eventlog.deadlines(case) if s.code == "total"), None)
    paid_first = _last(events, "pay_first")
    household = case.household
    context.update(
        closing="特此决定。" if temp else context["closing"],
        temp_aid=temp,
        amount=_money(case.decided_amount),
        unit="元" if temp else "元/月",
        start_month=cn_month(case.start_month),
        paid_first_on=cn_date(paid_first.on) if paid_first else "",
        decided_on=cn_date(case.decided_on or event.on),
        parameters=_parameter_rows(case, total),
        delegated_to=township_authority(case) if _delegated(case) and not temp else "",
        bank_name=household.bank_name,
        bank_account=mask_account(household.bank_account),
    )
    return context


def _refusal(case: Case, event: CaseEvent, events: list[CaseEvent]) -> dict:
    context = _common(case, REFUSAL, event, decision_authority(case))
    context.update(
        reasons=event.data.get("reasons", ""),
        legal_basis=case.service.legal_basis,
        delegated_to=township_authority(case) if _delegated(case) and not _is_temp_aid(case) else "",
    )
    return context


_CONTEXTS = {
    ACCEPTANCE: _acceptance,
    MISSING: _missing,
    NOT_ACCEPTED: _not_accepted,
    APPROVAL: _approval,
    REFUSAL: _refusal,
}


# ---------------------------------------------------------------- rendering


def html(case: Case, kind: str) -> str:
    """The notice as HTML (what `render` converts); NotFound when the notice does not apply yet."""
    if kind not in KINDS:
        raise NotFound("没有这种文书", "unknown_document")
    events = _events(case)
    event = _event(case, kind, events)
    if event is None:
        raise NotFound(f"本案尚不能出具{title(case, kind)}", "document_not_available")
    context = _CONTEXTS[kind](case, event, events)
    return render_to_string(f"{_PDF_DIR}/{kind}.html", context)


def render(case: Case, kind: str) -> bytes:
    """The notice as PDF bytes (A4, CJK font subset embedded)."""
    return pdf.render(html(case, kind))


def filename(case: Case, kind: str) -> str:
    return f"{title(case, kind)}-{case.number}.pdf"

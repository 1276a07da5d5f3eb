"""The written notice of a 动态复核 decision (DB §31: an increase, reduction or stop needs a lawful reason and a
written notice): outcome, amount, the month it takes effect, the reasons, and the right to object."""

from django.template.loader import render_to_string

from minzheng.cases import documents
from minzheng.cases import services as cases
from minzheng.cases.models import Case
from minzheng.core import money, pdf
from minzheng.core.errors import NotFound
from minzheng.core.masking import mask_id_number

OUTCOMES = {
    "approve": ("continue", "继续保障"),
    "change_amount": ("change", "调整保障金额"),
    "taper": ("taper", "给予渐退期"),
    "suspend": ("suspend", "暂停发放"),
    "refuse": ("stop", "停止保障"),
}


def _decision(case: Case):
    event = case.events.filter(action__in=list(OUTCOMES)).order_by("-seq").first()
    if case.service.workflow != "review" or event is None:
        raise NotFound("本案尚未作出复核决定", "document_not_available")
    return event


def html(case: Case) -> str:
    event = _decision(case)
    data = event.data or {}
    outcome, outcome_label = OUTCOMES[event.action]
    month = data.get("effective_month")
    title = f"动态复核决定通知书（{outcome_label}）"
    context = {
        "kind": "review",
        "title": title,
        "doc_number": f"{case.number}-复核",
        "case": case,
        "service_name": case.service.name,
        "addressee": case.applicant.name,
        "id_masked": mask_id_number(case.applicant.id_number),
        "address": case.household.address,
        "issuer": documents.decision_authority(case),
        "date": documents.cn_date(event.on),
        "closing": "特此通知。",
        "outcome": outcome,
        "outcome_label": outcome_label,
        "amount": money.fmt(data.get("amount") or case.decided_amount, grouping=False),
        "months": data.get("months"),
        "effective_month": f"{month[:4]}年{int(month[5:7])}月" if month else "",
        "reasons": data.get("reasons") or event.note or "经复核，家庭经济状况未发生影响保障的变化",
        "transfer_to": {"dibao": "最低生活保障", "temp_expense": "临时救助"}.get(data.get("transfer_to", ""), ""),
        "household_size": cases.household_size(case),
        "remedies": {
            "body": documents.reconsideration_body(case),
            "days": documents.RECONSIDERATION_DAYS,
            "months": documents.LITIGATION_MONTHS,
        },
    }
    return render_to_string("benefits/pdf/review_decision.html", context)


def render(case: Case) -> bytes:
    return pdf.render(html(case))


def filename(case: Case) -> str:
    return f"动态复核决定通知书-{case.number}.pdf"

"""入户调查 (DB §15–16; TK): the home visit of a case, recorded as the `record_visit` step. At least two staff members
visit (real accounts of the case's village, township or county), on a date not in the future; they record what they
found, whether the family signed the record or refused to (with the date), and the findings no department holds
(`Declaration`): declared income such as support from a child living elsewhere, members who do not count as living
together, whether a 特困 applicant has a legal supporter able to support them, serious illness, full-time schooling.
The checking engine reads those findings (checks > cases). The latest visit's findings replace the case's earlier ones.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_name
from minzheng.regions import codes
from minzheng.registry.models import Membership

from . import values
from .models import Case, Declaration, Investigation

# Who may be named as an investigator: the staff who work cases (not the leader, administrator or auditor).
INVESTIGATOR_ROLES = ("clerk", "assistant", "township_reviewer", "county_approver")

# The incomes a home visit may establish (what no department delivers; DOMAIN.md §1, DB §13). The checking engine's
# item table (`checks.items`) holds how each is counted; its labels are the same (a test keeps them so).
DECLARABLE_ITEMS: dict[str, str] = {
    "support_received": "赡养、抚养、扶养费",
    "support_paid": "支付的赡养、抚养、扶养费",
    "compensation": "赔偿收入",
    "gift": "赠送收入",
    "business_income": "经营净收入",
    "wage": "工资性收入",
    "rent": "出租财产收入",
}
# Findings about a person that carry no amount.
PERSON_FINDINGS = (
    Declaration.Kind.EXCLUSION,
    Declaration.Kind.NO_SUPPORTER,
    Declaration.Kind.HAS_SUPPORTER,
    Declaration.Kind.SERIOUS_ILLNESS,
    Declaration.Kind.STUDENT,
)


def eligible_investigators(case: Case) -> QuerySet:
    """Active staff accounts of the case's village, its township or its county (and above): who can visit it."""
    lineage = codes.lineage(case.region_id, root=False)
    return (
        get_user_model()
        .objects.filter(is_active=True, role__in=INVESTIGATOR_ROLES, region_id__in=lineage)
        .order_by("region_id", "last_name", "first_name", "username")
    )


def _investigators(case: Case, raw) -> list:
    if raw in (None, ""):
        raw = []
    if not isinstance(raw, list | tuple):
        raise DomainError("调查人员应逐人选择", "investigators", field="investigators")
    try:
        ids = {int(str(v).strip()) for v in raw if str(v).strip()}
    except ValueError:
        raise DomainError("调查人员应为工作人员账号", "investigators", field="investigators") from None
    if len(ids) < 2:
        raise DomainError(
            "入户调查须由2名以上工作人员进行，请选择至少2名调查人员", "investigators", field="investigators"
        )
    users = list(eligible_investigators(case).filter(pk__in=ids))
    if len(users) != len(ids):
        raise DomainError(
            "调查人员须为本案件所在村、乡镇（街道）或县级民政部门的在岗工作人员", "investigators", field="investigators"
        )
    return users


def _signature(data: dict, visited_on: datetime.date, today: datetime.date) -> tuple[str, datetime.date, str]:
    signature = data.get("signature")
    if signature not in Investigation.Signature.values:
        raise DomainError("请选择家庭签字情况：已签字确认或拒绝签字", "signature", field="signature")
    if data.get("signed_on") in (None, ""):
        raise DomainError("请填写家庭签字（拒签）日期", "signed_on", field="signed_on")
    signed_on = values.date(data["signed_on"], "家庭签字（拒签）日期", today)
    if signed_on < visited_on:
        raise DomainError("家庭签字（拒签）日期不能早于入户调查日期", "signed_on", field="signed_on")
    note = str(data.get("signature_note") or "").strip()[:300]
    if signature == Investigation.Signature.REFUSED and not note:
        raise DomainError("家庭拒绝签字的，请填写拒签情况说明", "signature_note", field="signature_note")
    return signature, signed_on, note


def _findings(case: Case, raw) -> list[dict]:
    """The findings as rows for `Declaration`, each about a current member of the household."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(r, dict) for r in raw):
        raise DomainError("认定事项应逐条填写（成员、事项）", "declarations", field="declarations")
    members = {
        m.person_id: m.person.name
        for m in Membership.objects.filter(household_id=case.household_id, left_on__isnull=True).select_related(
            "person"
        )
    }
    rows, seen = [], set()
    for row in raw:
        try:
            person = int(str(row.get("person", "")).strip())
        except ValueError:
            person = None
        if person not in members:
            raise DomainError("认定事项须针对本户现有成员", "declarations", field="declarations")
        name = mask_name(members[person])
        kind = row.get("kind")
        if kind not in Declaration.Kind.values:
            raise DomainError(f"{name}：认定事项不正确", "declarations", field="declarations")
        item, amount = "", 0
        if kind == Declaration.Kind.INCOME:
            item = row.get("item") or ""
            if item not in DECLARABLE_ITEMS:
                raise DomainError(f"{name}：请选择申报收入的项目", "declarations", field="declarations")
            label = f"{name}的{DECLARABLE_ITEMS[item]}月均金额"
            if row.get("monthly_amount") in (None, ""):
                raise DomainError(f"请填写{label}", "declarations", field="declarations")
            amount = values.nonnegative(row["monthly_amount"], label)
        key = (person, kind, item)
        if key in seen:
            raise DomainError(f"{name}：同一事项只能填写一次", "declarations", field="declarations")
        seen.add(key)
        rows.append(
            {
                "person_id": person,
                "kind": kind,
                "item": item,
                "monthly_amount": amount,
                "note": str(row.get("note") or "").strip()[:200],
                "name": name,
            }
        )
    supporters = {(r["person_id"], r["kind"]) for r in rows}
    for person in members:
        if {(person, Declaration.Kind.NO_SUPPORTER), (person, Declaration.Kind.HAS_SUPPORTER)} <= supporters:
            raise DomainError(
                f"{mask_name(members[person])}：“无法定义务人”与“有履行能力的法定义务人”不能同时认定",
                "declarations",
                field="declarations",
            )
    return rows


def record(case: Case, user, today: datetime.date, data: dict) -> dict:
    """Validate and store one home visit with its findings; returns the case event's data. Raises DomainError (in
    Chinese, nothing stored) on a bad value. Runs inside `services.act`'s transaction."""
    if data.get("visit_date") in (None, ""):
        raise DomainError("请填写入户调查日期", "invalid_date", field="visit_date")
    visited_on = values.visit_date(data, today, "入户调查日期")
    investigators = _investigators(case, data.get("investigators"))
    findings = values.text(data.get("findings"), "调查情况", "findings")
    signature, signed_on, signature_note = _signature(data, visited_on, today)
    rows = _findings(case, data.get("declarations"))
    investigation = Investigation.objects.create(
        case=case,
        household_id=case.household_id,
        region_id=case.region_id,
        visited_on=visited_on,
        findings=findings,
        signature=signature,
        signed_on=signed_on,
        signature_note=signature_note,
        recorded_by=user,
    )
    investigation.investigators.set(investigators)
    # The latest visit's findings replace what the case's earlier visits found (kept, no longer in force).
    Declaration.objects.filter(case=case, valid_until__isnull=True).update(
        valid_until=visited_on - datetime.timedelta(days=1)
    )
    Declaration.objects.bulk_create(
        Declaration(
            household_id=case.household_id,
            person_id=r["person_id"],
            case=case,
            investigation=investigation,
            kind=r["kind"],
            item=r["item"],
            monthly_amount=r["monthly_amount"],
            note=r["note"],
            valid_from=visited_on,
            recorded_by=user,
        )
        for r in rows
    )
    return {
        "investigation": investigation.pk,
        "visit_date": visited_on.isoformat(),
        "investigators": [u.display_name for u in investigators],
        "findings": findings,
        "signature": f"{Investigation.Signature(signature).label}（{signed_on:%Y-%m-%d}）"
        + (f"：{signature_note}" if signature_note else ""),
        "declared": [describe(r) for r in rows],
    }


def describe(row: dict) -> str:
    """One finding as the case history reads it (the member's name masked)."""
    label = Declaration.Kind(row["kind"]).label
    if row["kind"] == Declaration.Kind.INCOME:
        label = f"申报收入：{DECLARABLE_ITEMS[row['item']]}，月均{row['monthly_amount']}元"
    return f"{row['name']}：{label}" + (f"（{row['note']}）" if row.get("note") else "")


def of_case(case: Case) -> list[Investigation]:
    """The case's home visits, oldest first, with their investigators and findings."""
    return list(
        case.investigations.prefetch_related("investigators", "declarations__person").order_by("visited_on", "id")
    )

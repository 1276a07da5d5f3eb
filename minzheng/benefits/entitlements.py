"""Entitlements follow the decisions on cases, and nothing else (issue 17 §1): `cases.decisions.decided` is received
here (connected in `BenefitsConfig.ready`), inside the transaction that records the decision.

- an approval creates the entitlement from the month `pay_start` says (next month; the application month for the
  disability allowances); a decision taken after its time limit starts from the month it should have, and the
  months owed are paid as arrears (补发) on the next roll;
- a 动态复核 decision continues, changes, tapers (渐退), suspends or stops it from the month the decision states;
  anything already paid for a month after that becomes a recovery (追回), never a silent deletion.
"""

import datetime

from django.db.models import Q
from django.utils import timezone

from minzheng.cases import eventlog
from minzheng.cases.models import Case, CaseEvent
from minzheng.core.errors import DomainError
from minzheng.core.money import to_fen
from minzheng.core.months import add_months, first_of_month, first_of_next_month
from minzheng.policy.parameters import resolve, resolve_many

from . import amounts, kinds, reviews
from .models import COMMITTED_LINE_STATES, Entitlement, EntitlementVersion, PaymentLine, Recovery, Status


def on_decided(sender, *, case: Case, event: CaseEvent, user, on: datetime.date, **kwargs) -> None:
    if case.service.workflow == "review":
        apply_review(case, event, on, user)
        return
    if event.action in ("approve", "complete_documents", "pay_first"):
        kind = kinds.for_service(case.service.code)
        if kind is not None and not Entitlement.objects.filter(decision=case).exists():
            grant(case, event, on, kind)


# ---------------------------------------------------------------- approval


def start_month(case: Case, kind: kinds.BenefitType, on: datetime.date) -> tuple[datetime.date, dict]:
    """The first month paid, with the parameter records that fixed it."""
    if kind.one_off:
        return first_of_month(on), {}
    pay_start = resolve(f"{kind.parameter_group}.pay_start", case.region_id, case.submitted_on)
    used = {"pay_start": pay_start.as_record()}
    month = first_of_month(case.submitted_on) if pay_start.value == "application_month" else first_of_next_month(on)
    late = resolve("payments.late_decision_arrears", case.region_id, on)
    if late.value:
        total = next((s for s in eventlog.deadlines(case) if s.code == "total"), None)
        if total is not None and on > total.deadline.due:
            # Decided late: paid from the month after the day it should have been decided (补发 the months owed).
            month = min(month, first_of_next_month(total.deadline.due))
            used["late_decision_arrears"] = late.as_record()
            used["decision_due"] = total.deadline.due.isoformat()
    return month, used


def _latest(case: Case, action: str, key: str):
    for data in case.events.filter(action=action).order_by("-seq").values_list("data", flat=True):
        if isinstance(data, dict) and data.get(key) not in (None, ""):
            return data[key]
    return None


def breakdown_for(case: Case, kind: kinds.BenefitType, amount_fen: int, on: datetime.date) -> tuple[list, dict]:
    from decimal import Decimal

    items, params = [], {}
    if kind.code == "dibao":
        raw = _latest(case, "record_check", "per_capita_income") or _latest(
            case, "complete_investigation", "per_capita_income"
        )
        items, params = amounts.dibao_breakdown(case.household, on, Decimal(raw) if raw is not None else None)
    elif kind.code == "tekun":
        items, params = amounts.tekun_breakdown(
            case.region_id, case.household.area_type, on, _latest(case, "assess_self_care", "tier")
        )
    used = {k: v.as_record() for k, v in params.items()}
    return amounts.reconcile(items, amount_fen), used


def grant(case: Case, event: CaseEvent, on: datetime.date, kind: kinds.BenefitType) -> Entitlement:
    amount = case.decided_amount
    if amount is None or amount <= 0:
        raise DomainError("批准决定须有大于0的核定金额，才能建立救助待遇", "no_amount")
    amount_fen = to_fen(amount)
    first, used = start_month(case, kind, on)
    items, params = breakdown_for(case, kind, amount_fen, on)
    person = case.applicant if kind.per_person else None
    # A new approval of the same benefit replaces an entitlement still open (a re-application after a stop).
    previous = Entitlement.objects.filter(household=case.household, benefit=kind.code, person=person).exclude(
        status=Status.STOPPED
    )
    for old in previous:
        change(old, case, event, first, Status.STOPPED, old.amount_fen, old.breakdown, "superseded", "新批准决定替代")
    parameters = {**(case.parameters or {}), **used, **params}
    ent = Entitlement.objects.create(
        benefit=kind.code,
        household=case.household,
        person=person,
        region_id=case.household.region_id,
        status=Status.ACTIVE,
        amount_fen=amount_fen,
        breakdown=items,
        start_month=first,
        end_month=first if kind.one_off else None,
        decision=case,
        last_decision=case,
        parameters=parameters,
    )
    _version(ent, case, event, first, Status.ACTIVE, amount_fen, items, event.action, "", parameters)
    if kind.one_off:
        _version(
            ent, case, event, add_months(first, 1), Status.STOPPED, amount_fen, items, "one_off_end", "一次性救助", {}
        )
    ent.next_review = reviews.next_review_date(ent, on)
    Entitlement.objects.filter(pk=ent.pk).update(next_review=ent.next_review)
    return ent


def _version(ent, case, event, month, status, amount_fen, items, action, reasons, parameters) -> EntitlementVersion:
    return EntitlementVersion.objects.create(
        entitlement=ent,
        effective_from=month,
        status=status,
        amount_fen=amount_fen,
        breakdown=items,
        decision=case,
        event_id=event.pk if event else None,
        action=action,
        reasons=reasons,
        parameters=parameters,
    )


# ---------------------------------------------------------------- changes


def change(ent, case, event, month, status, amount_fen, items, action, reasons, *, taper_end=None, parameters=None):
    """Record a change from `month` on, refresh the cached fields to what is in force now, and turn what was already
    paid for months from `month` above the new amount into recoveries."""
    _version(ent, case, event, month, status, amount_fen, items, action, reasons, parameters or {})
    current = (
        EntitlementVersion.objects.filter(
            entitlement=ent, effective_from__lte=max(month, first_of_month(timezone.localdate()))
        )
        .order_by("-effective_from", "-id")
        .first()
    )
    fields = {
        "status": current.status,
        "amount_fen": current.amount_fen,
        "breakdown": current.breakdown,
        "last_decision": case,
        "taper_end": taper_end if status == Status.TAPER else ent.taper_end,
    }
    if status == Status.STOPPED:
        fields["end_month"] = add_months(month, -1)
    Entitlement.objects.filter(pk=ent.pk).update(**fields)
    for key, value in fields.items():
        setattr(ent, key, value)
    recover_after(ent, month, amount_fen if status in (Status.ACTIVE, Status.TAPER) else 0, reasons or action, event)


def recover_after(ent: Entitlement, month: datetime.date, due_fen: int, reason: str, event=None) -> int:
    """Committed payments for `month` and later above `due_fen` a month: one recovery record per line."""
    lines = PaymentLine.objects.filter(
        entitlement=ent, month__gte=month, state__in=COMMITTED_LINE_STATES, amount_fen__gt=due_fen
    ).exclude(recoveries__isnull=False)
    today = event.on if event else timezone.localdate()
    created = [
        Recovery(
            line=line,
            entitlement=ent,
            household_id=ent.household_id,
            region_id=ent.region_id,
            amount_fen=line.amount_fen - due_fen,
            reason=f"{line.month:%Y年%m月}多发：{reason}"[:200],
            detected_on=today,
        )
        for line in lines
    ]
    Recovery.objects.bulk_create(created)
    return len(created)


_OUTCOMES = {"approve": "continue", "refuse": "stop"}


def apply_review(case: Case, event: CaseEvent, on: datetime.date, user) -> None:
    """A 动态复核 decision on the household's 低保/特困 entitlements (DB §31–33; TK termination)."""
    data = event.data or {}
    outcome = data.get("outcome") or _OUTCOMES.get(event.action)
    if outcome is None:
        return
    open_ = list(
        Entitlement.objects.filter(household=case.household, benefit__in=("dibao", "tekun"))
        .exclude(status=Status.STOPPED)
        .order_by("-id")
    )
    if not open_:
        return
    month = (
        datetime.date.fromisoformat(data["effective_month"]) if data.get("effective_month") else first_of_next_month(on)
    )
    reasons = data.get("reasons", "")
    primary = next((e for e in open_ if e.benefit == "dibao"), open_[0])
    if outcome == "continue":
        amount_fen = to_fen(case.decided_amount) if case.decided_amount is not None else primary.amount_fen
        items = primary.breakdown if amount_fen == primary.amount_fen else amounts.reconcile([], amount_fen)
        change(primary, case, event, month, Status.ACTIVE, amount_fen, items, "continue", reasons or "复核：继续保障")
    elif outcome == "change":
        amount_fen = to_fen(data["amount"])
        change(
            primary, case, event, month, Status.ACTIVE, amount_fen, amounts.reconcile([], amount_fen), "change", reasons
        )
    elif outcome == "taper":
        months = int(data["months"])
        params = {"taper_max_months": resolve("dibao.taper_max_months", case.region_id, on).as_record()}
        amount_fen = to_fen(data["amount"])
        end = add_months(month, months - 1)
        change(
            primary,
            case,
            event,
            month,
            Status.TAPER,
            amount_fen,
            amounts.reconcile([], amount_fen),
            "taper",
            reasons,
            taper_end=end,
            parameters=params,
        )
        change(
            primary,
            case,
            event,
            add_months(month, months),
            Status.STOPPED,
            amount_fen,
            primary.breakdown,
            "taper_end",
            "渐退期满",
        )
    elif outcome in ("suspend", "stop"):
        status = Status.SUSPENDED if outcome == "suspend" else Status.STOPPED
        for ent in open_:
            change(ent, case, event, month, status, ent.amount_fen, ent.breakdown, outcome, reasons)
        if outcome == "stop" and data.get("transfer_to"):
            _transfer(case, data["transfer_to"], user, on)
    for ent in open_:
        ent.refresh_from_db()
        Entitlement.objects.filter(pk=ent.pk).update(next_review=reviews.next_review_date(ent, on))


def _transfer(case: Case, service_code: str, user, on: datetime.date) -> None:
    """特困 termination: the person moves to 低保 or 临时救助 if eligible — an application opened on their behalf
    (主动发现), decided by its own procedure."""
    from minzheng.cases import services as cases
    from minzheng.cases.models import Channel

    if (
        Case.objects.filter(household=case.household, service__code=service_code)
        .exclude(Q(state__in=("approved", "refused", "not_accepted", "withdrawn", "transferred")))
        .exists()
    ):
        return
    cases.open_application(
        user,
        household_id=case.household_id,
        service_code=service_code,
        applicant_id=case.applicant_id,
        channel=Channel.PROACTIVE,
        note=f"由复核决定 {case.number} 终止后转入",
        today=on,
    )


def params_record(keys: list[str], region: str, on: datetime.date) -> dict:
    return {k: v.as_record() for k, v in resolve_many(keys, region, on).items()}

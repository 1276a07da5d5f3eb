"""Case operations: the only code that changes cases. Each action is validated against the workflow, the actor's
role and scope and the case's version (optimistic locking), appended as an event, audited, and the cached state and
current deadline are refreshed in the same transaction. The steps themselves are in `steps.py`."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError, PermissionDeniedError
from minzheng.policy.models import ServiceItem
from minzheng.registry.identifiers import parse_identity_number
from minzheng.registry.models import Household, Membership, Person

from . import decisions, eventlog, procedure, steps, values
from . import workflows as wf
from .models import Case, CaseMaterial, Channel


def available_actions(user, case: Case) -> list[wf.Action]:
    workflow = wf.WORKFLOWS.get(case.service.workflow)
    if workflow is None:
        return []
    return [a for a in workflow.allowed(case.state) if procedure.can_act(user, case, a)]


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
    today = values.date(today, "申请日期", timezone.localdate()) if today else timezone.localdate()
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
        entrusted_name = values.text(entrusted_name, "受托人姓名", "entrusted_name")
        entrusted_id_number = parse_identity_number(entrusted_id_number).number
    else:
        entrusted_name = entrusted_id_number = ""
    known = {m.code: m for m in service.materials.all()}
    codes = set(received or [])
    unknown = codes - set(known)
    codes = procedure.with_signatures(codes, authorisation_signed, pledge_signed) & set(known)
    if unknown:
        raise DomainError(f"材料编码不正确：{'、'.join(sorted(unknown))}", "unknown_material", field="materials")
    duplicate = Case.objects.filter(household=household, service=service).exclude(state__in=wf.FINAL_STATES).first()
    if duplicate is not None:
        raise Conflict(
            f"该家庭已有在办的“{service.name}”申请（{duplicate.number}），请勿重复申请",
            "duplicate_case",
            existing_id=duplicate.pk,
        )
    conflicts = procedure.conflicts(household)
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
            eventlog.append(case, user, "submit", wf.PENDING, today, submitted, note)
            if conflicts:
                eventlog.append(
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
                eventlog.append(
                    case,
                    user,
                    "transfer",
                    wf.TRANSFERRED,
                    today,
                    {"to": service.get_deciding_level_display(), "missing": procedure.missing_materials(case)},
                    note,
                )
            elif not procedure.missing_materials(case):
                steps.do_accept(case, user, today, "")
            eventlog.refresh(case)
            return case
    except IntegrityError:  # a simultaneous application for the same item won the race (one_open_case_per_item)
        raise Conflict(f"该家庭已有在办的“{service.name}”申请，请勿重复申请", "duplicate_case") from None


def workflow_of_or_none(service: ServiceItem):
    return wf.WORKFLOWS.get(service.workflow)


# ---------------------------------------------------------------- actions


def act(
    user, case_id: int, action: str, *, expected_version: int | None = None, today: datetime.date | None = None, **data
) -> Case:
    """Take one workflow action on a case. Raises DomainError (nothing changed) when it is not allowed."""
    require(user, Capability.EDIT_PEOPLE)
    case = Case.objects.select_related("service", "household").get_for_user(user, pk=case_id)
    today = action_date(case, today)
    workflow = procedure.workflow_of(case)
    step = workflow.actions.get(action)
    if step is None:
        raise DomainError(f"“{case.service.name}”没有“{action}”这一办理环节", "unknown_action")
    if case.state not in step.sources:
        raise DomainError(
            f"案件当前状态为“{wf.STATE_LABELS[case.state]}”，不能执行“{step.label}”", "illegal_transition"
        )
    if not procedure.can_act(user, case, step):
        raise PermissionDeniedError(f"“{step.label}”须由{procedure.actor_names(case, step)}办理", "forbidden")
    with transaction.atomic():
        # Optimistic lock, claimed first: of two officers acting on the same version only one gets the row.
        claimed = Case.objects.filter(
            pk=case.pk, version=case.version if expected_version is None else expected_version
        )
        if claimed.update(version=F("version") + 1) != 1:
            raise Conflict("案件已被他人办理，请刷新后重试", "stale_version")
        case.version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
        handler = steps.HANDLERS[action]
        target, payload, note = handler(case, user, workflow, today, data)
        event = eventlog.append(case, user, action, target or case.state, today, payload, note)
        eventlog.refresh(case)
        if event is not None and action in decisions.DECISION_ACTIONS:
            decisions.decided.send(sender=Case, case=case, event=event, user=user, on=today)
        detail = {"action": action, "state": case.state}
        payload = payload or {}
        if payload.get("check_override"):
            # Confirmed against the check's verdict: the concerns and the officer's reasons, in the audit log too.
            detail["check_override"] = payload["check_override"]
        if payload.get("amount_reason"):
            detail["amount"] = {k: payload.get(k) for k in ("amount", "computed_amount", "amount_reason")}
        audit.record(audit.Action.UPDATE, user=user, obj=case, detail=detail)
    return case


def action_date(case: Case, on: datetime.date | str | None) -> datetime.date:
    """The date the step was taken (办理日期): today by default; an earlier date records paper-first work after the
    fact (the event keeps the time it was recorded too), but never before the case's previous step."""
    real_today = timezone.localdate()
    if on in (None, ""):
        return real_today
    on = values.date(on, "办理日期", real_today)
    last = case.events.order_by("-seq").values_list("on", flat=True).first()
    if last and on < last:
        raise DomainError(f"办理日期不能早于上一环节的日期（{last:%Y-%m-%d}）", "invalid_date", field="on")
    return on


def view_case(user, case_id: int) -> Case:
    require(user, Capability.VIEW_PEOPLE)
    case = Case.objects.select_related("service", "household", "applicant", "region", "created_by").get_for_user(
        user, pk=case_id
    )
    audit.record(audit.Action.VIEW, user=user, obj=case)
    return case


def household_size(case: Case) -> int:
    return Membership.objects.filter(household_id=case.household_id, left_on__isnull=True).count()


def applicant(case: Case) -> Person:
    return case.applicant

"""一门受理、协同办理 (ZX §60; YJ §23): referring a need to the department concerned and recording its reply."""

import datetime

from django.db import transaction
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.workdays import WorkingCalendar
from minzheng.registry.models import Household

from . import values
from .models import Case, Referral


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
            need=values.text(need, "转办需求", "need"),
            referred_on=today,
            due=deadline.due,
            due_provisional=deadline.provisional,
            created_by=user,
        )
        audit.record(audit.Action.CREATE, user=user, obj=referral, label=f"转办 {referral.get_department_display()}")
    return referral


def record_referral_reply(user, referral_id: int, reply: str, today: datetime.date | None = None) -> Referral:
    require(user, Capability.EDIT_PEOPLE)
    referral = Referral.objects.get_for_user(user, pk=referral_id)
    if referral.replied_on:
        raise DomainError("该转办已登记回复", "already_replied")
    referral.reply = values.text(reply, "部门回复", "reply")
    referral.replied_on = today or timezone.localdate()
    referral.save(update_fields=["reply", "replied_on"])
    audit.record(audit.Action.UPDATE, user=user, obj=referral, label=f"转办回复 {referral.get_department_display()}")
    return referral

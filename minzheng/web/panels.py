"""The workbench panels of the roles whose day is not the case queue: the auditor's trail of today, and the
administrator's housekeeping (users, parameters, next year's holiday table)."""

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.models import AuditEntry, CalendarYear
from minzheng.core.panels import WORKBENCH, Panel, register
from minzheng.core.workdays import library_knows

from .audit_views import scoped_entries


@register(WORKBENCH, order=40)
def audit_today(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_AUDIT):
        return None
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    counts = (
        scoped_entries(user)
        .filter(at__gte=start)
        .aggregate(
            total=Count("pk"),
            failed=Count("pk", filter=Q(action=AuditEntry.Action.LOGIN_FAILED)),
            exports=Count("pk", filter=Q(action=AuditEntry.Action.EXPORT)),
            searches=Count("pk", filter=Q(action__in=(AuditEntry.Action.SEARCH, AuditEntry.Action.CHECK))),
        )
    )
    return Panel(
        "今日审计",
        "web/_panel_audit.html",
        {"counts": counts, "today": today},
        key="audit",
        attention=counts["failed"],
        wide=True,
    )


@register(WORKBENCH, order=50)
def administration(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.MANAGE_USERS):
        return None
    # Deadlines run into next year long before the State Council publishes its holidays (usually in November).
    next_year = today.year + 1
    entry = CalendarYear.objects.filter(year=next_year).first()
    if library_knows(next_year):
        holidays = ""
    elif entry is None:
        holidays = f"{next_year}年节假日安排尚未录入，跨年的办理时限暂按周一至周五计算"
    elif not entry.official:
        holidays = f"{next_year}年节假日安排已录入，尚未标记为已按国务院办公厅通知正式录入"
    else:
        holidays = ""
    return Panel(
        "系统管理",
        "web/_panel_admin.html",
        {"holidays": holidays, "next_year": next_year},
        key="admin",
        attention=1 if holidays else 0,
    )

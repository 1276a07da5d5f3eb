"""What monitoring contributes to the shared pages (core.panels): the warnings to visit on the workbench, and the
household's warnings and monitored categories on its page."""

import datetime

from django.db.models import Count, F, Q
from django.urls import reverse

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.masking import mask_name
from minzheng.core.panels import HOUSEHOLD, WORKBENCH, Panel, register
from minzheng.core.workdays import WorkingCalendar

from . import services, texts
from .models import Alert, MonitoredEntry, Outcome
from .views import due_soon_days  # the alert list's own 临期 parameter

WORKBENCH_ROWS = 6


@register(WORKBENCH, order=20)
def warnings_to_visit(request, today: datetime.date) -> Panel | None:
    """预警任务: open warnings in scope — awaiting the home visit, visited and awaiting a decision — with the overdue
    and due-soon ones first (the alert list's own flags)."""
    user = request.user
    if not has_capability(user, Capability.VIEW_MONITORING):
        return None
    open_alerts = services.alerts_for(user).filter(~Q(status=Alert.Status.CLOSED))
    soon_limit = WorkingCalendar().add_working_days(today, due_soon_days(user.region_id, today) + 1).due
    counts = open_alerts.aggregate(
        to_visit=Count("pk", filter=Q(status=Alert.Status.OPEN)),
        visited=Count("pk", filter=Q(status=Alert.Status.VISITED)),
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        due_soon=Count("pk", filter=Q(due_on__gte=today, due_on__lt=soon_limit)),
    )
    rows = [
        {
            "alert": a,
            "url": reverse("monitoring:alert", args=[a.pk]),
            "rule": texts.rule_name(a.rule),
            "person": mask_name(a.person.name) if a.person_id else "",
            "overdue": bool(a.due_on and a.due_on < today),
            "due_soon": bool(a.due_on and today <= a.due_on < soon_limit),
        }
        for a in open_alerts.select_related("person").order_by(F("due_on").asc(nulls_last=True), "id")[:WORKBENCH_ROWS]
    ]
    return Panel(
        "监测预警待处置" if has_capability(user, Capability.HANDLE_WARNINGS) else "监测预警概况",
        "monitoring/_panel_warnings.html",
        {"counts": counts, "rows": rows, "can_dashboard": True},
        key="warnings",
        attention=counts["overdue"] + counts["due_soon"],
    )


@register(HOUSEHOLD, order=30)
def household_warnings(request, household) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_MONITORING):
        return None
    alerts = list(
        Alert.objects.for_user(user)
        .filter(household=household)
        .select_related("person")
        .only("number", "rule", "raised_on", "status", "outcome", "case", "person__name")
        .annotate(case_number=F("case__number"))  # the follow-up case's number, not the whole case
        .order_by("-raised_on", "-id")[:50]
    )
    rows = [
        {
            "alert": a,
            "url": reverse("monitoring:alert", args=[a.pk]),
            "rule": texts.rule_name(a.rule),
            "person": mask_name(a.person.name) if a.person_id else "",
            "outcome": Outcome(a.outcome).label if a.outcome in Outcome.values else "",
            "open": a.status != Alert.Status.CLOSED,
        }
        for a in alerts
    ]
    rows.sort(key=lambda r: not r["open"])
    entries = (
        MonitoredEntry.objects.filter(household=household, end_on__isnull=True)
        .order_by("category", "id")
        .values_list("category", "person__name")
    )
    labels = dict(MonitoredEntry._meta.get_field("category").flatchoices)
    categories: dict[str, list[str]] = {}
    for category, name in entries:
        categories.setdefault(labels.get(category, category), []).append(mask_name(name))
    return Panel(
        "监测与预警",
        "monitoring/_panel_household.html",
        {"rows": rows, "categories": categories, "household": household},
        key="household-warnings",
        attention=sum(1 for r in rows if r["open"]),
    )

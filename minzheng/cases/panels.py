"""What cases contributes to the shared pages (core.panels): the work queue and the referrals due on the workbench,
the household's cases and referrals on its page, and cases found by number in the registry's search box."""

import datetime
import re

from django.urls import reverse
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core import audit
from minzheng.core.masking import mask_name
from minzheng.core.panels import HOUSEHOLD, SEARCH, WORKBENCH, Panel, register
from minzheng.registry.identifiers import fold_input

from . import queries
from . import workflows as wf
from .models import Case, Referral

WORKBENCH_ROWS = 6


@register(WORKBENCH, order=10)
def work_queue(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_PEOPLE) or queries.role_queue_filter(user.role) is None:
        return None
    queue = queries.work_queue(user, today=today)
    if queue.overview:
        title = "在办案件总览"
    elif user.role == "county_approver":
        title = "待审核确认"
    else:
        title = "我的待办"
    return Panel(
        title,
        "cases/_panel_queue.html",
        {"queue": queue, "rows": queue.rows[:WORKBENCH_ROWS], "children": queue.children[:8]},
        key="queue",
        attention=queue.overdue + queue.due_soon,
        wide=queue.overview,
    )


@register(WORKBENCH, order=30)
def referrals_due(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_PEOPLE):
        return None
    result = queries.referral_list(user, queries.ReferralFilters(status="open"), today=today)
    return Panel(
        "转办待回复",
        "cases/_panel_referrals.html",
        {"result": result, "rows": result.rows[:WORKBENCH_ROWS]},
        key="referrals",
        attention=result.overdue,
    )


_PANEL_FIELDS = (
    "number",
    "state",
    "submitted_on",
    "current_step",
    "current_due",
    "decided_on",
    "decided_amount",
    "proposed_amount",
    "service__name",
    "service__workflow",
    "applicant__name",
)


@register(HOUSEHOLD, order=10)
def household_cases(request, household) -> Panel | None:
    """Every case of the household in the user's scope, open ones first, with its state, deadline and amount."""
    user = request.user
    if not has_capability(user, Capability.VIEW_PEOPLE):
        return None
    today = timezone.localdate()
    cases = list(
        Case.objects.for_user(user)
        .filter(household=household)
        .select_related("service", "applicant")
        .only(*_PANEL_FIELDS)  # what the panel shows: a case and its joins carry some seventy columns
        .order_by("-submitted_on", "-id")[:100]
    )
    rows = []
    for case in cases:
        final = case.state in wf.FINAL_STATES
        amount = case.decided_amount if case.decided_amount is not None else case.proposed_amount
        rows.append(
            {
                "case": case,
                "url": reverse("cases:case", args=[case.pk]),
                "state_label": wf.STATE_LABELS.get(case.state, case.state),
                "final": final,
                "applicant": mask_name(case.applicant.name),
                "amount": amount,
                "amount_label": "核定" if case.decided_amount is not None else "拟",
                "unit": wf.amount_unit(case.service.workflow),
                "overdue": bool(not final and case.current_due and case.current_due < today),
            }
        )
    rows.sort(key=lambda r: r["final"])  # open first, each group newest first
    referrals = list(Referral.objects.for_user(user).filter(household=household).order_by("-referred_on", "-id")[:20])
    return Panel(
        "申请与案件",
        "cases/_panel_household_cases.html",
        {
            "rows": rows,
            "open": sum(1 for r in rows if not r["final"]),
            "referrals": referrals,
            "today": today,
            "can_apply": has_capability(user, Capability.EDIT_PEOPLE),
            "household": household,
        },
        key="household-cases",
        wide=True,
        attention=sum(1 for r in rows if r["overdue"]),
    )


_CASE_NUMBER = re.compile(r"^MZ\d{4,11}$")


@register(SEARCH, order=10)
def cases_by_number(request, query: str) -> Panel | None:
    """A case number typed into the registry's search box: the case(s) it names, in the user's scope."""
    user = request.user
    folded = fold_input(query)
    if not _CASE_NUMBER.match(folded) or not has_capability(user, Capability.VIEW_PEOPLE):
        return None
    audit.record(
        audit.Action.SEARCH,
        user=user,
        object_type="case",
        label=f"案件编号查询：{folded}",
        region_code=user.region_id,
        detail={"kind": "case", "q": folded},
    )
    found = list(
        Case.objects.for_user(user)
        .filter(number__startswith=folded)
        .select_related("service", "applicant", "household", "region")
        .order_by("number")[:50]
    )
    rows = [
        {
            "case": c,
            "url": reverse("cases:case", args=[c.pk]),
            "household_url": reverse("registry:household", args=[c.household_id]),
            "state_label": wf.STATE_LABELS.get(c.state, c.state),
            "applicant": mask_name(c.applicant.name),
        }
        for c in found
    ]
    return Panel(f"案件（{len(rows)}）", "cases/_panel_search.html", {"rows": rows}, key="search-cases", wide=True)

"""The follow-up part of the monitoring demo: the demo staff visit a share of the warnings in their reach and close
some of them, and an earlier sweep's warnings are aged into a backlog (overdue and due-soon tasks)."""

import datetime
import functools
import random
from dataclasses import dataclass

from minzheng.core.errors import DomainError
from minzheng.core.workdays import WorkingCalendar
from minzheng.monitoring import services, texts
from minzheng.monitoring.models import Alert, Outcome, Sweep, Visit
from minzheng.regions import codes as region_codes

VISIT_SHARE = 0.45  # of the warnings in reach of the demo staff, visited …
CLOSE_SHARE = 0.5  # … and of those visited, closed


@dataclass(kw_only=True)
class FollowUpCounts:
    visits: int = 0
    closed: int = 0
    cases_opened: int = 0
    referrals: int = 0


def _staff_for(region_id: str, users: list) -> list:
    """The demo staff who may handle a warning of this village, nearest first."""
    return sorted((u for u in users if u.region.contains(region_id)), key=lambda u: u.region.level, reverse=True)


_FINDINGS = [(Visit.Finding.CONFIRMED, 6), (Visit.Finding.PARTLY, 2), (Visit.Finding.NOT_CONFIRMED, 1)]
_VISIT_NOTES = {
    "death_member": "入户核实：家属确认成员已去世，已收集死亡证明复印件，家庭现有人口待复核。",
    "registration_change": "入户核实：该成员已不在家中居住，家属提供了户口迁移证明。",
    "employed": "入户核实：该成员已在当地企业务工，工资收入待核对。",
    "unemployed": "入户核实：该成员失业在家，有就业意愿，需要就业援助。",
    "medical_high": "入户核实：家庭成员患病住院，自付医疗费用较高，家庭生活困难。",
    "disability_new": "入户核实：已办理残疾人证，生活需要照料。",
    "dropout": "入户核实：学生已停学在家，家长称因家庭困难。",
    "student_aid": "入户核实：学生在校就读，家庭收入较低。",
    "disaster": "入户核实：房屋及财产受灾，家庭基本生活受到影响。",
    "anti_poverty": "入户核实：家庭已纳入防止返贫监测，收入不稳定。",
    "recheck_change": "入户核实：家庭收入、人口情况有变化。",
}
_NOT_CONFIRMED = "入户核实：家庭实际情况与部门信息不符，已请数据提供部门核对。"
_NEEDS = {
    "medical_high": "医疗救助、临时救助",
    "disaster": "临时救助、住房修缮",
    "unemployed": "就业援助",
    "disability_new": "残疾人两项补贴",
    "student_aid": "教育救助",
    "anti_poverty": "低保申请",
}


def follow_up(result: FollowUpCounts, alerts, walk_household: int | None, walk_village: str, seed: int, today) -> None:
    """Visits and closures by the demo staff on the warnings within their reach. The walk-through death warning stays
    open for the walk-through; the other warnings of its village are visited (so the assistant sees one of each
    state) but left open. Deterministic: warnings are taken in number order, choices drawn from `seed`."""
    from minzheng.accounts.models import User
    from minzheng.accounts.roles import Capability, has_capability

    staff = [
        u
        for u in User.objects.filter(is_active=True, region__isnull=False).select_related("region").order_by("username")
        if has_capability(u, Capability.HANDLE_WARNINGS)
    ]
    if not staff:
        return
    rng = random.Random(seed * 7919 + 5)
    county_staff = [u for u in staff if u.region.level <= region_codes.COUNTY]
    for alert in alerts.order_by("number"):
        if alert.household_id == walk_household and alert.rule == "death_member":
            continue
        near = _staff_for(alert.region_id, staff)
        in_walk_village = alert.region_id == walk_village
        if not near or (rng.random() >= VISIT_SHARE and not in_walk_village):
            continue
        visitor = near[0]
        finding = rng.choices([f for f, _ in _FINDINGS], [w for _, w in _FINDINGS])[0]
        try:
            services.record_visit(
                visitor,
                alert.pk,
                visited_on=today,
                finding=finding,
                notes=_NOT_CONFIRMED
                if finding == Visit.Finding.NOT_CONFIRMED
                else _VISIT_NOTES.get(alert.rule, "入户核实：情况已了解。"),
                needs=_NEEDS.get(alert.rule, ""),
            )
        except DomainError:
            continue
        result.visits += 1
        if in_walk_village or rng.random() >= CLOSE_SHARE:
            continue
        closer = next(
            (u for u in near if alert.level != Alert.Level.COUNTY or u.region.level <= region_codes.COUNTY), None
        ) or next((u for u in county_staff if u.region.contains(alert.region_id)), None)
        if closer is None:
            continue
        _close(result, closer, alert, today, finding == Visit.Finding.NOT_CONFIRMED)


# Of the first sweep's open warnings (the backlog of data delivered before the platform went live), one in
# BACKLOG_EVERY is dated OVERDUE_DAYS calendar days back and the next one so that its task falls due tomorrow-ish.
BACKLOG_EVERY = 5
OVERDUE_DAYS = 25


def age_backlog(first: Sweep, today: datetime.date) -> None:
    """Date part of the first sweep's warnings as raised earlier, deadlines recomputed the services' way, so the
    queues and the dashboard show overdue and due-soon tasks as a working county's would. A warning is never dated
    before its signal."""
    calendar = WorkingCalendar()
    deadline = functools.cache(lambda region, level, raised: services.task_due(region, level, raised, calendar))
    soon = calendar.add_working_days(today, 1).due

    def due_soon_raise(region: str, level: str) -> datetime.date:
        back = 1
        while deadline(region, level, today - datetime.timedelta(days=back + 1)).due >= soon:
            back += 1
        return today - datetime.timedelta(days=back)

    aged = []
    backlog = Alert.objects.filter(sweep=first, status=Alert.Status.OPEN).order_by("number")
    for i, alert in enumerate(backlog.only("pk", "region_id", "level", "signal_on")):
        county = alert.region_id[:6] + "000000"
        if i % BACKLOG_EVERY == 0:
            raised = today - datetime.timedelta(days=OVERDUE_DAYS)
        elif i % BACKLOG_EVERY == 1:
            raised = due_soon_raise(county, alert.level)
        else:
            continue
        if alert.signal_on > raised:
            continue
        d = deadline(county, alert.level, raised)
        alert.raised_on, alert.due_on, alert.due_provisional = raised, d.due, d.provisional
        aged.append(alert)
    Alert.objects.bulk_update(aged, ["raised_on", "due_on", "due_provisional"], batch_size=1000)


def _close(result: FollowUpCounts, user, alert: Alert, today: datetime.date, not_confirmed: bool) -> None:
    """Close with what the warning suggests: a case where a service fits, else a referral, else record only."""
    outcome = alert.suggested_outcome
    complex_case = outcome == Outcome.COMPLEX
    # A complex warning is settled by the county (一事一议) with whatever help fits the rule's ordinary route.
    service = texts.SERVICE_FOR.get((alert.rule, outcome)) or texts.SERVICE_FOR.get((alert.rule, Outcome.APPLY))
    department = texts.DEPARTMENT_FOR.get(alert.rule, "")
    how = "经县级“一事一议”研究，" if complex_case else "入户核实后，"
    case_first = [("case", f"{how}主动为家庭办理{texts.rule_name(alert.rule)}相关救助申请。")] if service else []
    referral = [("referral", "已转介相关部门落实政策，跟踪办理结果。")] if department else []
    record_only = [("none", "入户核实后已向家庭说明政策，暂无需进一步处置，纳入日常走访。")]
    if not_confirmed:
        attempts = record_only
    elif outcome == Outcome.APPLY:
        attempts = referral + case_first + record_only
    else:
        attempts = case_first + referral + record_only
    for action, note in attempts:
        try:
            services.close_alert(
                user,
                alert.pk,
                outcome=outcome,
                note=note,
                action=action,
                service_code=service or "",
                department=department,
                today=today,
            )
        except DomainError:
            continue
        result.closed += 1
        result.cases_opened += action == "case"
        result.referrals += action == "referral"
        return

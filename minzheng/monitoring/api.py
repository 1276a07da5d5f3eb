"""Monitoring API: the warning rules, warnings with their follow-up (visits, closing), sweeps, the register.

Thin: parse, call `minzheng.monitoring.services`, shape the answer. Signals are pushed through the departmental data
endpoint (`POST /api/v1/checks/sources/{feed}/rows`), validated like every other delivery. Names and identity numbers
are masked in every answer; opening one warning is audited like its page.
"""

import datetime

from ninja import Router, Schema, Status

from minzheng.accounts.roles import Capability, require
from minzheng.core.ids import Cursor, Id, Version
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.runs import refresh_stale
from minzheng.core.scoping import get_in

from . import selectors, services, texts
from .models import Alert, Outcome, Sweep, Visit
from .rules import RULES

router = Router(tags=["低收入人口动态监测"])

MAX_LIMIT = 500


class RuleOut(Schema):
    code: str
    name: str
    feed: str


class VisitOut(Schema):
    id: int
    visited_on: datetime.date
    finding: str
    finding_name: str
    notes: str
    needs: str
    visitor: str


class AlertOut(Schema):
    id: int
    number: str
    household_id: int
    household_number: str
    person_name: str  # masked
    person_id_number: str  # masked
    region_code: str
    rule: str
    rule_name: str
    summary: str
    suggested_outcome: str
    suggested_outcome_name: str
    level: str
    status: str
    signal_on: datetime.date
    raised_on: datetime.date
    due_on: datetime.date | None
    due_provisional: bool
    action_due_on: datetime.date | None
    outcome: str
    closed_on: datetime.date | None
    case_number: str
    version: int


class AlertDetailOut(AlertOut):
    detail: dict
    evidence: list[dict]
    closing_note: str
    visits: list[VisitOut]


class VisitIn(Schema):
    visited_on: datetime.date
    finding: str
    notes: str
    needs: str = ""
    expected_version: Version | None = None


class CloseIn(Schema):
    outcome: str
    note: str
    action: str = "none"
    service_code: str = ""
    department: str = ""
    expected_version: Version | None = None


class SweepIn(Schema):
    region: str
    as_of: datetime.date | None = None


class SweepOut(Schema):
    id: int
    region_code: str
    as_of: datetime.date
    status: str
    progress: int
    message: str
    stats: dict
    error: str


class EntryOut(Schema):
    id: int
    person_name: str
    person_id_number: str
    household_id: int
    region_code: str
    category: str
    category_name: str
    start_on: datetime.date
    end_on: datetime.date | None
    source: str
    reference: str


def _alert_out(a: Alert) -> dict:
    person = a.person
    return {
        "id": a.pk,
        "number": a.number,
        "household_id": a.household_id,
        "household_number": a.household.number,
        "person_name": mask_name(person.name) if person else "",
        "person_id_number": mask_id_number(person.id_number) if person else "",
        "region_code": a.region_id,
        "rule": a.rule,
        "rule_name": texts.rule_name(a.rule),
        "summary": a.summary,
        "suggested_outcome": a.suggested_outcome,
        "suggested_outcome_name": Outcome(a.suggested_outcome).label,
        "level": a.level,
        "status": a.status,
        "signal_on": a.signal_on,
        "raised_on": a.raised_on,
        "due_on": a.due_on,
        "due_provisional": a.due_provisional,
        "action_due_on": a.action_due_on,
        "outcome": a.outcome,
        "closed_on": a.closed_on,
        "case_number": a.case.number if a.case_id else "",
        "version": a.version,
    }


def _visit_out(v: Visit) -> dict:
    return {
        "id": v.pk,
        "visited_on": v.visited_on,
        "finding": v.finding,
        "finding_name": v.get_finding_display(),
        "notes": v.notes,
        "needs": v.needs,
        "visitor": v.visitor.get_username(),
    }


def _detail(a: Alert) -> dict:
    return {
        **_alert_out(a),
        "detail": a.detail,
        "evidence": a.evidence,
        "closing_note": a.closing_note,
        "visits": [_visit_out(v) for v in a.visits.select_related("visitor")],
    }


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


@router.get("/rules", response=list[RuleOut], summary="预警规则")
def list_rules(request):
    require(request.user, Capability.VIEW_MONITORING)
    return [RuleOut(code=code, name=name, feed=feed) for code, (name, feed) in RULES.items()]


@router.get("/alerts", response=list[AlertOut], summary="本辖区的监测预警（按编号翻页：after_id）")
def list_alerts(request, status: str = "all", rule: str = "", region: str = "", after_id: Cursor = 0, limit: int = 100):
    filters = {"status": status or "all", "rule": rule, "region": region}
    qs = selectors.warnings(request.user, filters, [], strict=True).filter(pk__gt=after_id).order_by("pk")
    rows = [_alert_out(a) for a in qs[: _limit(limit)]]
    # The same audit entry as the page's: a list of personal data was read.
    selectors.record_warning_list(
        request.user, {k: v for k, v in filters.items() if v} | {"after_id": after_id, "api": True}
    )
    return rows


@router.get("/alerts/{alert_id}", response=AlertDetailOut, summary="一条预警及其走访、办结情况（记入审计日志）")
def get_alert(request, alert_id: Id):
    return _detail(services.view_alert(request.user, alert_id))


@router.post("/alerts/{alert_id}/visits", response={201: VisitOut}, summary="登记入户核实情况")
def post_visit(request, alert_id: Id, body: VisitIn):
    visit = services.record_visit(
        request.user,
        alert_id,
        visited_on=body.visited_on,
        finding=body.finding,
        notes=body.notes,
        needs=body.needs,
        expected_version=body.expected_version,
    )
    return Status(201, _visit_out(visit))


@router.post("/alerts/{alert_id}/close", response=AlertDetailOut, summary="办结预警：处置结果及形成的案件或转介")
def close(request, alert_id: Id, body: CloseIn):
    services.close_alert(
        request.user,
        alert_id,
        outcome=body.outcome,
        note=body.note,
        action=body.action,
        service_code=body.service_code,
        department=body.department,
        expected_version=body.expected_version,
    )
    return _detail(services.alerts_for(request.user).get(pk=alert_id))


def _sweep_out(s: Sweep) -> dict:
    return {
        "id": s.pk,
        "region_code": s.region_id,
        "as_of": s.as_of,
        "status": s.status,
        "progress": s.progress,
        "message": s.message,
        "stats": s.stats,
        "error": s.error,
    }


@router.post("/sweeps", response={202: SweepOut}, summary="发起监测比对（后台运行，查询进度见 GET /sweeps/{id}）")
def post_sweep(request, body: SweepIn):
    from django.utils import timezone

    sweep = services.start_sweep(request.user, body.region, body.as_of or timezone.localdate())
    return Status(202, _sweep_out(sweep))


@router.get("/sweeps/{sweep_id}", response=SweepOut, summary="监测比对的进度与统计")
def get_sweep(request, sweep_id: Id):
    sweep = get_in(services.sweeps_for(request.user), request.user, "监测比对不存在或不在您的管辖范围内", pk=sweep_id)
    return _sweep_out(refresh_stale(sweep))  # a sweep whose worker is gone answers failed, not running forever


@router.get("/register", response=list[EntryOut], summary="监测对象名册（按编号翻页：after_id）")
def list_register(
    request, category: str = "", current: bool = True, region: str = "", after_id: Cursor = 0, limit: int = 100
):
    _every, qs = selectors.register(
        request.user, category=category, history=not current, region=region, notes=[], strict=True
    )
    qs = qs.filter(pk__gt=after_id).select_related("person").order_by("pk")
    selectors.record_register_view(
        request.user,
        {"category": category, "history": not current, "region": region, "after_id": after_id, "api": True},
    )
    return [
        EntryOut(
            id=e.pk,
            person_name=mask_name(e.person.name),
            person_id_number=mask_id_number(e.person.id_number),
            household_id=e.household_id,
            region_code=e.region_id,
            category=e.category,
            category_name=e.get_category_display(),
            start_on=e.start_on,
            end_on=e.end_on,
            source=e.source,
            reference=e.reference,
        )
        for e in qs[: _limit(limit)]
    ]

"""Monitoring pages (issue 5): the warning task queue and each warning's follow-up, the household's rescue chain, the
monitored population, the sweeps with their progress and unmatched-signal reports, and the dashboard. Thin: parse,
call `minzheng.monitoring.services` (the only place state changes) or a read-only query module, render."""

import datetime
import unicodedata

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core.errors import DomainError, NotFound, PermissionDeniedError
from minzheng.core.forms import attach_error
from minzheng.core.http import rerun, run_progress, staff_view
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.runs import fail_stale, refresh_stale
from minzheng.core.scoping import get_in
from minzheng.core.workdays import WorkingCalendar
from minzheng.exchange.sources import ALL_SOURCES
from minzheng.policy.parameters import resolve
from minzheng.registry.models import Household, Person

from . import chain as chains
from . import dashboard as dashboards
from . import selectors, services, texts
from .forms import CloseForm, EntryForm, SweepForm, VisitForm
from .models import Alert, Category, Outcome, Sweep
from .rules import RULES

PAGE_SIZE = 50
STATUS_FILTERS = [("active", "未办结"), *Alert.Status.choices, ("all", "全部")]
SWEEP_STATS = {
    "signals": "读取信号",
    "matched": "匹配到比对区域内家庭成员",
    "unmatched_person": "未匹配到登记人员",
    "outside_households": "已登记但不在比对区域内家庭",
    "candidates": "触发规则",
    "warnings": "新增预警",
    "suppressed": "重复抑制",
    "register_opened": "名册新增",
    "register_closed": "名册退出",
    "anti_poverty_opened": "防返贫新纳入",
    "anti_poverty_closed": "防返贫风险消除",
}
TIMINGS = {"read_seconds": "读取数据", "engine_seconds": "规则比对", "write_seconds": "写入预警"}


def _today() -> datetime.date:
    return timezone.localdate()


def _page(request: HttpRequest, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest, **changes: str) -> str:
    """The current filters for a link: no page number, with `changes` set (each key once)."""
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


def _region_input(raw: str | None) -> str:
    """A typed region code, with full-width digits (as a Chinese IME gives them) folded to ASCII."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def due_soon_days(region_code: str, today: datetime.date) -> int:
    """预警任务临期提醒 (parameter monitoring.due_soon_wd)."""
    try:
        return max(int(resolve("monitoring.due_soon_wd", region_code, today).value), 0)
    except (TypeError, ValueError, KeyError):
        return 2


# ------------------------------------------------------------------------------------------------ the task queue


@staff_view
@require_safe
def alerts(request: HttpRequest) -> HttpResponse:
    """预警任务: the user's warnings in scope, earliest deadline first, with filters and overdue/due-soon flags."""
    user = request.user
    today = _today()
    calendar = WorkingCalendar()
    soon_days = due_soon_days(user.region_id, today)
    soon_limit = calendar.add_working_days(today, soon_days + 1).due
    overdue_q = selectors.overdue_q(today)
    soon_q = selectors.open_q() & Q(due_on__gte=today, due_on__lt=soon_limit)
    notes: list[str] = []
    f = {k: request.GET.get(k, "").strip() for k in selectors.ALERT_FILTERS}
    f["status"] = f["status"] or "active"
    f["overdue"] = request.GET.get("overdue", "") in ("1", "on", "true")
    qs = selectors.warnings(user, f, notes)
    counts = qs.aggregate(total=Count("pk"), overdue=Count("pk", filter=overdue_q), due_soon=Count("pk", filter=soon_q))
    if f["overdue"]:
        qs = qs.filter(overdue_q)
    page = _page(request, qs.order_by(F("due_on").asc(nulls_last=True), "id"))
    rows = []
    for a in page.object_list:
        is_open = a.status != Alert.Status.CLOSED
        overdue = bool(is_open and a.due_on and a.due_on < today)
        soon = bool(is_open and a.due_on and today <= a.due_on < soon_limit)
        rows.append(
            {
                "alert": a,
                "rule_name": texts.rule_name(a.rule),
                "person": mask_name(a.person.name) if a.person_id else "—",
                "id_number": mask_id_number(a.person.id_number) if a.person_id else "",
                "outcome": Outcome(a.suggested_outcome).label if a.suggested_outcome in Outcome.values else "",
                "overdue": overdue,
                "overdue_days": calendar.working_days_between(a.due_on, today) if overdue else None,
                "due_soon": soon,
                "days_left": calendar.working_days_between(today, a.due_on) if soon else None,
            }
        )
    selectors.record_warning_list(user, {k: v for k, v in f.items() if v} | {"page": page.number})
    return render(
        request,
        "monitoring/alerts.html",
        {
            "rows": rows,
            "page": page,
            "counts": counts,
            "filters": f,
            "notes": notes,
            "soon_days": soon_days,
            "today": today,
            "statuses": STATUS_FILTERS,
            "rules": [(code, name) for code, (name, _feed) in RULES.items()],
            "outcomes": Outcome.choices,
            "levels": Alert.Level.choices,
            "base_query": _query_without_page(request),
            "overdue_query": _query_without_page(request, overdue="1"),
        },
    )


# ---------------------------------------------------------------------------------------------- one warning


def _detail_context(request: HttpRequest, alert: Alert, visit_form=None, close_form=None) -> dict:
    user = request.user
    can_handle = has_capability(user, Capability.HANDLE_WARNINGS) and alert.status != Alert.Status.CLOSED
    can_close = services.can_close(user, alert)
    detail = alert.detail or {}
    return {
        "alert": alert,
        "rule_name": texts.rule_name(alert.rule),
        "suggested": Outcome(alert.suggested_outcome).label if alert.suggested_outcome in Outcome.values else "",
        "outcome_label": Outcome(alert.outcome).label if alert.outcome in Outcome.values else "",
        "category_label": Category(detail["category"]).label if detail.get("category") in Category.values else "",
        "person": mask_name(alert.person.name) if alert.person_id else "—",
        "person_id_number": mask_id_number(alert.person.id_number) if alert.person_id else "",
        "head": mask_name(alert.household.head.name) if alert.household.head_id else "—",
        "evidence": chains.evidence(alert, user),
        "visits": list(alert.visits.select_related("visitor").order_by("visited_on", "id")),
        "can_handle": can_handle,
        "can_close": can_close,
        "visit_form": visit_form or (VisitForm(alert=alert) if can_handle else None),
        "close_form": close_form or (CloseForm(alert=alert) if can_close else None),
        "overdue": alert.status != Alert.Status.CLOSED and alert.due_on and alert.due_on < _today(),
        "referral_url": reverse("cases:referrals") + f"#referral-{alert.referral_id}" if alert.referral_id else "",
    }


def _alert(request: HttpRequest, pk: int) -> Alert:
    alert = services.view_alert(request.user, pk)  # scoped and audited
    return Alert.objects.select_related(
        "household__head", "household__region", "person", "region", "case", "referral"
    ).get(pk=alert.pk)


@staff_view
@require_safe
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    return render(request, "monitoring/alert_detail.html", _detail_context(request, alert))


@staff_view
@require_POST
def alert_visit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.HANDLE_WARNINGS)
    alert = _alert(request, pk)
    form = VisitForm(request.POST, alert=alert)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.record_visit(
                request.user,
                alert.pk,
                visited_on=data["visited_on"],
                finding=data["finding"],
                notes=data["notes"],
                needs=data["needs"],
                expected_version=data["expected_version"],
            )
        except (NotFound, PermissionDeniedError):
            raise
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, "已登记入户核实情况")
            return redirect("monitoring:alert", pk=alert.pk)
    return render(request, "monitoring/alert_detail.html", _detail_context(request, alert, visit_form=form), status=400)


@staff_view
@require_POST
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.HANDLE_WARNINGS)
    alert = _alert(request, pk)
    form = CloseForm(request.POST, alert=alert)
    if form.is_valid():
        data = form.cleaned_data
        try:
            closed = services.close_alert(
                request.user,
                alert.pk,
                outcome=data["outcome"],
                note=data["note"],
                action=data["action"],
                service_code=data["service"] if data["action"] == "case" else "",
                department=data["department"] if data["action"] == "referral" else "",
                expected_version=data["expected_version"],
                today=_today(),
            )
        except (NotFound, PermissionDeniedError):
            raise
        except DomainError as exc:
            if exc.field in ("service_code", "service"):
                exc.field = "service"
            attach_error(form, exc)
        else:
            text = f"预警 {closed.number} 已办结"
            if closed.case_id:
                text += f"，已创建案件 {closed.case.number}"
            elif closed.referral_id:
                text += f"，已转介{closed.referral.get_department_display()}"
            messages.success(request, text)
            return redirect("monitoring:alert", pk=alert.pk)
    return render(request, "monitoring/alert_detail.html", _detail_context(request, alert, close_form=form), status=400)


# ---------------------------------------------------------------------------------------- the household's chain


@staff_view
@require_safe
def household_chain(request: HttpRequest, household_id: int) -> HttpResponse:
    entries = chains.household_chain(request.user, household_id)  # capability, scope and audit
    household = Household.objects.select_related("region", "head").get(pk=household_id)
    return render(
        request,
        "monitoring/chain.html",
        {
            "household": household,
            "head": mask_name(household.head.name) if household.head_id else "—",
            "entries": entries,
            "kinds": [{"label": label, "badge": chains.BADGES[k]} for k, label in chains.KINDS.items()],
        },
    )


# ------------------------------------------------------------------------------------------------ the register


@staff_view
def register(request: HttpRequest) -> HttpResponse:
    """监测对象名册: current entries (or the whole history) by category and region; 人工登记 for handlers."""
    user = request.user
    require(user, Capability.VIEW_MONITORING)
    can_register = has_capability(user, Capability.HANDLE_WARNINGS)
    form = EntryForm(request.POST or None) if can_register else None
    status = 200
    if request.method == "POST":
        require(user, Capability.HANDLE_WARNINGS)
        if form.is_valid():
            data = form.cleaned_data
            person_id = Person.objects.filter(id_number=data["id_number"]).values_list("pk", flat=True).first()
            try:
                if person_id is None:
                    raise DomainError("该人员不在您辖区的家庭中", "not_found", field="id_number")
                entry = services.register_entry(
                    user,
                    person_id=person_id,
                    category=data["category"],
                    start_on=data["start_on"],
                    reference=data["reference"],
                )
            except (NotFound, PermissionDeniedError):
                raise
            except DomainError as exc:
                if exc.field == "person":
                    exc.field = "id_number"
                attach_error(form, exc)
            else:
                messages.success(request, f"已登记为{entry.get_category_display()}")
                return redirect("monitoring:register")
        status = 400

    notes: list[str] = []
    history = request.GET.get("history", "") == "all"
    category = request.GET.get("category", "").strip()
    region_raw = request.GET.get("region", "").strip()
    every, qs = selectors.register(user, category=category, history=history, region=region_raw, notes=notes)
    # The per-category counts are the tabs: they ignore the category chosen, so every tab keeps its number.
    by_category = dict(every.order_by().values("category").annotate(n=Count("pk")).values_list("category", "n"))
    category = category if category in Category.values else ""
    page = _page(
        request, qs.select_related("person", "household", "region").order_by("region_id", "household_id", "id")
    )
    rows = [
        {
            "entry": e,
            "name": mask_name(e.person.name),
            "id_number": mask_id_number(e.person.id_number),
        }
        for e in page.object_list
    ]
    selectors.record_register_view(
        user, {"category": category, "history": history, "region": region_raw, "page": page.number}
    )
    return render(
        request,
        "monitoring/register.html",
        {
            "rows": rows,
            "page": page,
            "form": form,
            "categories": [(c, label, by_category.get(c, 0)) for c, label in Category.choices],
            "category": category,
            "history": history,
            "region": region_raw,
            "notes": notes,
            "base_query": _query_without_page(request),
        },
        status=status,
    )


# --------------------------------------------------------------------------------------------------- the sweeps


def _sweeps(user):
    return services.sweeps_for(user)


def _get_sweep(user, pk: int) -> Sweep:
    return get_in(
        _sweeps(user).select_related("region", "started_by"), user, "监测比对记录不存在或不在您的管辖范围内", pk=pk
    )


@staff_view
def sweeps(request: HttpRequest) -> HttpResponse:
    user = request.user
    fail_stale(Sweep.objects.all())  # sweeps whose worker is gone show as failed, not 运行中 forever
    listing = _sweeps(user)
    can_run = has_capability(user, Capability.RUN_MONITORING)
    form = SweepForm(request.POST or None, user=user) if can_run else None
    status = 200
    if request.method == "POST":
        require(user, Capability.RUN_MONITORING)
        if form.is_valid():
            try:
                sweep = services.start_sweep(user, form.cleaned_data["region"], form.cleaned_data["as_of"])
            except NotFound:
                raise
            except PermissionDeniedError as exc:
                form.add_error("region", exc.message)
            except DomainError as exc:
                if exc.code in ("unknown_region", "invalid_region_code"):
                    exc.field = "region"
                attach_error(form, exc)
            else:
                messages.success(request, f"已发起监测比对（第 {sweep.pk} 次），正在后台运行")
                return redirect("monitoring:sweep", pk=sweep.pk)
        status = 400
    rows = [
        (s, reverse("monitoring:sweep", args=[s.pk]), (s.stats.get("signals"), s.stats.get("warnings")))
        for s in listing.select_related("started_by").order_by("-id")[:100]
    ]
    return render(
        request,
        "monitoring/sweeps.html",
        {
            "title": "监测比对",
            "start_label": "开始比对",
            "columns": ("读取信号", "新增预警"),
            "rows": rows,
            "form": form,
            "can_run": can_run,
        },
        status=status,
    )


@staff_view
@require_safe
def sweep_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx every 2 s while the sweep works; at the end the page reloads once."""
    sweep = _get_sweep(request.user, pk)
    return run_progress(request, sweep, progress_url=reverse("monitoring:sweep_progress", args=[pk]), what="监测比对")


@staff_view
@require_safe
def sweep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    sweep = refresh_stale(_get_sweep(user, pk))
    can_run = has_capability(user, Capability.RUN_MONITORING)
    stats = sweep.stats or {}
    can_report = has_capability(user, Capability.IMPORT_DATA) or has_capability(user, Capability.RUN_MONITORING)
    by_feed = stats.get("signals_by_feed", {})
    matched_by_feed = stats.get("matched_by_feed", {})
    snapshots = list(sweep.snapshots.select_related("region").order_by("id"))
    feeds = sorted(set(by_feed) | set(matched_by_feed))
    return render(
        request,
        "monitoring/sweep_detail.html",
        {
            "sweep": sweep,
            "run": sweep,
            "progress_url": reverse("monitoring:sweep_progress", args=[sweep.pk]),
            "stats": [(label, stats[key]) for key, label in SWEEP_STATS.items() if key in stats],
            "timings": [(label, stats[key]) for key, label in TIMINGS.items() if key in stats],
            "feeds": [
                (ALL_SOURCES[f].name if f in ALL_SOURCES else f, by_feed.get(f, 0), matched_by_feed.get(f, 0))
                for f in feeds
            ],
            "by_rule": [(texts.rule_name(r), n) for r, n in (stats.get("by_rule") or {}).items()],
            "snapshots": [
                {
                    "snapshot": s,
                    "name": ALL_SOURCES[s.source].name if s.source in ALL_SOURCES else s.source,
                    "report": can_report and s.rows_unmatched > 0,
                }
                for s in snapshots
            ],
            "can_run": can_run,
            **(
                rerun(reverse("monitoring:sweeps"), region=sweep.region_id, as_of=sweep.as_of.isoformat())
                if can_run and user.region is not None and user.region.contains(sweep.region_id)
                else {}  # a county officer reads the city's nightly sweep but may not run it: no button that fails
            ),
        },
    )


# ------------------------------------------------------------------------------------------------- the dashboard


@staff_view
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """A region the user may not see (or a malformed code) is noted and the user's own region shown, as the lists
    ignore such a filter."""
    raw = _region_input(request.GET.get("region")) or None
    notes = []
    try:
        data = dashboards.dashboard(request.user, raw, today=_today())
    except NotFound as exc:
        notes.append(f"{exc.message}，已显示本辖区")
        data = dashboards.dashboard(request.user, None, today=_today())
    return render(request, "monitoring/dashboard.html", {"d": data, "notes": notes})

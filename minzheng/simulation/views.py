"""政策模拟 pages: the scenarios (list and create), a scenario with its latest run (figures by county, drill-down to
township, the income histogram), the affected households, two scenarios compared, the xlsx and the PDF brief, and
adoption. Thin: parse, call `services`/`selectors`, render; capability, scope and audit are theirs."""

from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit, exports
from minzheng.core.errors import DomainError
from minzheng.core.forms import attach_error
from minzheng.core.http import run_progress, staff_view
from minzheng.policy.catalogue import spec

from . import brief as briefs
from . import selectors, services
from .changes import KEYS
from .forms import ScenarioForm
from .models import Benefit


@staff_view
@require_http_methods(["GET", "POST"])
def scenarios(request: HttpRequest) -> HttpResponse:
    qs = selectors.scenarios_for(request.user)
    form = ScenarioForm(request.POST or None, user=request.user)
    if request.method == "POST":
        require(request.user, Capability.SIMULATE)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            scenario = services.create_scenario(
                request.user,
                name=d["name"],
                region_code=d["region"],
                effective_from=d["effective_from"],
                changes=d["changes"],
                basis=d["basis"],
                include_unauthorised=d["include_unauthorised"],
            )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, f"已保存方案“{scenario.name}”，请点击“开始测算”")
            return redirect("simulation:scenario", scenario.pk)
    rows = [(s, s.latest_run()) for s in qs[:200]]
    can_run = has_capability(request.user, Capability.SIMULATE)
    levers = [(key, spec(key).label) for key in KEYS]  # the form asks for these keys: show which exist
    return render(
        request, "simulation/scenarios.html", {"form": form, "rows": rows, "can_run": can_run, "levers": levers}
    )


def _run_context(request, scenario, run, county: str = "") -> dict:
    user = request.user
    ctx = {"run": run, "county": None, "by_area": {}, "totals": [], "histogram": {}}
    if run is None or run.status != run.Status.COMPLETE:
        return ctx
    ctx["totals"] = selectors.totals_by_benefit(run, user)
    if county:
        from minzheng.regions.models import Region

        ctx["county"] = Region.objects.filter(code=county).first()
    ctx["by_area"] = selectors.by_area(run, user, county=county or None)
    ctx["histogram"] = _histogram(run.stats.get("histogram", {}))
    ctx["caveats"] = briefs.caveats(run)
    ctx["standards"] = briefs.standards(run)
    return ctx


def _histogram(data: dict) -> dict:
    """The stored bins (fen) as yuan labels, each bar's width in percent of the tallest, and the bins holding the
    standards before and after marked."""
    out = {}
    for area, h in data.items():
        top = max((b["households"] for b in h["bins"]), default=0) or 1
        old, new = h["std_before"], h["std_after"]
        bins = []
        for b in h["bins"]:
            low, high = b["low"], b["high"]

            def holds(stds, low=low, high=high):
                return any(v is not None and v >= low and (high is None or v < high) for v in stds)

            bins.append(
                {
                    "label": f"{low // 100}–{high // 100}" if high is not None else f"≥{low // 100}",
                    "households": b["households"],
                    "pct": round(100 * b["households"] / top),
                    "old": holds(old),
                    "new": holds(new),
                }
            )
        out[area] = {
            "label": h["label"],
            "bins": bins,
            "old": "–".join(dict.fromkeys(f"{v // 100}" for v in old if v is not None)),
            "new": "–".join(dict.fromkeys(f"{v // 100}" for v in new if v is not None)),
        }
    return out


@staff_view
@require_safe
def scenario(request: HttpRequest, pk: int) -> HttpResponse:
    s = selectors.scenario_for(request.user, pk)
    run = s.latest_run()
    county = request.GET.get("county", "")
    if county and not (county.isdigit() and len(county) == 12):
        county = ""
    others = selectors.scenarios_for(request.user).exclude(pk=s.pk).filter(runs__status="complete").distinct()[:50]
    ctx = {
        "s": s,
        **_run_context(request, s, run, county),
        "others": others,
        "can_adopt": has_capability(request.user, Capability.SET_PARAMETERS) and not s.adopted_at,
        "can_list": has_capability(request.user, Capability.VIEW_PEOPLE),
        "can_run": has_capability(request.user, Capability.SIMULATE) and request.user.region.contains(s.region_id),
        "benefits": Benefit,
        "progress_url": reverse("simulation:progress", args=[s.pk]),
    }
    return render(request, "simulation/scenario.html", ctx)


@staff_view
@require_POST
def run(request: HttpRequest, pk: int) -> HttpResponse:
    s = selectors.scenario_for(request.user, pk)
    try:
        services.start_run(request.user, s)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("simulation:scenario", s.pk)


@staff_view
@require_safe
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    s = selectors.scenario_for(request.user, pk)
    run = s.latest_run()
    if run is None:
        return HttpResponse("")
    return run_progress(request, run, progress_url=reverse("simulation:progress", args=[s.pk]), what="政策模拟测算")


def _complete_run(request, pk: int):
    s = selectors.scenario_for(request.user, pk)
    run = s.latest_complete_run()
    if run is None:
        raise DomainError("该方案尚未完成测算", "not_run")
    return s, run


@staff_view
@require_safe
def affected(request: HttpRequest, pk: int) -> HttpResponse:
    s, run = _complete_run(request, pk)
    change = request.GET.get("change", "")
    after = selectors.parse_cursor(request.GET.get("after", ""))
    rows = selectors.affected(request.user, run, after=after, change=change, limit=selectors.PAGE + 1)
    more = len(rows) > selectors.PAGE
    rows = rows[: selectors.PAGE]
    next_cursor = f"{rows[-1]['township']},{rows[-1]['household_key']},{rows[-1]['benefit']}" if more else ""
    return render(
        request,
        "simulation/affected.html",
        {"s": s, "run": run, "rows": rows, "change": change, "next": next_cursor, "labels": selectors.CHANGE_LABELS},
    )


@staff_view
@require_safe
def export(request: HttpRequest, pk: int) -> HttpResponse:
    s, run = _complete_run(request, pk)
    target = exports.AuditTarget("scenario", f"政策模拟测算结果导出（方案 {s.pk}）", s.region_id, {"run": run.pk})
    return exports.xlsx_response(request, briefs.table(request.user, run), target)


@staff_view
@require_safe
def brief(request: HttpRequest, pk: int) -> HttpResponse:
    s, run = _complete_run(request, pk)
    built = briefs.build(request.user, run)
    content = briefs.render_pdf(built)
    audit.record_once(audit.Action.EXPORT, user=request.user, obj=s, detail={"format": "pdf", "run": run.pk})
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(briefs.filename(built, 'pdf'), safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
@require_POST
def adopt(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        created = services.adopt(request.user, pk, basis=request.POST.get("basis", ""))
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已采纳方案，写入 {len(created)} 项政策参数")
    return redirect("simulation:scenario", pk)


@staff_view
@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in (request.GET.get("a", ""), request.GET.get("b", "")) if v.isdigit()]
    sides = []
    for pk in ids[:2]:
        s = selectors.scenario_for(request.user, pk)
        run = s.latest_complete_run()
        totals = {t["benefit"]: t for t in selectors.totals_by_benefit(run, request.user)} if run else {}
        counties = selectors.by_area(run, request.user) if run else {}
        sides.append({"s": s, "run": run, "totals": totals, "counties": counties})
    rows = []
    if len(sides) == 2:
        for benefit in Benefit:
            a, b = sides[0]["totals"].get(benefit.value), sides[1]["totals"].get(benefit.value)
            if a or b:
                rows.append({"label": benefit.label, "a": a, "b": b})
        names = {}
        for i, side in enumerate(sides):
            for c in side["counties"].get("dibao", []):
                names.setdefault(c["code"], {"name": c["name"], "a": None, "b": None})["ab"[i]] = c
        county_rows = [names[code] for code in sorted(names)]  # in code order, as on the scenario's page
    else:
        county_rows = []
    choices = selectors.scenarios_for(request.user).filter(runs__status="complete").distinct()[:200]
    if not ids:  # preselect two different scenarios: both lists on the first one invited comparing it with itself
        ids = [c.pk for c in choices[:2]]
    return render(
        request,
        "simulation/compare.html",
        {"sides": sides, "rows": rows, "county_rows": county_rows, "choices": choices, "ids": ids},
    )

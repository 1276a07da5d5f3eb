"""Checking pages: the 核对报告 (page and PDF), the household's authorisation and window check, and batch re-checks
with their differences. Thin: parse, call `minzheng.checks.services`, render. The services check capability and
scope and write the audit entries; nothing here changes a case or a benefit."""

import io
from urllib.parse import quote, urlencode

import xlsxwriter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit, ids
from minzheng.core.errors import DomainError, NotFound, PermissionDeniedError
from minzheng.core.forms import attach_error
from minzheng.core.http import rerun, run_progress, staff_view
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.runs import fail_stale, refresh_stale
from minzheng.regions import codes
from minzheng.registry.models import Household

from . import report as reports
from . import services
from .forms import AuthorisationForm, BatchForm
from .models import CheckResult, CheckRun

PAGE_SIZE = 100
# The differences officers look at first; "无变化" is one click away.
CHANGED = (
    CheckResult.Change.STOP,
    CheckResult.Change.INCREASE,
    CheckResult.Change.DECREASE,
    CheckResult.Change.NOT_CHECKED,
    CheckResult.Change.UNDECIDED,
)
STAT_LABELS = {
    "households": "核对户数",
    "authorised": "有有效授权",
    "recipients": "现行救助家庭",
    "dibao": "符合低保条件",
    "edge": "低保边缘",
    "tekun": "符合特困条件",
    "tekun_pending": "特困待核实",
    "rigid": "刚性支出困难",
    "unconfigured": "低保标准未配置",
}


# ------------------------------------------------------------------------------------------------------ report


@staff_view
@require_safe
def report(request: HttpRequest, pk: int) -> HttpResponse:
    result = services.view_result(request.user, pk)
    return render(
        request,
        "checks/report.html",
        {"r": reports.build(result), "result": result, "can_run": has_capability(request.user, Capability.RUN_CHECKS)},
    )


@staff_view
@require_safe
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as PDF, audited as one export (the export is the view; a double click is one export)."""
    result = services.result_for(request.user, pk)
    built = reports.build(result)
    pdf = reports.render_pdf(built)
    audit.record_once(audit.Action.EXPORT, user=request.user, obj=result, detail={"format": "pdf"})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(reports.filename(built), safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response


# ----------------------------------------------------------------------------------------- household: authorise, check


def _household(request: HttpRequest, household_id: int) -> Household:
    require(request.user, Capability.RUN_CHECKS)
    return Household.objects.select_related("region", "head").get_for_user(request.user, pk=household_id)


@staff_view
def authorise(request: HttpRequest, household_id: int) -> HttpResponse:
    """登记核对授权: the household's signed 授权核对书, every current member and every category ticked by default."""
    household = _household(request, household_id)
    memberships = list(household.current_memberships())
    form = AuthorisationForm(request.POST or None, memberships=memberships)
    if request.method == "POST" and form.is_valid():
        chosen = set(form.cleaned_data["persons"])
        try:
            auth = services.record_authorisation(
                household,
                user=request.user,
                signed_on=form.cleaned_data["signed_on"],
                persons=[m.person for m in memberships if m.person_id in chosen],
                categories=form.cleaned_data["categories"],
            )
        except (NotFound, PermissionDeniedError):
            raise
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, f"已登记核对授权（第 {auth.pk} 号），有效期至 {auth.valid_until:%Y-%m-%d}")
            return redirect("registry:household", pk=household.pk)
    return render(request, "checks/authorisation_form.html", {"household": household, "form": form})


@staff_view
@require_POST
def check_household(request: HttpRequest, household_id: int) -> HttpResponse:
    """经济状况核对 at the window: run the engine for the household now and show the report. A refusal (no valid
    authorisation, no members ...) comes back as a message on the household page; nothing is stored."""
    try:
        result = services.check_household(household_id, user=request.user)
    except (NotFound, PermissionDeniedError):
        raise
    except DomainError as exc:
        messages.error(request, f"未能核对：{exc.message}")
        return redirect("registry:household", pk=household_id)
    messages.success(request, f"核对完成：{result.verdict_label}")
    return redirect("checks:report", pk=result.pk)


# ---------------------------------------------------------------------------------------------------- batch runs


@staff_view
def runs(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_CHECKS)
    can_run = has_capability(request.user, Capability.RUN_CHECKS)
    form = BatchForm(request.POST or None, user=request.user) if can_run else None
    if request.method == "POST":
        require(request.user, Capability.RUN_CHECKS)
        if form.is_valid():
            try:
                run = services.start_batch(request.user, form.cleaned_data["region"], form.cleaned_data["as_of"])
            except (NotFound, PermissionDeniedError):
                raise
            except DomainError as exc:
                exc.field = exc.field or (
                    "region" if exc.code in ("unknown_region", "invalid_region_code", "forbidden") else None
                )
                attach_error(form, exc)
            else:
                messages.success(request, f"已发起批量复核（第 {run.pk} 次），正在后台运行")
                return redirect("checks:run", pk=run.pk)
    fail_stale(CheckRun.objects.all())  # runs whose worker is gone show as failed, not 运行中 forever
    listing = (
        CheckRun.objects.for_user(request.user)
        .filter(kind=CheckRun.Kind.BATCH)
        .select_related("region", "started_by")
        .order_by("-id")[:PAGE_SIZE]
    )
    rows = [
        (run, reverse("checks:run", args=[run.pk]), (run.households, run.stats.get("recipients"))) for run in listing
    ]
    return render(
        request,
        "checks/runs.html",
        {
            "title": "批量复核",
            "start_label": "开始复核",
            "columns": ("核对户数", "现行救助家庭"),
            "rows": rows,
            "form": form,
            "can_run": can_run,
        },
    )


def _progress(request: HttpRequest, run: CheckRun):
    return run_progress(request, run, progress_url=reverse("checks:run_progress", args=[run.pk]), what="批量复核")


@staff_view
@require_safe
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx every 2 seconds while the run works."""
    require(request.user, Capability.VIEW_CHECKS)
    return _progress(request, CheckRun.objects.get_for_user(request.user, pk=pk))


def _change_filter(request: HttpRequest) -> str:
    value = request.GET.get("change", "changed")
    return value if value in ("changed", "all", *CheckResult.Change.values) else "changed"


def _filtered(qs, change: str):
    if change == "changed":
        return qs.filter(change__in=CHANGED)
    if change == "all":
        return qs
    return qs.filter(change=change)


def _new_amount(result: CheckResult):
    return result.new_amount


@staff_view
@require_safe
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run, results = services.differences(request.user, pk)
    run = refresh_stale(run)
    change = _change_filter(request)
    rows, next_after = [], None
    if run.status == CheckRun.Status.COMPLETE:
        # Keyset paging on the primary key (never OFFSET): the run may hold tens of thousands of results.
        after = request.GET.get("after", "")
        qs = _filtered(results, change).order_by("id")
        if ids.parse(after) is not None:
            qs = qs.filter(id__gt=ids.parse(after))
        page = list(qs[: PAGE_SIZE + 1])
        if len(page) > PAGE_SIZE:
            page = page[:PAGE_SIZE]
            next_after = page[-1].pk
        rows = [
            {
                "result": r,
                "head": mask_name(r.household.head.name) if r.household.head_id else "—",
                "new_amount": _new_amount(r),
            }
            for r in page
        ]
    counts = (run.stats or {}).get("changes", {})
    filters = [("changed", "全部有变化", sum(counts.get(c, 0) for c in CHANGED))]
    filters += [(c.value, c.label, counts.get(c.value, 0)) for c in (*CHANGED, CheckResult.Change.UNCHANGED)]
    filters.append(("all", "全部", sum(counts.values())))
    can_open_reviews = (
        run.status == CheckRun.Status.COMPLETE
        and has_capability(request.user, Capability.EDIT_PEOPLE)
        and has_capability(request.user, Capability.RUN_CHECKS)
        and request.user.region.level <= codes.COUNTY
    )
    stats = [(label, (run.stats or {}).get(key)) for key, label in STAT_LABELS.items() if key in (run.stats or {})]
    sources = reports.sources_read(run) if run.status == CheckRun.Status.COMPLETE else []
    audit.record(
        audit.Action.VIEW, user=request.user, obj=run, label=f"批量复核差异 {run.pk}", detail={"change": change}
    )
    return render(
        request,
        "checks/run_detail.html",
        {
            "run": run,
            "progress_url": reverse("checks:run_progress", args=[run.pk]),
            **(
                rerun(reverse("checks:runs"), region=run.region_id, as_of=run.as_of.isoformat())
                if run.kind == CheckRun.Kind.BATCH
                and has_capability(request.user, Capability.RUN_CHECKS)
                and request.user.region is not None
                and request.user.region.contains(run.region_id)
                else {}  # only where the reader may start it again
            ),
            "rows": rows,
            "change": change,
            "filters": filters,
            "stats": stats,
            "sources": sources,
            "missing_sources": [s["name"] for s in sources if s["missing"]],
            "next_url": f"?{urlencode({'change': change, 'after': next_after})}" if next_after else "",
            "first_url": f"?{urlencode({'change': change})}" if request.GET.get("after") else "",
            "export_url": reverse("checks:run_export", args=[run.pk]) + f"?{urlencode({'change': change})}",
            "review_count": services.reviews_to_open(request.user, run) if can_open_reviews else 0,
            "can_open_reviews": can_open_reviews,
        },
    )


@staff_view
@require_POST
def run_reviews(request: HttpRequest, pk: int) -> HttpResponse:
    """发起复核: review cases for the households the run flagged (the services check role, level and scope)."""
    try:
        result = services.open_reviews(request.user, pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        text = f"已为 {len(result['opened'])} 户发起复核案件"
        if result["opened"]:
            text += "：" + "、".join(result["opened"][:20]) + ("等" if len(result["opened"]) > 20 else "")
        if result["skipped"]:
            text += f"；{result['skipped']} 户已停止保障或已有未办结的复核，未重复发起"
        if result["failed"]:
            text += f"；{len(result['failed'])} 户未能发起（{result['failed'][0][1]}）"
        messages.success(request, text)
    return redirect("checks:run", pk)


EXPORT_COLUMNS = (
    ("家庭编号", 16),
    ("户主姓名", 10),
    ("户主公民身份号码", 22),
    ("所在村（社区）", 24),
    ("区划代码", 14),
    ("变化", 14),
    ("核对结论", 22),
    ("现发金额（元/月）", 14),
    ("核对测算金额（元/月）", 16),
    ("差额（元/月）", 12),
    ("人均月收入（元）", 14),
    ("核对结果编号", 12),
)


@staff_view
@require_safe
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The differences as xlsx (identity numbers and names masked); audited as an export."""
    run, results = services.differences(request.user, pk)
    if run.status != CheckRun.Status.COMPLETE:
        raise NotFound("批量复核尚未完成，无可导出的结果")
    change = _change_filter(request)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("复核差异")
    bold = book.add_format({"bold": True, "bg_color": "#F1F1F1", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    for col, (_title, width) in enumerate(EXPORT_COLUMNS):
        sheet.set_column(col, col, width)
    sheet.write_row(0, 0, [c for c, _ in EXPORT_COLUMNS], bold)
    count = 0
    qs = _filtered(results, change).order_by("id").select_related("household__head")
    for count, r in enumerate(qs.iterator(chunk_size=2000), start=1):
        head = r.household.head
        new = _new_amount(r)
        sheet.write_string(count, 0, r.household.number)
        sheet.write_string(count, 1, mask_name(head.name) if head else "")
        sheet.write_string(count, 2, mask_id_number(head.id_number) if head else "")
        sheet.write_string(count, 3, r.region.name)
        sheet.write_string(count, 4, r.region_id)
        sheet.write_string(count, 5, r.get_change_display())
        sheet.write_string(count, 6, r.verdict_label)
        if r.previous_amount is not None:
            sheet.write_number(count, 7, float(r.previous_amount), money)
        if new is not None:
            sheet.write_number(count, 8, float(new), money)
        sheet.write_number(count, 9, float(r.change_amount), money)
        sheet.write_number(count, 10, float(r.per_capita_income), money)
        sheet.write_number(count, 11, r.pk)
    book.close()
    detail = {"change": change, "rows": count, "format": "xlsx"}
    audit.record(audit.Action.EXPORT, user=request.user, obj=run, label=f"批量复核差异导出 {run.pk}", detail=detail)
    name = f"批量复核差异-{run.region.name}-{run.as_of:%Y%m%d}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response

"""Departmental data pages: the snapshots per source, the upload form (the file streams to disk and the worker
imports it: `jobs`), the import run's page, and the rejects report download."""

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError, PermissionDeniedError
from minzheng.core.forms import BootstrapMixin, attach_error, date_input
from minzheng.core.http import run_progress, staff_view
from minzheng.regions import codes as region_codes

from . import importer, jobs, limits, selectors, sources, unmatched
from .files import rejects_url
from .models import ImportRun
from .uploads import DeliveryUploadHandler

LATEST_PER_SOURCE = 3
LATEST_RUNS = 5


class ImportForm(BootstrapMixin, forms.Form):
    source = forms.ChoiceField(
        label="数据来源", choices=[(c, f"{s.name}（{s.department}）") for c, s in sources.ALL_SOURCES.items()]
    )
    region = forms.CharField(label="覆盖区划代码", max_length=12, help_text="如 1307（全市）、130722（本县）")
    period = forms.DateField(
        label="数据截至日期", widget=date_input(not_after_today=True)
    )  # ISO: the picker reads no other
    file = forms.FileField(
        label="数据文件", help_text="CSV（UTF-8或GBK）、Excel（.xlsx，第一个工作表）或 Parquet；第一行为列名"
    )
    confirm_smaller = forms.BooleanField(
        label="确认数据完整，替换现行数据",
        required=False,
        help_text="仅当文件明显少于该区划现行数据、且确为完整数据时勾选",
    )


def _can_view(user) -> bool:
    return has_capability(user, Capability.IMPORT_DATA) or has_capability(user, Capability.VIEW_CHECKS)


def _refuse_oversized(user, form: ImportForm, size: int) -> None:
    """The upload handler stopped storing a file past the size limit: refuse it on the form, audited."""
    form.is_valid()
    form.errors.pop("file", None)
    data = getattr(form, "cleaned_data", {})
    try:
        region = region_codes.canonical(str(data.get("region") or ""))
    except DomainError:
        region = ""
    try:
        with importer.refusals_audited(user, data.get("source", ""), region, data.get("period"), size=size):
            limits.check_file_size(size, at_least=True)
    except limits.DeliveryRefused as exc:
        form.add_error("file", exc.message)


@csrf_exempt  # checked below by csrf_protect, once the upload handlers are in place (they must be set first)
def snapshots(request):
    if request.method == "POST":
        importing = request.user.is_authenticated and has_capability(request.user, Capability.IMPORT_DATA)
        request.upload_handlers = [DeliveryUploadHandler(request)] if importing else []
    return _snapshots(request)


@csrf_protect
@staff_view
def _snapshots(request):
    user = request.user
    if not _can_view(user):
        raise PermissionDeniedError("您的角色无权查看部门数据", "forbidden")
    can_import = has_capability(user, Capability.IMPORT_DATA)
    form = None
    if can_import:
        initial = {"region": user.region.official_code, "period": timezone.localdate()}
        form = ImportForm(initial=initial)
    if request.method == "POST":
        require(user, Capability.IMPORT_DATA)
        form = ImportForm(request.POST, request.FILES)
        if getattr(request, "delivery_too_large", None):
            _refuse_oversized(user, form, request.delivery_too_large)
        elif form.is_valid():
            data = form.cleaned_data
            try:
                run = jobs.start_upload(
                    user,
                    data["file"],
                    source=data["source"],
                    region_code=data["region"].strip(),
                    period=data["period"],
                    confirm_smaller=data["confirm_smaller"],
                )
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, f"文件“{run.original_name}”已上传，正在后台导入（第 {run.pk} 次导入）")
                return redirect("exchange:import_run", pk=run.pk)
    runs = (
        list(ImportRun.objects.for_user(user).select_related("region", "started_by")[:LATEST_RUNS])
        if can_import
        else []
    )
    bounds = limits.current()
    rows = []
    for code, spec in sources.ALL_SOURCES.items():
        latest = list(selectors.snapshots_for(user, code).order_by("-period", "-version", "-id")[:LATEST_PER_SOURCE])
        rows.append({"spec": spec, "snapshots": latest})
    return render(
        request,
        "exchange/snapshots.html",
        {
            "rows": rows,
            "form": form,
            "can_import": can_import,
            "runs": runs,
            "max_rejected": limits.percent_text(bounds.rejected_share),
            "min_replaced": limits.percent_text(bounds.replaced_share),
            "max_size": limits.size_text(bounds.file_bytes),
            "max_rows": f"{bounds.rows:,}",
        },
    )


def _import_run(user, pk: int) -> ImportRun:
    require(user, Capability.IMPORT_DATA)
    return ImportRun.objects.select_related("region", "started_by", "snapshot").get_for_user(user, pk=pk)


def _progress(request: HttpRequest, run: ImportRun) -> HttpResponse:
    return run_progress(request, run, progress_url=reverse("exchange:import_progress", args=[run.pk]), what="数据导入")


@staff_view
@require_safe
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    """One upload's import: progress while the worker runs it, then its outcome or the reason it was refused."""
    run = _import_run(request.user, pk)
    stats = run.stats or {}
    return render(
        request,
        "exchange/import_run.html",
        {
            "run": run,
            "stats": stats,
            "spec": sources.ALL_SOURCES.get(run.source),
            "size": limits.size_text(run.file_size),
            "rejects_url": rejects_url(stats.get("rejects_path") or ""),
            "progress_url": reverse("exchange:import_progress", args=[run.pk]),
        },
    )


@staff_view
@require_safe
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx every 2 seconds while the worker imports."""
    return _progress(request, _import_run(request.user, pk))


@staff_view
def rejects(request, name: str):
    relative = f"rejects/{name}"
    path, region_code = selectors.rejects_readable(request.user, relative)
    audit.record(
        audit.Action.EXPORT,
        user=request.user,
        object_type="rejects_report",
        object_id=name,
        label=f"下载部门数据拒收报告 {name}",
        region_code=region_code,
    )
    response = FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")
    response["Cache-Control"] = "private, no-store"  # personal data (masked or not) stays out of every cache
    return response


@staff_view
@require_safe
def unmatched_report(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """未匹配信号报告 (xlsx): a delivery's rows no registered person matched; identity numbers masked; audited."""
    report = unmatched.unmatched_rows(request.user, snapshot_id)
    snap = report.snapshot
    label = f"未匹配信号报告 {snap.get_source_display()} 快照{snap.pk}"
    detail = {"rows": len(report.rows), "format": "xlsx", "report": "unmatched"}
    audit.record(audit.Action.EXPORT, user=request.user, obj=snap, label=label, detail=detail)
    response = HttpResponse(
        unmatched.unmatched_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = unmatched.content_disposition(report.filename)
    response["Cache-Control"] = "private, no-store"
    return response

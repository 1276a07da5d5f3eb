"""Departmental data pages: the snapshots per source, the upload form, and the rejects report download."""

import uuid

from django import forms
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError, PermissionDeniedError
from minzheng.core.forms import BootstrapMixin, attach_error
from minzheng.core.http import staff_view

from . import files, importer, selectors, sources, unmatched
from .api import rejects_url

LATEST_PER_SOURCE = 3


class ImportForm(BootstrapMixin, forms.Form):
    source = forms.ChoiceField(
        label="数据来源", choices=[(c, f"{s.name}（{s.department}）") for c, s in sources.ALL_SOURCES.items()]
    )
    region = forms.CharField(label="覆盖区划代码", max_length=12, help_text="如 1307（全市）、130722（本县）")
    period = forms.DateField(label="数据截至日期", widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(
        label="数据文件", help_text="CSV（UTF-8或GBK）、Excel（.xlsx，第一个工作表）或 Parquet；第一行为列名"
    )


def _can_view(user) -> bool:
    return has_capability(user, Capability.IMPORT_DATA) or has_capability(user, Capability.VIEW_CHECKS)


def _import_upload(user, form: ImportForm) -> importer.ImportOutcome:
    upload = form.cleaned_data["file"]
    kwargs = {
        "region_code": form.cleaned_data["region"].strip(),
        "period": form.cleaned_data["period"],
        "user": user,
        "original_name": upload.name,
    }
    if hasattr(upload, "temporary_file_path"):
        return importer.import_file(form.cleaned_data["source"], upload.temporary_file_path(), **kwargs)
    scratch = files.data_dir() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"upload-{uuid.uuid4().hex}"
    try:
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return importer.import_file(form.cleaned_data["source"], path, **kwargs)
    finally:
        path.unlink(missing_ok=True)


@staff_view
def snapshots(request):
    user = request.user
    if not _can_view(user):
        raise PermissionDeniedError("您的角色无权查看部门数据", "forbidden")
    can_import = has_capability(user, Capability.IMPORT_DATA)
    outcome = None
    form = None
    if can_import:
        initial = {"region": user.region.official_code, "period": timezone.localdate()}
        form = ImportForm(initial=initial)
    if request.method == "POST":
        require(user, Capability.IMPORT_DATA)
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                outcome = _import_upload(user, form)
            except DomainError as exc:
                attach_error(form, exc)
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
            "outcome": outcome,
            "outcome_rejects_url": rejects_url(outcome.rejects_path) if outcome else "",
        },
    )


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
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")


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

"""The auditor's view of the audit log: filtered, limited to the auditor's region, paged by key (seq), never OFFSET."""

import datetime
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core import audit, exports
from minzheng.core.forms import date_input
from minzheng.core.models import AuditEntry
from minzheng.regions import codes

from . import audit_labels

_TYPE_CODE = re.compile(r"^[a-z_]{1,40}$")


class AuditFilterForm(forms.Form):
    username = forms.CharField(label="用户名", required=False, max_length=150)
    action = forms.ChoiceField(label="操作", required=False, choices=[("", "全部操作"), *AuditEntry.Action.choices])
    # A select of the Chinese names; a stored code (from a link) or a typed Chinese name is accepted too.
    object_type = forms.CharField(label="对象类型", required=False, max_length=40)
    object_id = forms.CharField(label="对象编号", required=False, max_length=40)
    date_from = forms.DateField(label="起始日期", required=False, widget=date_input())
    date_to = forms.DateField(label="截止日期", required=False, widget=date_input())
    before = forms.IntegerField(label="分页位置", required=False, min_value=1, widget=forms.HiddenInput)

    def clean_object_type(self) -> str:
        raw = (self.cleaned_data.get("object_type") or "").strip()
        if not raw:
            return ""
        by_label = {label: code for code, label in audit_labels.type_labels().items()}
        if raw in by_label:
            return by_label[raw]
        if _TYPE_CODE.match(raw):
            return raw
        raise forms.ValidationError("对象类型不正确，请从列表中选择")

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("起始日期不能晚于截止日期")
        return data


def scoped_entries(user) -> QuerySet[AuditEntry]:
    """Entries an auditor may read: those of their region's subtree; entries with no region only for the nation."""
    region = getattr(user, "region", None)
    if region is None or not user.is_active:
        return AuditEntry.objects.none()
    low, high = region.subtree_range()
    scope = Q(region_code__gte=low, region_code__lte=high)
    if region.code == codes.ROOT_CODE:
        scope |= Q(region_code="")
    return AuditEntry.objects.filter(scope)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filter_entries(qs: QuerySet[AuditEntry], data: dict) -> QuerySet[AuditEntry]:
    if data.get("username"):
        qs = qs.filter(username=data["username"].strip())
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    if data.get("object_type"):
        qs = qs.filter(object_type=data["object_type"].strip())
    if data.get("object_id"):
        qs = qs.filter(object_id=data["object_id"].strip())
    if data.get("date_from"):
        qs = qs.filter(at__gte=_local_midnight(data["date_from"]))
    if data.get("date_to"):
        qs = qs.filter(at__lt=_local_midnight(data["date_to"] + datetime.timedelta(days=1)))
    return qs


def decorate(entries: list[AuditEntry]) -> list[AuditEntry]:
    """The Chinese reading of each entry: object type, region name and the detail as label：value pairs."""
    regions = audit_labels.region_names(audit_labels.region_codes_in(entries))
    for entry in entries:
        entry.type_label = audit_labels.type_label(entry.object_type) if entry.object_type else ""
        if entry.action == AuditEntry.Action.DENIED:  # stored as 「访问其他辖区的记录：household #21」
            entry.object_label = audit_labels.DENIAL_REASONS.get((entry.detail or {}).get("reason"), entry.object_label)
        entry.region_name = regions.get(entry.region_code, entry.region_code)
        entry.compact_detail = audit_labels.detail_text(entry.detail, regions)
        entry.full_detail = audit_labels.detail_text(entry.detail, regions, limit=None)
        entry.person = entry.user.display_name if entry.user_id and entry.user else ""
    return entries


EXPORT_COLUMNS = [
    exports.Column("序号", 10, "int"),
    exports.Column("时间", 20),
    exports.Column("用户名", 14),
    exports.Column("姓名", 10),
    exports.Column("操作", 10),
    exports.Column("对象", 36),
    exports.Column("对象类型", 14),
    exports.Column("对象编号", 12),
    exports.Column("区划", 24),
    exports.Column("来源地址", 16),
    exports.Column("详情", 60),
]


def _export_rows(qs: QuerySet[AuditEntry]):
    """The filtered entries newest first, read in key-ordered batches (never OFFSET), in the page's Chinese."""
    before = None
    written = 0
    while written < exports.MAX_ROWS:
        batch_qs = qs if before is None else qs.filter(seq__lt=before)
        batch = list(batch_qs.select_related("user").order_by("-seq")[:2000])
        if not batch:
            return
        for e in decorate(batch):
            at = timezone.localtime(e.at, ZoneInfo("Asia/Shanghai"))
            yield (
                e.seq,
                f"{at:%Y-%m-%d %H:%M:%S}",
                e.username,
                e.person,
                e.get_action_display(),
                e.object_label,
                e.type_label,
                e.object_id,
                e.region_name,
                e.ip,
                e.full_detail,
            )
        written += len(batch)
        before = batch[-1].seq


def _export(request: HttpRequest, form: AuditFilterForm) -> HttpResponse:
    if not form.is_valid():
        raise PermissionDenied("筛选条件有误，请先修正后再导出")
    data = form.cleaned_data
    qs = filter_entries(scoped_entries(request.user), data)
    filters = {k: v for k, v in request.GET.items() if k not in ("before", "export") and v}
    region = request.user.region
    shown = {
        "object_type": audit_labels.type_label,
        "action": lambda v: dict(AuditEntry.Action.choices).get(v, v),
    }
    described = "；".join(
        f"{form.fields[k].label}：{shown.get(k, str)(v)}" for k, v in filters.items() if k in form.fields
    )
    table = exports.Table(
        "审计日志", EXPORT_COLUMNS, _export_rows(qs), f"{region.path_name()}{('；' + described) if described else ''}"
    )
    target = exports.AuditTarget("audit_log", "审计日志导出", region.code, {"filters": filters})
    return exports.respond(request, table, target)


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    if not has_capability(request.user, Capability.VIEW_AUDIT):
        raise PermissionDenied("您的角色无权查阅审计日志")
    page_size = getattr(settings, "MINZHENG_PAGE_SIZE", 50)
    form = AuditFilterForm(request.GET)  # every field is optional: no parameters means the newest entries
    if exports.wants_export(request):
        return _export(request, form)
    entries: list[AuditEntry] = []
    next_url = first_url = ""
    if form.is_valid():
        data = form.cleaned_data
        qs = filter_entries(scoped_entries(request.user), data)
        if data.get("before"):
            qs = qs.filter(seq__lt=data["before"])
        filters = {k: v for k, v in request.GET.items() if k not in ("before", "export") and v}
        # Reading the trail is itself recorded (before the query, so the reader sees their own entry).
        audit.record(
            audit.Action.SEARCH,
            user=request.user,
            object_type="audit_log",
            label="审计日志",
            region_code=request.user.region_id,
            detail={"filters": filters, "before": data.get("before")},
        )
        entries = list(qs.select_related("user").order_by("-seq")[: page_size + 1])
        if len(entries) > page_size:
            entries = entries[:page_size]
            next_url = "?" + urlencode({**filters, "before": entries[-1].seq})
        if data.get("before"):
            first_url = "?" + urlencode(filters)
    decorate(entries)
    return render(
        request,
        "web/audit_list.html",
        {
            "form": form,
            "entries": entries,
            "next_url": next_url,
            "first_url": first_url,
            "region": request.user.region,
            "object_types": audit_labels.type_choices(),
            "export_query": urlencode({k: v for k, v in request.GET.items() if k not in ("before", "export") and v}),
        },
    )

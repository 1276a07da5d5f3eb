"""Work queues (待办), referrals (转办) and the public notice pages (公示): thin — parse, query or call a service, render."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import exports
from minzheng.core import forms as staff_forms
from minzheng.core.errors import DomainError, NotFound, PermissionDeniedError
from minzheng.core.forms import BootstrapMixin, attach_error
from minzheng.core.http import staff_view

from . import public, queries
from . import referrals as referral_services
from .models import Referral


def _today() -> datetime.date:
    return timezone.localdate()


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "") in ("1", "on", "true")


def _queue_filters(request: HttpRequest, *, paged: bool = True) -> queries.QueueFilters:
    return queries.QueueFilters(
        service=request.GET.get("service", "").strip(),
        state=request.GET.get("state", "").strip(),
        overdue_only=_flag(request, "overdue"),
        township=request.GET.get("township", "").strip(),
        after=request.GET.get("after", "").strip() if paged else "",
        region=request.GET.get("region", "").strip(),
        q=request.GET.get("q", "").strip()[:60],
    )


def _query(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


@staff_view
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if exports.wants_export(request):
        return _queue_export(request)
    result = queries.work_queue(request.user, _queue_filters(request), today=_today())
    context = {
        "queue": result,
        "base_query": _query(request, "after", "export"),
        "drill_query": _query(request, "after", "export", "region", "township"),
    }
    return render(request, "cases/queue.html", context)


QUEUE_COLUMNS = [
    exports.Column("案件编号", 16),
    exports.Column("事项", 18),
    exports.Column("申请人", 10),
    exports.Column("家庭人数", 8, "int"),
    exports.Column("村（社区）", 22),
    exports.Column("办理状态", 16),
    exports.Column("当前环节", 16),
    exports.Column("截止日期", 12, "date"),
    exports.Column("时限提醒", 18),
]


def _reminder(row: queries.QueueRow) -> str:
    if row.overdue:
        return f"已超期{row.overdue_days}个工作日" if row.overdue_days else "已超期"
    if row.due_soon:
        return f"临期，剩{row.days_left}个工作日" if row.days_left else "临期，今日到期"
    return ""


def _queue_export(request: HttpRequest) -> HttpResponse:
    """The whole filtered queue (not one page) as Excel or a print view; names masked; the export is audited."""
    filters = _queue_filters(request, paged=False)
    result = queries.work_queue(request.user, filters, today=_today(), page_size=exports.MAX_ROWS)
    title = "在办案件总览" if result.overview else "待办案件"
    conditions = [
        result.region.path_name() if result.region else "",
        dict(result.services).get(filters.service, ""),
        dict(result.states).get(filters.state, ""),
        "只看超期" if filters.overdue_only else "",
        f"查询“{filters.q}”" if filters.q else "",
        f"截至 {result.today:%Y-%m-%d}",
    ]
    rows = (
        (
            r.number,
            r.service,
            r.applicant,
            r.household_size,
            r.village,
            r.state_label,
            r.step,
            r.due,
            _reminder(r) + ("（截止日期暂定）" if r.due_provisional else ""),
        )
        for r in result.rows
    )
    table = exports.Table(title, QUEUE_COLUMNS, rows, " · ".join(c for c in conditions if c), title)
    target = exports.AuditTarget(
        "case_queue",
        f"{title}导出",
        request.user.region_id,
        {"filters": {k: v for k, v in request.GET.items() if k != "export" and v}},
    )
    return exports.respond(request, table, target)


# ---------------------------------------------------------------- referrals


class ReferralForm(BootstrapMixin, forms.Form):
    household = forms.CharField(
        label="户编号",
        max_length=20,
        error_messages={"required": "请填写户编号"},
        widget=forms.TextInput(attrs={"placeholder": "如 H000000123"}),
    )
    department = staff_forms.choice("转办部门", Referral.Department.choices)
    need = staff_forms.text("需求说明", 2000, rows=2, required_message="请填写转办需求")
    days = forms.IntegerField(
        label="回复期限（工作日）",
        min_value=1,
        max_value=60,
        initial=10,
        error_messages={
            "required": "请填写回复期限",
            "invalid": "回复期限应为整数",
            "min_value": "回复期限应为1至60个工作日",
            "max_value": "回复期限应为1至60个工作日",
        },
    )

    def clean_household(self) -> int:
        try:
            return queries.parse_household_number(self.cleaned_data["household"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


def _referral_filters(request: HttpRequest) -> queries.ReferralFilters:
    return queries.ReferralFilters(
        department=request.GET.get("department", "").strip(), status=request.GET.get("status", "").strip()
    )


@staff_view
def referrals(request: HttpRequest) -> HttpResponse:
    """GET: the list; POST: a new referral for a household in the user's scope."""
    require(request.user, Capability.VIEW_PEOPLE)
    form = ReferralForm()
    status = 200
    if request.method == "POST":
        require(request.user, Capability.EDIT_PEOPLE)
        form = ReferralForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral = referral_services.refer(
                    request.user,
                    household_id=data["household"],
                    department=data["department"],
                    need=data["need"],
                    days=data["days"],
                    today=_today(),
                )
            except NotFound:
                form.add_error("household", "户编号不存在或不在您的管辖范围内")
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(
                    request,
                    f"已转办{referral.get_department_display()}，回复期限 {referral.due:%Y-%m-%d}"
                    + ("（暂定）" if referral.due_provisional else ""),
                )
                return redirect("cases:referrals")
        messages.error(request, "转办未提交，请按提示修改")
        status = 400
    result = queries.referral_list(request.user, _referral_filters(request), today=_today())
    context = {
        "result": result,
        "form": form,
        "can_edit": has_capability(request.user, Capability.EDIT_PEOPLE),
        "statuses": [("", "全部"), ("open", "待回复"), ("replied", "已回复")],
    }
    return render(request, "cases/referrals.html", context, status=status)


@staff_view
@require_POST
def referral_reply(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        referral = referral_services.record_referral_reply(
            request.user, pk, request.POST.get("reply", ""), today=_today()
        )
    except (NotFound, PermissionDeniedError):
        raise  # 404 / 403 pages
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已登记{referral.get_department_display()}的回复")
    return redirect(reverse("cases:referrals") + f"#referral-{pk}")


# ---------------------------------------------------------------- public pages (no login: a village notice board)


def _public_region(region_code: str):
    try:
        return public.public_region(region_code)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _no_index(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _staff_may_export(request: HttpRequest, region) -> bool:
    """The board's Excel file and print view are an office output: staff of the region only (and audited)."""
    user = request.user
    return has_capability(user, Capability.VIEW_PEOPLE) and user.region.contains(region.code)


def _refuse_export(request: HttpRequest, region) -> None:
    if not request.user.is_authenticated:
        raise PermissionDenied("请先登录后再导出")
    if not _staff_may_export(request, region):
        raise PermissionDenied("该村（社区）或乡镇（街道）不在您的管辖范围内，不能导出")


NOTICE_COLUMNS = [
    exports.Column("救助事项", 18),
    exports.Column("申请人", 10),
    exports.Column("家庭人数", 8, "int"),
    exports.Column("拟救助金额", 12, "money"),
    exports.Column("单位", 6),
    exports.Column("村（社区）", 22),
    exports.Column("公示期", 28),
    exports.Column("状态", 8),
    exports.Column("异议受理单位", 24),
]
PUBLISHED_COLUMNS = [
    exports.Column("救助事项", 18),
    exports.Column("申请人", 10),
    exports.Column("家庭人数", 8, "int"),
    exports.Column("救助金额", 12, "money"),
    exports.Column("单位", 6),
]


@require_GET
def public_notice(request: HttpRequest, region_code: str) -> HttpResponse:
    today = _today()
    region = _public_region(region_code)
    notice = public.public_notice(region, today=today)
    if exports.wants_export(request):
        _refuse_export(request, region)
        rows = [
            (r.service, r.name, r.household_size, r.amount, r.unit, r.village,
             f"{r.notice_from:%Y-%m-%d} 至 {r.notice_to:%Y-%m-%d}", status, r.contact)
            for status, group in (("公示中", notice.rows), ("已期满", notice.archived))
            for r in group
        ]  # fmt: skip
        table = exports.Table("社会救助申请初审公示", NOTICE_COLUMNS, rows, region.path_name(), f"公示-{region.name}")
        target = exports.AuditTarget("public_notice", f"公示名单导出（{region.name}）", region.code)
        return exports.respond(request, table, target)
    context = {"notice": notice, "today": today, "can_export": _staff_may_export(request, region)}
    return _no_index(render(request, "cases/public_notice.html", context))


@require_GET
def published(request: HttpRequest, region_code: str) -> HttpResponse:
    region = _public_region(region_code)
    year, month, notes = public.parse_period(request.GET.get("year", "").strip(), request.GET.get("month", "").strip())
    if exports.wants_export(request):
        _refuse_export(request, region)
        result = public.published(region, year, month, page_size=exports.MAX_ROWS)
        rows = [(r.service, r.name, r.household_size, r.amount, r.unit) for r in result.rows]
        period = f"{year}年" + (f"{month}月" if month else "") if year else "全部年份"
        table = exports.Table(
            "社会救助对象名单",
            PUBLISHED_COLUMNS,
            rows,
            f"{region.path_name()} · {period}",
            f"救助对象名单-{region.name}",
        )
        target = exports.AuditTarget(
            "published_list", f"救助对象名单导出（{region.name}）", region.code, {"year": year, "month": month}
        )
        return exports.respond(request, table, target)
    result = public.published(region, year, month, after=request.GET.get("after", "").strip())
    result.notes[:0] = notes
    query = request.GET.copy()
    query.pop("after", None)
    this_year = _today().year
    context = {
        "result": result,
        "years": list(range(this_year, this_year - 6, -1)),
        "months": list(range(1, 13)),
        "base_query": query.urlencode(),
        "can_export": _staff_may_export(request, region),
    }
    return _no_index(render(request, "cases/published.html", context))

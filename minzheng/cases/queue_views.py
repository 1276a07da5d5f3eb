"""Work queues (待办), referrals (转办) and the public notice pages (公示): thin — parse, query or call a service, render."""

import datetime

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import forms as staff_forms
from minzheng.core.errors import DomainError, NotFound, PermissionDeniedError
from minzheng.core.forms import BootstrapMixin, attach_error
from minzheng.core.http import staff_view

from . import queries
from . import referrals as referral_services
from .models import Referral


def _today() -> datetime.date:
    return timezone.localdate()


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "") in ("1", "on", "true")


@staff_view
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    filters = queries.QueueFilters(
        service=request.GET.get("service", "").strip(),
        state=request.GET.get("state", "").strip(),
        overdue_only=_flag(request, "overdue"),
        township=request.GET.get("township", "").strip(),
        after=request.GET.get("after", "").strip(),
    )
    result = queries.work_queue(request.user, filters, today=_today())
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "cases/queue.html", {"queue": result, "base_query": query.urlencode()})


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
        return queries.public_region(region_code)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _no_index(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def public_notice(request: HttpRequest, region_code: str) -> HttpResponse:
    notice = queries.public_notice(_public_region(region_code))
    return _no_index(render(request, "cases/public_notice.html", {"notice": notice, "today": _today()}))


@require_GET
def published(request: HttpRequest, region_code: str) -> HttpResponse:
    region = _public_region(region_code)
    year, month, notes = queries.parse_period(request.GET.get("year", "").strip(), request.GET.get("month", "").strip())
    result = queries.published(region, year, month, after=request.GET.get("after", "").strip())
    result.notes[:0] = notes
    query = request.GET.copy()
    query.pop("after", None)
    this_year = _today().year
    context = {
        "result": result,
        "years": list(range(this_year, this_year - 6, -1)),
        "months": list(range(1, 13)),
        "base_query": query.urlencode(),
    }
    return _no_index(render(request, "cases/published.html", context))

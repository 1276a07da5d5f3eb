"""Forms of the monitoring pages. Each only turns posted fields into the arguments of one service call; the services
(minzheng.monitoring.services) decide what is allowed."""

from django import forms
from django.utils import timezone

from minzheng.cases.models import Referral
from minzheng.core import forms as staff_forms
from minzheng.core import ids
from minzheng.policy.models import ServiceItem
from minzheng.regions.widgets import RegionPicker
from minzheng.registry.forms import clean_identity_number

from .models import Alert, Category, Outcome, Visit

ACTIONS = [("case", "创建申请/复核案件"), ("referral", "转介部门"), ("none", "仅记录")]


class VisitForm(staff_forms.StaffForm):
    """入户核实 (铁脚板摸排): what the visit found."""

    visited_on = staff_forms.day("走访日期")
    finding = staff_forms.choice("核实结论", Visit.Finding.choices)
    notes = staff_forms.text("走访情况", 4000, rows=3)
    needs = staff_forms.text("家庭主要需求", 300, required=False)
    expected_version = ids.version_field(required=False)

    def __init__(self, *args, alert: Alert | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("visited_on", timezone.localdate())
        if alert is not None:
            kwargs["initial"].setdefault("expected_version", alert.version)
        super().__init__(*args, prefix="visit", **kwargs)


def service_choices() -> list[tuple[str, str]]:
    return list(
        ServiceItem.objects.filter(active=True)
        .exclude(workflow="")
        .order_by("order", "code")
        .values_list("code", "name")
    )


class CloseForm(staff_forms.StaffForm):
    """办结: the outcome reached, why, and what is done about it (a case, a referral, or nothing more)."""

    outcome = staff_forms.choice("处置结果", Outcome.choices, blank=False)
    note = staff_forms.text("处置说明", 4000, rows=3)
    action = staff_forms.choice("处置方式", ACTIONS, blank=False, widget=forms.RadioSelect, initial="none")
    service = staff_forms.choice(
        "办理事项（创建申请/复核案件时选择）", required=False, message="请选择要办理的服务事项"
    )
    department = staff_forms.choice(
        "接收部门（转介时选择）", Referral.Department.choices, required=False, message="请选择转介部门"
    )
    expected_version = ids.version_field(required=False)

    def __init__(self, *args, alert: Alert | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        if alert is not None:
            detail = alert.detail or {}
            kwargs["initial"].setdefault("outcome", alert.suggested_outcome)
            kwargs["initial"].setdefault("service", detail.get("service", ""))
            kwargs["initial"].setdefault("department", detail.get("department", ""))
            kwargs["initial"].setdefault("action", "case" if detail.get("service") else "none")
            kwargs["initial"].setdefault("expected_version", alert.version)
        super().__init__(*args, prefix="close", **kwargs)
        self.fields["service"].choices = [("", "请选择"), *service_choices()]


class SweepForm(staff_forms.StaffForm):
    """发起监测比对: a region of the user's scope, as of a day (today by default)."""

    region = forms.CharField(
        label="区划代码",
        max_length=12,
        help_text="2、4、6、9或12位区划代码，须在本辖区内，例如 130722",
        error_messages={"required": "请填写区划代码"},
    )
    as_of = staff_forms.day("比对基准日", help_text="读取截至该日的部门信号，不能晚于今天")

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {})
        if user is not None and user.region is not None:
            kwargs["initial"].setdefault("region", user.region.official_code)
        self._root = user.region if user is not None else None
        kwargs["initial"].setdefault("as_of", timezone.localdate())
        super().__init__(*args, **kwargs)
        # Picked from the division tree under the user's region, not typed as a 9- or 12-digit code.
        self.fields["region"].widget = RegionPicker(self._root)
        self.fields["region"].label = "区划"
        self.fields["region"].help_text = "从区划树中选择本辖区内的区划（市、县、乡镇或村）"


class EntryForm(staff_forms.StaffForm):
    """人工登记: a person of a household in the user's scope, found on foot, into a monitored category."""

    id_number = forms.CharField(label="公民身份号码", max_length=30, error_messages={"required": "请填写公民身份号码"})
    category = staff_forms.choice("监测类别", Category.choices, initial=Category.OTHER)
    start_on = staff_forms.day("纳入日期")
    reference = forms.CharField(label="登记依据", max_length=100, required=False, help_text="如走访记录、部门名单文号")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("start_on", timezone.localdate())
        super().__init__(*args, prefix="entry", **kwargs)

    def clean_id_number(self) -> str:
        return clean_identity_number(self.cleaned_data["id_number"])

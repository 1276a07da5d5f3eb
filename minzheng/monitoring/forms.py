"""Forms of the monitoring pages. Each only turns posted fields into the arguments of one service call; the services
(minzheng.monitoring.services) decide what is allowed."""

from django import forms
from django.utils import timezone

from minzheng.cases.models import Referral
from minzheng.core.forms import BootstrapMixin
from minzheng.policy.models import ServiceItem
from minzheng.registry.forms import clean_identity_number

from .models import Alert, Category, Outcome, Visit

ACTIONS = [("case", "创建申请/复核案件"), ("referral", "转介部门"), ("none", "仅记录")]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", "max": timezone.localdate().isoformat()}, format="%Y-%m-%d")


class _Form(BootstrapMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs["class"] = "form-check-input"


class VisitForm(_Form):
    """入户核实 (铁脚板摸排): what the visit found."""

    visited_on = forms.DateField(
        label="走访日期",
        widget=_date_input(),
        error_messages={"required": "请填写走访日期", "invalid": "走访日期格式错误"},
    )
    finding = forms.ChoiceField(
        label="核实结论",
        choices=[("", "请选择"), *Visit.Finding.choices],
        error_messages={"required": "请选择核实结论", "invalid_choice": "请选择核实结论"},
    )
    notes = forms.CharField(
        label="走访情况",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写走访情况", "max_length": "走访情况不能超过4000字"},
    )
    needs = forms.CharField(
        label="家庭主要需求", max_length=300, required=False, error_messages={"max_length": "家庭主要需求不能超过300字"}
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

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


class CloseForm(_Form):
    """办结: the outcome reached, why, and what is done about it (a case, a referral, or nothing more)."""

    outcome = forms.ChoiceField(
        label="处置结果",
        choices=Outcome.choices,
        error_messages={"required": "请选择处置结果", "invalid_choice": "请选择处置结果"},
    )
    note = forms.CharField(
        label="处置说明",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写处置说明", "max_length": "处置说明不能超过4000字"},
    )
    action = forms.ChoiceField(
        label="处置方式",
        choices=ACTIONS,
        widget=forms.RadioSelect,
        initial="none",
        error_messages={"required": "请选择处置方式", "invalid_choice": "请选择处置方式"},
    )
    service = forms.ChoiceField(
        label="办理事项（创建申请/复核案件时选择）",
        required=False,
        error_messages={"invalid_choice": "请选择要办理的服务事项"},
    )
    department = forms.ChoiceField(
        label="接收部门（转介时选择）",
        required=False,
        choices=[("", "请选择"), *Referral.Department.choices],
        error_messages={"invalid_choice": "请选择转介部门"},
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

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


class SweepForm(_Form):
    """发起监测比对: a region of the user's scope, as of a day (today by default)."""

    region = forms.CharField(
        label="区划代码",
        max_length=12,
        help_text="2、4、6、9或12位区划代码，须在本辖区内，例如 130722",
        error_messages={"required": "请填写区划代码"},
    )
    as_of = forms.DateField(
        label="比对基准日",
        widget=_date_input(),
        help_text="读取截至该日的部门信号，不能晚于今天",
        error_messages={"required": "请填写比对基准日", "invalid": "比对基准日格式错误"},
    )

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {})
        if user is not None and user.region is not None:
            kwargs["initial"].setdefault("region", user.region.official_code)
        kwargs["initial"].setdefault("as_of", timezone.localdate())
        super().__init__(*args, **kwargs)


class EntryForm(_Form):
    """人工登记: a person of a household in the user's scope, found on foot, into a monitored category."""

    id_number = forms.CharField(label="公民身份号码", max_length=30, error_messages={"required": "请填写公民身份号码"})
    category = forms.ChoiceField(
        label="监测类别",
        choices=[("", "请选择"), *Category.choices],
        initial=Category.OTHER,
        error_messages={"required": "请选择监测类别", "invalid_choice": "请选择监测类别"},
    )
    start_on = forms.DateField(
        label="纳入日期",
        widget=_date_input(),
        error_messages={"required": "请填写纳入日期", "invalid": "纳入日期格式错误"},
    )
    reference = forms.CharField(label="登记依据", max_length=100, required=False, help_text="如走访记录、部门名单文号")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("start_on", timezone.localdate())
        super().__init__(*args, prefix="entry", **kwargs)

    def clean_id_number(self) -> str:
        return clean_identity_number(self.cleaned_data["id_number"])

from django import forms
from django.utils import timezone

from minzheng.core import forms as staff_forms
from minzheng.core.months import first_of_next_month

from .changes import SYNTAX_HELP


class ScenarioForm(staff_forms.StaffForm):
    name = forms.CharField(label="方案名称", max_length=100)
    region = forms.CharField(label="测算区划", max_length=12, help_text="省、市或县级区划代码，例如 1307")
    effective_from = forms.DateField(label="拟实施日期", widget=staff_forms.date_input())
    changes = forms.CharField(
        label="参数调整（每行一项）",
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control mono"}),
        help_text=f"{SYNTAX_HELP}；参数名见下方“可调整的参数”",
    )
    basis = forms.CharField(label="依据与说明", max_length=300, required=False)
    include_unauthorised = forms.BooleanField(
        label="计入没有有效核对授权的家庭", required=False, help_text="缺省只统计可依法核对的家庭"
    )

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {})
        if user is not None and user.region:
            kwargs["initial"].setdefault("region", user.region.official_code)
        kwargs["initial"].setdefault("effective_from", first_of_next_month(timezone.localdate()))
        super().__init__(*args, **kwargs)

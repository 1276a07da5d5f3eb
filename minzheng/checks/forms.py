"""Forms of the checking pages: the household's signed authorisation and the batch re-check. Each only turns posted
fields into the arguments of one service call; the services decide what is allowed."""

from django import forms
from django.utils import timezone

from minzheng.core import forms as staff_forms
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.exchange.sources import CATEGORIES

from .jobs import default_as_of


class AuthorisationForm(staff_forms.StaffForm):
    """授权核对书 (DB §9): the date it was signed, who signed (every current member by default) and which kinds of
    information may be queried (all by default)."""

    signed_on = forms.DateField(label="签署日期", widget=staff_forms.date_input())
    persons = forms.TypedMultipleChoiceField(
        label="签署的家庭成员",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="须覆盖全部共同生活的家庭成员",
    )
    categories = forms.MultipleChoiceField(
        label="授权查询的数据类别",
        choices=list(CATEGORIES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="核对须取得全部数据类别的授权",
    )

    def __init__(self, *args, memberships=(), **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("signed_on", timezone.localdate())
        kwargs["initial"].setdefault("persons", [m.person_id for m in memberships])
        kwargs["initial"].setdefault("categories", list(CATEGORIES))
        super().__init__(*args, **kwargs)
        self.fields["persons"].choices = [
            (
                m.person_id,
                f"{mask_name(m.person.name)}（{m.get_relationship_display()}，{mask_id_number(m.person.id_number)}）",
            )
            for m in memberships
        ]
        self.fields["signed_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class BatchForm(staff_forms.StaffForm):
    """批量复核: every current recipient household of a region, as of a date."""

    region = forms.CharField(
        label="区划代码", max_length=12, help_text="2、4、6、9或12位区划代码，须在本辖区内，例如 130722"
    )
    as_of = forms.DateField(
        label="核对基准日", widget=staff_forms.date_input(), help_text="默认下月1日（下一期发放月份）"
    )

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {})
        if user is not None and user.region is not None:
            kwargs["initial"].setdefault("region", user.region.official_code)
        kwargs["initial"].setdefault("as_of", default_as_of())
        super().__init__(*args, **kwargs)

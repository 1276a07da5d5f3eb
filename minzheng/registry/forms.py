from django import forms

from minzheng.core import ids
from minzheng.core.errors import DomainError
from minzheng.core.forms import BootstrapMixin
from minzheng.regions.models import Region

from .codes import AreaType, DisabilityCategory, DisabilityGrade, OrganisationType, Relationship, SelfCare
from .identifiers import parse_identity_number
from .services import HouseholdData, MemberData, OrganisationData, PersonData


def clean_identity_number(value: str) -> str:
    """For a form's `clean_<field>`: the normalised number, or the registry's Chinese reason as a field error."""
    try:
        return parse_identity_number(value).number
    except DomainError as exc:
        raise forms.ValidationError(exc.message) from None


_BLANK = [("", "—")]
# A member's relationship to the head: never 本人 (01); 户主 (02) only where a head is being registered.
MEMBER_RELATIONSHIPS = _BLANK + [c for c in Relationship.choices if c[0] not in (Relationship.SELF, Relationship.HEAD)]


class PersonForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="公民身份号码", max_length=40, help_text="18位，末位可为X；全角、空格会自动转换")
    phone = forms.CharField(label="联系电话", max_length=30, required=False)
    disability_category = forms.ChoiceField(
        label="残疾类别", choices=_BLANK + DisabilityCategory.choices, required=False
    )
    disability_grade = forms.TypedChoiceField(
        label="残疾等级", choices=_BLANK + DisabilityGrade.choices, coerce=int, empty_value=None, required=False
    )
    self_care = forms.ChoiceField(label="生活自理能力", choices=_BLANK + SelfCare.choices, required=False)

    def to_data(self) -> PersonData:
        d = self.cleaned_data
        return PersonData(
            name=d["name"],
            id_number=d["id_number"],
            phone=d.get("phone", ""),
            disability_category=d.get("disability_category", ""),
            disability_grade=d.get("disability_grade"),
            self_care=d.get("self_care", ""),
        )

    @classmethod
    def initial_for(cls, person) -> dict:
        return {
            "name": person.name,
            "id_number": person.id_number,
            "phone": person.phone,
            "disability_category": person.disability_category,
            "disability_grade": person.disability_grade,
            "self_care": person.self_care,
        }


class MemberForm(PersonForm):
    relationship = forms.ChoiceField(
        label="与户主关系", choices=_BLANK + [c for c in Relationship.choices if c[0] != Relationship.SELF]
    )
    field_order = ["relationship", "name", "id_number", "phone", "disability_category", "disability_grade", "self_care"]

    def to_member(self) -> MemberData:
        return MemberData(relationship=self.cleaned_data["relationship"], person=self.to_data())


MemberFormSet = forms.formset_factory(MemberForm, extra=0, min_num=1, validate_min=True, max_num=30)


def village_choices(user) -> list:
    """Villages in the user's scope, grouped by township (for users at township level and below)."""
    low, high = user.region.subtree_range()
    villages = Region.objects.filter(code__gte=low, code__lte=high, level=Region.Level.VILLAGE).select_related("parent")
    groups: dict[str, list] = {}
    for village in villages.order_by("code")[:2000]:
        kind = village.get_urban_rural_display() if village.urban_rural else "未区分"
        groups.setdefault(village.parent.name, []).append((village.code, f"{village.name}（{kind}）"))
    return _BLANK + list(groups.items())


class HouseholdForm(BootstrapMixin, forms.Form):
    region_code = forms.CharField(label="户籍所在村（社区）", help_text="12位区划代码")
    address = forms.CharField(label="家庭住址", max_length=200)
    area_type = forms.ChoiceField(
        label="城乡类别", choices=[("", "按村（社区）代码自动判断")] + AreaType.choices, required=False
    )
    bank_name = forms.CharField(label="开户银行", max_length=100, required=False)
    bank_account = forms.CharField(label="银行账号", max_length=40, required=False)
    account_holder = forms.CharField(label="账户名", max_length=50, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.region.level >= Region.Level.COUNTY:
            self.fields["region_code"] = forms.ChoiceField(label="户籍所在村（社区）", choices=village_choices(user))
            self.fields["region_code"].widget.attrs["class"] = "form-select"
            self.order_fields(["region_code", "address", "area_type"])

    def to_data(self, members: list[MemberData] | None = None) -> HouseholdData:
        d = self.cleaned_data
        return HouseholdData(
            region_code=d["region_code"],
            address=d["address"],
            area_type=d.get("area_type", ""),
            bank_name=d.get("bank_name", ""),
            bank_account=d.get("bank_account", ""),
            account_holder=d.get("account_holder", ""),
            members=members or [],
        )

    @classmethod
    def initial_for(cls, household) -> dict:
        return {
            "region_code": household.region_id,
            "address": household.address,
            "area_type": household.area_type,
            "bank_name": household.bank_name,
            "bank_account": household.bank_account,
            "account_holder": household.account_holder,
        }


class ExistingMemberForm(BootstrapMixin, forms.Form):
    """Bring an already registered person into this household (迁入)."""

    id_number = forms.CharField(label="迁入人员公民身份号码", max_length=40)
    relationship = forms.ChoiceField(label="与户主关系", choices=MEMBER_RELATIONSHIPS)
    reason = forms.CharField(label="迁移原因", max_length=200)


class LeaveForm(BootstrapMixin, forms.Form):
    person_id = ids.id_field("迁出人员", widget=forms.HiddenInput)
    reason = forms.CharField(label="迁出原因", max_length=200)


class ChangeHeadForm(BootstrapMixin, forms.Form):
    person_id = ids.id_field("新户主", widget=forms.Select)
    old_head_relationship = forms.ChoiceField(label="原户主与新户主的关系", choices=MEMBER_RELATIONSHIPS)


class SearchForm(forms.Form):
    q = forms.CharField(label="查询", required=False, max_length=60)


class OrganisationForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label="名称", max_length=200)
    uscc = forms.CharField(label="统一社会信用代码", max_length=40)
    org_type = forms.ChoiceField(label="类型", choices=_BLANK + OrganisationType.choices)
    region_code = forms.CharField(label="所在区划代码", max_length=12)
    address = forms.CharField(label="地址", max_length=200, required=False)
    legal_representative = forms.CharField(label="法定代表人/负责人", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=30, required=False)

    def to_data(self) -> OrganisationData:
        return OrganisationData(**self.cleaned_data)

    @classmethod
    def initial_for(cls, organisation) -> dict:
        return {
            "name": organisation.name,
            "uscc": organisation.uscc,
            "org_type": organisation.org_type,
            "region_code": organisation.region_id,
            "address": organisation.address,
            "legal_representative": organisation.legal_representative,
            "phone": organisation.phone,
        }

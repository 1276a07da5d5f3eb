"""Forms of the one-window intake page and of the case page's actions.

Each form only turns posted fields into the keyword arguments of one service call (`services.open_application`,
`services.act`); the services decide what is allowed, so every rule is written once and the web page and the API give
the same Chinese answers.
"""

import datetime
from decimal import Decimal

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from minzheng.core import ids
from minzheng.core.forms import BootstrapMixin
from minzheng.core.masking import mask_id_number
from minzheng.policy.models import ServiceItem

from . import confirmation, investigations
from .models import Case, Channel, Declaration, Investigation
from .procedure import SIGNATURES

_CHOICE_WIDGETS = (forms.RadioSelect, forms.CheckboxSelectMultiple)


class _Form(BootstrapMixin, forms.Form):
    """Bootstrap classes, with radio buttons and checkbox lists styled as Bootstrap form-checks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, _CHOICE_WIDGETS):
                field.widget.attrs["class"] = "form-check-input"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# ---------------------------------------------------------------- intake


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(label="查找家庭", required=False, max_length=60)


def service_choices() -> list:
    """Active service items grouped by category; each says whether it runs end to end here or is transferred."""
    groups: dict[str, list] = {}
    for item in ServiceItem.objects.filter(active=True).order_by("order", "code"):
        how = "全流程办理" if item.end_to_end else f"受理后转交{item.get_deciding_level_display()}"
        groups.setdefault(item.category, []).append((item.code, f"{item.name}（{how}）"))
    return [("", "— 请选择 —"), *groups.items()]


def member_choices(memberships) -> list[tuple[int, str]]:
    """The household's current members, for choosing the applicant (identity numbers masked)."""
    return [
        (m.person_id, f"{m.person.name}（{m.get_relationship_display()}，{mask_id_number(m.person.id_number)}）")
        for m in memberships
    ]


class IntakeForm(_Form):
    """一门受理: one form for every service item. Material choices follow the chosen item: only what the applicant
    must provide can be ticked; what other departments share is listed, never demanded (DB §10–11)."""

    household = ids.id_field("家庭", widget=forms.HiddenInput)
    service = forms.ChoiceField(label="服务事项")
    applicant = forms.TypedChoiceField(label="申请人", coerce=int, help_text="须为本户现有成员")
    channel = forms.ChoiceField(
        label="申请渠道", choices=Channel.choices, initial=Channel.WINDOW, widget=forms.RadioSelect
    )
    entrusted_name = forms.CharField(label="受托人姓名", max_length=50, required=False)
    entrusted_id_number = forms.CharField(
        label="受托人公民身份号码", max_length=40, required=False, help_text="代办须凭书面委托，登记受托人身份"
    )
    materials = forms.MultipleChoiceField(
        label="申请人已提交的材料", required=False, widget=forms.CheckboxSelectMultiple
    )
    authorisation_signed = forms.BooleanField(label="已签署家庭经济状况核对授权书", required=False)
    pledge_signed = forms.BooleanField(label="已签署如实申报承诺书", required=False)
    submitted_on = forms.DateField(
        label="申请日期", required=False, widget=_date_input(), help_text="默认今天；补录窗口纸质申请时填写实际日期"
    )
    note = forms.CharField(label="备注", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, members: list[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = service_choices()
        self.fields["service"].widget.attrs.update(
            {  # swap in the chosen item's materials (htmx)
                "hx-get": reverse("cases:intake") + "?partial=materials",
                "hx-trigger": "change",
                "hx-target": "#materials",
                "hx-swap": "outerHTML",
            }
        )
        self.fields["applicant"].choices = members or []
        code = self.data.get("service") if self.is_bound else self.initial.get("service")
        self.service_item = (
            ServiceItem.objects.filter(code=code, active=True).prefetch_related("materials").first() if code else None
        )
        materials = list(self.service_item.materials.all()) if self.service_item else []
        # The signed authorisation and pledge are ticked as signatures, the other materials as received.
        self.fields["materials"].choices = [
            (m.code, m.name + ("" if m.required else "（如有）"))
            for m in materials
            if m.demandable and m.code not in SIGNATURES
        ]
        self.shared_materials = [m for m in materials if not m.demandable]
        listed = {m.code for m in materials}
        self.signature_fields = [self[flag] for code, flag in SIGNATURES.items() if code in listed]
        self.fields["submitted_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    @property
    def proxy(self) -> bool:
        value = self.data.get("channel") if self.is_bound else self.initial.get("channel")
        return value == Channel.PROXY

    def to_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "household_id": d["household"],
            "service_code": d["service"],
            "applicant_id": d["applicant"],
            "channel": d["channel"],
            "received": list(d["materials"]),
            "authorisation_signed": d["authorisation_signed"],
            "pledge_signed": d["pledge_signed"],
            "entrusted_name": d["entrusted_name"],
            "entrusted_id_number": d["entrusted_id_number"],
            "note": d["note"],
            "today": d["submitted_on"],
        }


# ---------------------------------------------------------------- case actions


class NameListWidget(forms.Widget):
    """Several text inputs under one name (e.g. the investigators of a home visit); the value is a list."""

    input_type = "namelist"

    def __init__(self, count: int = 3, required_count: int = 2, placeholder: str = "", attrs=None):
        super().__init__(attrs)
        self.count, self.required_count, self.placeholder = count, required_count, placeholder

    def value_from_datadict(self, data, files, name: str) -> list[str]:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])

    def value_omitted_from_data(self, data, files, name: str) -> bool:
        return name not in data

    def render(self, name: str, value, attrs: dict | None = None, renderer=None) -> str:
        values = list(value or []) + [""] * self.count
        base_id = (attrs or {}).get("id") or f"id_{name}"
        return format_html(
            '<div class="d-flex flex-wrap gap-2">{}</div>',
            format_html_join(
                "",
                '<input type="text" class="form-control mz-maxw-12" name="{}" id="{}" value="{}"'
                ' placeholder="{}" aria-label="{}"{}>',
                (
                    (
                        name,
                        base_id if i == 0 else f"{base_id}_{i}",
                        values[i],
                        f"{self.placeholder}{i + 1}",
                        f"{self.placeholder}{i + 1}",
                        mark_safe(" required") if i < self.required_count else "",
                    )
                    for i in range(self.count)
                ),
            ),
        )


class NameListField(forms.Field):
    widget = NameListWidget

    def to_python(self, value) -> list[str]:
        if isinstance(value, str):
            value = [value]
        return [v.strip() for v in (value or []) if v and v.strip()]


def _textarea(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _styled_textarea(rows: int = 2) -> forms.Textarea:
    """For a field added after the mixin styled the form's fields (it would render as a bare, unstyled box)."""
    return forms.Textarea(attrs={"rows": rows, "class": "form-control"})


def _money_field(label: str, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=12,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )


class ActionForm(_Form):
    """One action on the case page. Every form posts the case's version (optimistic locking); `to_data` gives the
    keyword arguments the action's handler in `services` reads."""

    version = ids.version_field()
    note = forms.CharField(label="意见/说明", max_length=2000, required=False, widget=_textarea())
    on = forms.DateField(
        label="办理日期", required=False, widget=_date_input(), help_text="默认今天；补录时填写实际日期"
    )

    def __init__(self, *args, case: Case, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", case.version)
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["on"].widget.attrs.update(
            {"max": timezone.localdate().isoformat(), "class": "form-control form-control-sm"}
        )

    def action_date(self) -> datetime.date | None:
        """办理日期: None for today; an earlier date records paper-first work (the service checks the order)."""
        return self.cleaned_data.get("on")

    def to_data(self) -> dict:
        data = {}
        for name, value in self.cleaned_data.items():
            if name in ("version", "on") or value is None:
                continue
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            data[name] = value
        return data


class ReasonsForm(ActionForm):
    reasons = forms.CharField(label="理由", max_length=2000, widget=_textarea(3))
    field_order = ["reasons", "note"]


class CompleteMaterialsForm(ActionForm):
    received = forms.MultipleChoiceField(label="本次补齐的材料", required=False, widget=forms.CheckboxSelectMultiple)
    authorisation_signed = forms.BooleanField(label="已签署家庭经济状况核对授权书", required=False)
    pledge_signed = forms.BooleanField(label="已签署如实申报承诺书", required=False)
    accept = forms.BooleanField(label="补齐后受理", required=False, initial=True)
    field_order = ["received", "authorisation_signed", "pledge_signed", "accept", "note"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        rows = case.materials.select_related("material").filter(received=False).order_by("material__order")
        outstanding = [r.material for r in rows if r.material.demandable]
        self.fields["received"].choices = [
            (m.code, m.name + ("" if m.required else "（如有）")) for m in outstanding if m.code not in SIGNATURES
        ]
        unsigned = {SIGNATURES[m.code] for m in outstanding if m.code in SIGNATURES}
        for flag in SIGNATURES.values():
            if flag not in unsigned:
                del self.fields[flag]


class StartInvestigationForm(ActionForm):
    investigators = NameListField(
        label="入户调查人员",
        required=False,
        widget=NameListWidget(count=3, required_count=2, placeholder="调查人员"),
        help_text="须2名以上工作人员",
    )
    field_order = ["investigators", "note"]


class _OfferedChoices(forms.MultipleChoiceField):
    """Checkboxes of the values on offer; whether a posted value is acceptable is the service's decision, so the page
    and the API give the same Chinese message."""

    def valid_value(self, value) -> bool:
        return True


class RecordVisitForm(ActionForm):
    """入户调查 (DB §15–16): two or more staff on a date, what they found, the family's signature (or refusal), and per
    member the findings the check reads. Fields are plain; the service gives every error (web and API alike)."""

    visit_date = forms.DateField(label="入户调查日期", widget=_date_input(), required=False)
    investigators = _OfferedChoices(label="调查人员（2名以上）", required=False, widget=forms.CheckboxSelectMultiple)
    findings = forms.CharField(label="调查情况", max_length=2000, required=False, widget=_textarea(3))
    signature = forms.ChoiceField(
        label="家庭签字", required=False, choices=Investigation.Signature.choices, widget=forms.RadioSelect
    )
    signed_on = forms.DateField(label="签字（拒签）日期", widget=_date_input(), required=False)
    signature_note = forms.CharField(label="拒签情况说明", max_length=300, required=False, help_text="拒绝签字时填写")

    SUPPORTER = [("", "未认定")] + [
        (k.value, k.label) for k in (Declaration.Kind.NO_SUPPORTER, Declaration.Kind.HAS_SUPPORTER)
    ]
    FLAGS = [
        (k.value, k.label)
        for k in (Declaration.Kind.EXCLUSION, Declaration.Kind.SERIOUS_ILLNESS, Declaration.Kind.STUDENT)
    ]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        self.fields["investigators"].choices = [
            (str(u.pk), f"{u.display_name}（{u.get_role_display()}）")
            for u in investigations.eligible_investigators(case)
        ]
        self.members = list(case.household.current_memberships())
        order = ["visit_date", "investigators", "findings"]
        for m in self.members:
            who = f"{m.person.name}（{m.get_relationship_display()}）"
            prefix = f"m{m.person_id}_"
            self.fields[prefix + "supporter"] = forms.ChoiceField(
                label=f"{who}：法定义务人", required=False, choices=self.SUPPORTER, widget=forms.RadioSelect
            )
            self.fields[prefix + "flags"] = forms.MultipleChoiceField(
                label=f"{who}：其他认定", required=False, choices=self.FLAGS, widget=forms.CheckboxSelectMultiple
            )
            self.fields[prefix + "income_item"] = forms.ChoiceField(
                label=f"{who}：申报收入项目",
                required=False,
                choices=[("", "无"), *investigations.DECLARABLE_ITEMS.items()],
            )
            self.fields[prefix + "income"] = forms.CharField(
                label=f"{who}：申报收入月均金额（元）", required=False, max_length=20
            )
            order += [prefix + n for n in ("supporter", "flags", "income_item", "income")]
        for name in order[3:]:  # added after the mixins styled the class-level fields
            widget = self.fields[name].widget
            widget.attrs["class"] = (
                "form-check-input"
                if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
                else "form-select"
                if isinstance(widget, forms.Select)
                else "form-control"
            )
        self.order_fields([*order, "signature", "signed_on", "signature_note", "note"])

    def to_data(self) -> dict:
        d = self.cleaned_data
        declarations = []
        for m in self.members:
            prefix = f"m{m.person_id}_"
            if d.get(prefix + "supporter"):
                declarations.append({"person": m.person_id, "kind": d[prefix + "supporter"]})
            declarations += [{"person": m.person_id, "kind": k} for k in d.get(prefix + "flags") or []]
            item, amount = d.get(prefix + "income_item") or "", (d.get(prefix + "income") or "").strip()
            if item or amount:
                declarations.append({"person": m.person_id, "kind": "income", "item": item, "monthly_amount": amount})
        return {
            "visit_date": d["visit_date"].isoformat() if d.get("visit_date") else "",
            "investigators": list(d.get("investigators") or []),
            "findings": d.get("findings") or "",
            "signature": d.get("signature") or "",
            "signed_on": d["signed_on"].isoformat() if d.get("signed_on") else "",
            "signature_note": d.get("signature_note") or "",
            "declarations": declarations,
            "note": d.get("note") or "",
        }


latest_check = confirmation.latest_check


class ConfirmingForm(ActionForm):
    """A step that proposes or confirms the amount against the case's check (`confirmation`): the engine's computed
    amount pre-filled with its breakdown, a reason required to change it, and, where the check does not support the
    step (不符合, 无法判断, stale), the override's reasons field with the concerns named."""

    amount_label = "金额"

    def __init__(self, *args, case: Case, **kwargs):
        workflow = case.service.workflow
        found = (
            confirmation.standing(case, workflow, timezone.localdate()) if workflow in confirmation.CHECKED else None
        )
        kwargs.setdefault("initial", {})
        if found is not None and found.computed is not None:
            kwargs["initial"].setdefault("amount", found.computed)
        super().__init__(*args, case=case, **kwargs)
        self.check_concerns = found.concerns if found is not None else []
        if found is None:
            return
        amount = self.fields.get("amount")
        if amount is not None and found.computed is not None:
            rows = "；".join(f"{label} {text}" for label, text in (found.check or {}).get("breakdown") or [])
            amount.help_text = f"核对测算金额 {found.computed} 元/月（{rows or found.check.get('verdict', '')}）"
            self.fields[confirmation.AMOUNT_REASON_FIELD] = forms.CharField(
                label="金额调整理由",
                max_length=2000,
                required=False,
                widget=_styled_textarea(2),
                help_text=f"{self.amount_label}与核对测算金额不一致时必填，记入办理记录",
            )
        if found.concerns:
            self.fields[confirmation.OVERRIDE_FIELD] = forms.CharField(
                label="越过核对结果的理由",
                max_length=2000,
                required=False,
                widget=_styled_textarea(3),
                help_text=f"核对结果不支持确认：{'；'.join(found.concerns)}。确需确认时填写理由，记入办理记录和审计日志",
            )
        self.order_fields(
            [*(self.field_order or []), confirmation.AMOUNT_REASON_FIELD, confirmation.OVERRIDE_FIELD, "note"]
        )

    def to_data(self) -> dict:
        data = super().to_data()
        for name in (confirmation.AMOUNT_REASON_FIELD, confirmation.OVERRIDE_FIELD):
            if not data.get(name):
                data.pop(name, None)
        return data


class RecordCheckForm(ActionForm):
    """信息核对 (DB §17): by default the checking engine queries the departments' data now, under the household's
    signed authorisation, and records its verdict; where the data exchange is unavailable an officer records the
    paper result by hand (the per-capita income field appears when that box is ticked)."""

    summary = forms.CharField(
        label="核对结果说明", max_length=2000, required=False, widget=_textarea(2), help_text="可不填；手工登记时必填"
    )
    manual = forms.BooleanField(
        label="手工登记核对结果（无法联网核对时）",
        required=False,
        help_text="不勾选时，系统依据家庭核对授权即时查询各部门数据并核对",
    )
    per_capita_income = _money_field("家庭人均月收入（元）", required=False)
    field_order = ["summary", "manual", "per_capita_income", "note"]
    manual_only = ("per_capita_income",)  # shown only while "manual" is ticked (case page CSS)

    def clean(self):
        data = super().clean()
        if data.get("manual") and not (data.get("summary") or "").strip():
            self.add_error("summary", "手工登记核对结果时须填写核对结果")
        return data

    def to_data(self) -> dict:
        data = super().to_data()
        if not data.get("manual"):
            data.pop("manual", None)
            data.pop("per_capita_income", None)
        return data


SELF_CARE_ITEMS = (
    ("feeding", "进食"),
    ("dressing", "穿衣"),
    ("transfer", "上下床"),
    ("toileting", "如厕"),
    ("walking", "室内行走"),
    ("bathing", "洗澡"),
)


class AssessSelfCareForm(ActionForm):
    """Six activities; a ticked box means the person can do it (能完成)."""

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        for code, label in SELF_CARE_ITEMS:
            self.fields[code] = forms.BooleanField(label=f"{label}：能完成", required=False)
            self.fields[code].widget.attrs["class"] = "form-check-input"
        self.order_fields([c for c, _ in SELF_CARE_ITEMS] + ["note"])

    def to_data(self) -> dict:
        d = self.cleaned_data
        return {"items": {code: bool(d.get(code)) for code, _ in SELF_CARE_ITEMS}, "note": d.get("note", "")}


class CompleteInvestigationForm(ActionForm):
    visit_date = forms.DateField(label="入户调查日期", widget=_date_input(), required=False, help_text="不填为办理日期")
    findings = forms.CharField(label="调查情况", max_length=2000, widget=_textarea(3))
    per_capita_income = _money_field("家庭人均月收入（元）", required=False)
    field_order = ["visit_date", "findings", "per_capita_income", "note"]

    def __init__(self, *args, case: Case, **kwargs):
        # What 登记入户调查 recorded is not asked again: the latest visit's date and findings are the defaults.
        visit = case.investigations.order_by("-visited_on", "-id").only("case", "visited_on", "findings").first()
        if visit is not None:
            kwargs.setdefault("initial", {})
            kwargs["initial"].setdefault("visit_date", visit.visited_on)
            kwargs["initial"].setdefault("findings", visit.findings)
        super().__init__(*args, case=case, **kwargs)


class FirstReviewForm(ConfirmingForm):
    opinion = forms.ChoiceField(
        label="初审意见", choices=[("approve", "拟批准"), ("refuse", "拟不予批准")], widget=forms.RadioSelect
    )
    amount = _money_field("拟救助金额（元/月）", required=False, help_text="拟批准时填写")
    reasons = forms.CharField(
        label="拟不予批准的理由", max_length=2000, required=False, widget=_textarea(2), help_text="拟不予批准时填写"
    )
    field_order = ["opinion", "amount", "reasons", "note"]
    amount_label = "拟救助金额"


class RecordObjectionForm(ActionForm):
    content = forms.CharField(label="异议内容", max_length=2000, widget=_textarea(3))
    raised_by = forms.CharField(label="异议人", max_length=50, required=False, help_text="不填为匿名")
    field_order = ["content", "raised_by", "note"]


class ResolveObjectionForm(ActionForm):
    method = forms.ChoiceField(
        label="处理方式",
        choices=[("verified", "核实"), ("democratic_appraisal", "民主评议")],
        widget=forms.RadioSelect,
    )
    result = forms.CharField(label="处理结果", max_length=2000, widget=_textarea(2))
    field_order = ["method", "result", "note"]


class ReinvestigateForm(ActionForm):
    result = forms.CharField(label="异议核实情况", max_length=2000, widget=_textarea(2))
    field_order = ["result"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        del self.fields["note"]  # the handler records the finding only


class VisitForm(ActionForm):
    visit_date = forms.DateField(label="入户核查日期", widget=_date_input(), required=False, help_text="不填为办理日期")
    findings = forms.CharField(label="核查情况", max_length=2000, widget=_textarea(3))
    field_order = ["visit_date", "findings"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        del self.fields["note"]


class SpotCheckForm(ActionForm):
    findings = forms.CharField(label="抽查情况", max_length=2000, widget=_textarea(3))
    field_order = ["findings"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        del self.fields["note"]


class ApproveForm(ConfirmingForm):
    amount = _money_field("核定救助金额（元/月）")
    field_order = ["amount", "note"]
    amount_label = "核定救助金额"

    def __init__(self, *args, case: Case, **kwargs):
        kwargs.setdefault("initial", {})
        if case.proposed_amount is not None:
            kwargs["initial"].setdefault("amount", case.proposed_amount)
        super().__init__(*args, case=case, **kwargs)


class DeliverRefusalForm(ActionForm):
    method = forms.ChoiceField(
        label="送达方式", choices=[(m, m) for m in ("直接送达", "邮寄送达", "留置送达", "电子送达", "公告送达")]
    )
    field_order = ["method", "note"]


class ReasonOnlyForm(ActionForm):
    reason = forms.CharField(label="理由", max_length=2000, widget=_textarea(2))
    field_order = ["reason"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        del self.fields["note"]


class ExtendForm(ReasonOnlyForm):
    reason = forms.CharField(label="延长理由", max_length=2000, widget=_textarea(2), help_text="一次为限")


class WithdrawForm(ReasonOnlyForm):
    reason = forms.CharField(label="撤回原因", max_length=2000, widget=_textarea(2))


class PayFirstForm(ActionForm):
    amount = _money_field("先行救助金额（元）")
    situation = forms.CharField(label="急难情况", max_length=2000, widget=_textarea(3))
    field_order = ["amount", "situation"]

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        del self.fields["note"]


class RejectIntakeForm(ReasonsForm):
    reasons = forms.CharField(label="不予受理的理由", max_length=2000, widget=_textarea(3))


class RefuseForm(ReasonsForm):
    reasons = forms.CharField(label="不予批准的理由", max_length=2000, widget=_textarea(3))


class ReviewDecisionForm(ActionForm):
    """A 动态复核 decision: its reasons (printed on the notice) and the month it takes effect."""

    reasons = forms.CharField(label="决定理由", max_length=2000, widget=_textarea(3))
    effective_month = forms.CharField(
        label="生效月份", max_length=7, required=False, help_text="YYYY-MM，默认决定的次月", widget=forms.TextInput()
    )
    field_order = ["amount", "months", "reasons", "effective_month", "note"]


class ChangeAmountForm(ConfirmingForm, ReviewDecisionForm):
    amount = _money_field("调整后金额（元/月）")
    amount_label = "调整后金额"


class TaperForm(ReviewDecisionForm):
    amount = _money_field("渐退期内金额（元/月）")
    months = forms.IntegerField(label="渐退期（月）", min_value=1, max_value=24)


class ReviewStopForm(ReviewDecisionForm):
    reasons = forms.CharField(label="停止保障的理由", max_length=2000, widget=_textarea(3))
    transfer_to = forms.ChoiceField(
        label="转入其他救助",
        required=False,
        choices=[("", "不转入"), ("dibao", "符合条件的，转入低保"), ("temp_expense", "符合条件的，给予临时救助")],
    )


class NotifyTerminationForm(ReasonsForm):
    reasons = forms.CharField(label="终止理由", max_length=2000, widget=_textarea(3))


def _refuse_form(action: str, case: Case):
    return ReviewStopForm if case.service.workflow == "review" else RefuseForm


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "complete_materials": CompleteMaterialsForm,
    "reject_intake": RejectIntakeForm,
    "start_investigation": StartInvestigationForm,
    "record_visit": RecordVisitForm,
    "record_check": RecordCheckForm,
    "assess_self_care": AssessSelfCareForm,
    "complete_investigation": CompleteInvestigationForm,
    "first_review": FirstReviewForm,
    "record_objection": RecordObjectionForm,
    "resolve_objection": ResolveObjectionForm,
    "reinvestigate": ReinvestigateForm,
    "county_visit": VisitForm,
    "spot_check": SpotCheckForm,
    "approve": ApproveForm,
    "refuse": RefuseForm,
    "deliver_refusal": DeliverRefusalForm,
    "extend": ExtendForm,
    "withdraw": WithdrawForm,
    "pay_first": PayFirstForm,
    "change_amount": ChangeAmountForm,
    "taper": TaperForm,
    "suspend": ReviewDecisionForm,
    "notify_termination": NotifyTerminationForm,
}
# Every other action (notify_missing, accept, request_check, end_notice, complete_documents) takes a note only.


def action_form(action: str, case: Case, data=None) -> ActionForm:
    """The form for one action on one case, bound to posted data when given."""
    form_class = _refuse_form(action, case) if action == "refuse" else ACTION_FORMS.get(action, ActionForm)
    form = form_class(data, case=case, auto_id=f"id_{action}_%s")
    form.action = action
    return form

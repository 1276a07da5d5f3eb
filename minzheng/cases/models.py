"""Cases: one application for one service item by one household, kept as an append-only event log.

`Case.state`, `current_due` and `version` are caches derived from the events, written only by
`minzheng.cases.services` in the same transaction as the event that changes them (ARCHITECTURE.md principle 3).
"""

from django.conf import settings
from django.db import models

from minzheng.core import fields
from minzheng.core.masking import mask_name
from minzheng.core.scoping import ScopedQuerySet
from minzheng.policy.models import Material, ServiceItem
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Person

from .workflows import FINAL_STATES


class Channel(models.TextChoices):
    WINDOW = "window", "窗口受理"
    ONLINE = "online", "网上申请"
    PROXY = "proxy", "代办"
    PROACTIVE = "proactive", "主动发现"  # opened from a monitoring warning (JC: 主动发现、及时救助)


class CaseQuerySet(ScopedQuerySet):
    region_field = "region"

    def open(self):
        return self.exclude(state__in=FINAL_STATES)


class Case(models.Model):
    number = models.CharField("案件编号", max_length=32, unique=True)
    service = models.ForeignKey(ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="cases")
    household = models.ForeignKey(Household, verbose_name="申请家庭", on_delete=models.PROTECT, related_name="cases")
    applicant = models.ForeignKey(Person, verbose_name="申请人", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField("申请渠道", max_length=10, choices=Channel.choices)
    entrusted_name = models.CharField("受托人", max_length=50, blank=True)
    entrusted_id_number = models.CharField("受托人身份号码", max_length=18, blank=True)
    authorisation_signed = models.BooleanField("已签署核对授权书", default=False)
    pledge_signed = models.BooleanField("已签署承诺书", default=False)
    conflict_of_interest = models.BooleanField("近亲属备案", default=False)
    conflict_note = models.CharField("备案说明", max_length=300, blank=True)
    submitted_on = models.DateField("申请日期")
    accepted_on = models.DateField("受理日期", null=True, blank=True)
    state = models.CharField("办理状态", max_length=30, db_index=True)
    current_step = models.CharField("当前环节时限", max_length=40, blank=True)
    current_due = models.DateField("当前环节截止", null=True, blank=True, db_index=True)
    due_provisional = models.BooleanField("截止日期暂定", default=False)
    proposed_amount = models.DecimalField("拟救助金额（元/月）", max_digits=12, decimal_places=2, null=True, blank=True)
    decided_amount = models.DecimalField("核定金额", max_digits=12, decimal_places=2, null=True, blank=True)
    start_month = models.DateField("起始发放月份", null=True, blank=True)
    decided_on = models.DateField("决定日期", null=True, blank=True)
    spot_check_selected = models.BooleanField("抽查", default=False)
    parameters = models.JSONField("适用参数", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="受理人"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = CaseQuerySet.as_manager()
    audit_type = "case"

    class Meta:
        verbose_name = verbose_name_plural = "案件"
        indexes = [models.Index(fields=["region", "state", "current_due"])]
        constraints = [
            # One open application per household and service item, even for two windows submitting at once.
            models.UniqueConstraint(
                fields=["household", "service"],
                condition=~models.Q(state__in=FINAL_STATES),
                name="one_open_case_per_item",
            )
        ]

    def __str__(self) -> str:
        return self.number

    def audit_label(self) -> str:
        return f"{self.number} {self.service.name} {mask_name(self.applicant.name)}"


class CaseEvent(models.Model):
    """One action on a case: who, when, what, from which state to which. Never updated or deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField("序号")
    action = models.CharField("操作", max_length=40)
    from_state = models.CharField("原状态", max_length=30, blank=True)
    to_state = models.CharField("新状态", max_length=30)
    on = models.DateField("办理日期")
    at = models.DateTimeField("记录时间", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )
    data = models.JSONField("内容", default=dict, blank=True)
    note = models.TextField("意见/说明", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "案件事件"
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="event_seq_per_case")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("案件事件只能追加，不能修改")
        super().save(*args, **kwargs)


class CaseMaterial(models.Model):
    """A material of the service item, as received for this case (with the uploaded file's metadata, if any)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    received = models.BooleanField("已收取", default=False)
    received_on = models.DateField("收取日期", null=True, blank=True)
    file_name = models.CharField("文件名", max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField("文件大小", null=True, blank=True)
    file_sha256 = models.CharField("文件摘要", max_length=64, blank=True)
    content_type = models.CharField("文件类型", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "案件材料"
        constraints = [models.UniqueConstraint(fields=["case", "material"], name="one_material_row_per_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.material.name}"


class Referral(models.Model):
    """转办: a need outside civil affairs, referred to the department concerned, which reports back."""

    audit_type = "referral"

    class Department(models.TextChoices):
        EDUCATION = "education", "教育部门"
        HEALTH = "health", "卫生健康部门"
        MEDICAL_INSURANCE = "medical_insurance", "医疗保障部门"
        HOUSING = "housing", "住房城乡建设部门"
        EMPLOYMENT = "employment", "人力资源社会保障部门"
        DISABLED = "disabled", "残疾人联合会"
        RURAL = "rural", "乡村振兴部门"
        EMERGENCY = "emergency", "应急管理部门"
        JUSTICE = "justice", "司法行政部门（法律援助）"
        OTHER = "other", "其他部门"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="referrals", verbose_name="家庭")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name="所在村（社区）")
    department = models.CharField("转办部门", max_length=20, choices=Department.choices)
    need = models.TextField("需求说明")
    referred_on = models.DateField("转办日期")
    due = models.DateField("回复期限")
    due_provisional = models.BooleanField(default=False)
    reply = models.TextField("部门回复", blank=True)
    replied_on = models.DateField("回复日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "转办"
        ordering = ["due"]

    def __str__(self) -> str:
        return f"{self.get_department_display()} {self.referred_on}"


class InterestDeclaration(models.Model):
    """备案: a case worker or village-committee member, or a close relative of one. Applications from households
    containing such a person are registered separately and need a county home visit (DB §11, §20)."""

    class Kind(models.TextChoices):
        STAFF = "staff", "社会救助经办人员"
        COMMITTEE = "committee", "村（居）委会成员"

    id_number = models.CharField("公民身份号码", max_length=18, db_index=True)
    name = models.CharField("姓名", max_length=50)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    related_to = models.CharField("本人/近亲属关系", max_length=100, help_text="如：本人；张某某（村委会主任）之子")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name="所在区划")
    active = models.BooleanField("有效", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "近亲属备案"

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"


class InvestigationQuerySet(ScopedQuerySet):
    region_field = "region"


class Investigation(models.Model):
    """入户调查 (DB §15–16; TK): a home visit by at least two staff, the date, what they found, and whether the family
    signed the record (or refused to). What it established that no department holds is in its `declarations`."""

    class Signature(models.TextChoices):
        CONFIRMED = "confirmed", "家庭已签字确认"
        REFUSED = "refused", "家庭拒绝签字"

    case = models.ForeignKey(Case, verbose_name="案件", on_delete=models.PROTECT, related_name="investigations")
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField("入户调查日期")
    investigators = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="调查人员", related_name="+")
    findings = models.TextField("调查情况")
    signature = models.CharField("家庭签字", max_length=10, choices=Signature.choices)
    signed_on = models.DateField("签字（拒签）日期")
    signature_note = models.CharField("拒签情况说明", max_length=300, blank=True)
    recorded_by = fields.staff("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = InvestigationQuerySet.as_manager()
    audit_type = "investigation"

    class Meta:
        verbose_name = verbose_name_plural = "入户调查"
        ordering = ["case", "visited_on", "id"]

    def __str__(self) -> str:
        return f"入户调查 {self.visited_on}（{self.case_id}）"

    def audit_label(self) -> str:
        return f"入户调查 {self.pk}（案件 {self.case.number}）"


class Declaration(models.Model):
    """What the investigation established that no department holds (DB §13, §7; TK): support received from relatives
    living elsewhere, members who do not count as living together, whether a 特困 applicant has a supporter able to
    support them, serious illness, full-time schooling. The checking engine reads these beside the departmental rows.
    Recorded with the home visit that found them (`investigation`); older rows may carry only the case."""

    class Kind(models.TextChoices):
        INCOME = "income", "收入"
        EXCLUSION = "exclusion", "不计入共同生活成员"
        NO_SUPPORTER = "no_supporter", "无法定义务人或义务人无履行能力"
        HAS_SUPPORTER = "has_supporter", "有履行能力的法定义务人"
        SERIOUS_ILLNESS = "serious_illness", "患重特大疾病"
        STUDENT = "student", "全日制在校就读"

    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, verbose_name="成员", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        Case, verbose_name="案件", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    investigation = models.ForeignKey(
        Investigation,
        verbose_name="入户调查",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
    )
    kind = models.CharField("事项", max_length=20, choices=Kind.choices)
    item = models.CharField("收入项目/原因", max_length=40, blank=True)
    monthly_amount = models.DecimalField("月均金额", max_digits=12, decimal_places=2, default=0)
    note = models.CharField("说明", max_length=200, blank=True)
    valid_from = models.DateField("起始日期")
    valid_until = models.DateField("截止日期", null=True, blank=True)
    recorded_by = fields.staff("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "入户调查认定事项"
        indexes = [models.Index(fields=["household", "valid_from"], name="cases_decl_household_from_idx")]

    def __str__(self) -> str:
        return f"{mask_name(self.person.name)} {self.get_kind_display()}"

"""Entitlements (who receives what, from when, as decided on cases), monthly payment rolls and their lines, bank
returns and recoveries (DOMAIN.md §1, §2, §11). Money is integer fen in the database (exact sums in SQL on every
engine); `amount` properties give Decimal yuan."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from minzheng.cases.models import Case
from minzheng.core.masking import mask_name
from minzheng.core.money import from_fen
from minzheng.core.runs import BatchRun
from minzheng.core.scoping import ScopedQuerySet
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Person

from .kinds import CHOICES, label


class Status(models.TextChoices):
    ACTIVE = "active", "正常发放"
    TAPER = "taper", "渐退期"
    SUSPENDED = "suspended", "暂停发放"
    STOPPED = "stopped", "已停止"


PAYABLE_STATUSES = (Status.ACTIVE, Status.TAPER)


class Entitlement(models.Model):
    """One benefit of a household (or a person: 特困, allowances, children) as the decisions left it. The current
    fields are a cache of the latest version; `versions` keep every change with the decision that made it."""

    benefit = models.CharField("待遇类别", max_length=20, choices=CHOICES, db_index=True)
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        Person, verbose_name="享受人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    amount_fen = models.BigIntegerField("月发放金额（分）")
    breakdown = models.JSONField("金额构成", default=list, blank=True)
    start_month = models.DateField("起始发放月份")
    end_month = models.DateField("终止发放月份", null=True, blank=True)
    taper_end = models.DateField("渐退期截止月份", null=True, blank=True)
    # The last month whose payment is settled (put on an approved roll); arrears are looked for only after it.
    settled_through = models.DateField("已结算至", null=True, blank=True)
    decision = models.ForeignKey(Case, verbose_name="批准决定", on_delete=models.PROTECT, related_name="+")
    last_decision = models.ForeignKey(Case, verbose_name="最近决定", on_delete=models.PROTECT, related_name="+")
    parameters = models.JSONField("适用参数", default=dict, blank=True)
    next_review = models.DateField("下次复核日期", null=True, blank=True, db_index=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = ScopedQuerySet.as_manager()
    audit_type = "entitlement"

    class Meta:
        verbose_name = verbose_name_plural = "救助待遇"
        indexes = [
            models.Index(fields=["region", "benefit", "status"]),
            models.Index(fields=["household", "benefit"]),
        ]

    def __str__(self) -> str:
        return f"{label(self.benefit)} {self.household.number if self.household_id else ''}"

    @property
    def amount(self):
        return from_fen(self.amount_fen)

    @property
    def benefit_name(self) -> str:
        return label(self.benefit)

    def audit_label(self) -> str:
        return f"{label(self.benefit)} 家庭 H{self.household_id:09d}"

    def audit_region_code(self) -> str:
        return self.region_id


class EntitlementVersion(models.Model):
    """One change of an entitlement from a month on: what the decision set and why. Never updated or deleted; the
    version in force for a month is the latest one whose `effective_from` is on or before it."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="versions")
    effective_from = models.DateField("生效月份")
    status = models.CharField("状态", max_length=10, choices=Status.choices)
    amount_fen = models.BigIntegerField("月发放金额（分）")
    breakdown = models.JSONField("金额构成", default=list, blank=True)
    decision = models.ForeignKey(Case, verbose_name="决定", on_delete=models.PROTECT, related_name="+")
    event_id = models.BigIntegerField("决定事件", null=True, blank=True)
    action = models.CharField("决定类型", max_length=30)
    reasons = models.TextField("理由", blank=True)
    parameters = models.JSONField("适用参数", default=dict, blank=True)
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "待遇变更记录"
        ordering = ["entitlement", "effective_from", "id"]
        indexes = [models.Index(fields=["entitlement", "effective_from", "id"])]

    def __str__(self) -> str:
        return f"{self.entitlement_id} {self.effective_from:%Y-%m} {self.status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("待遇变更记录只能追加，不能修改")
        super().save(*args, **kwargs)

    @property
    def amount(self):
        return from_fen(self.amount_fen)

    @property
    def paid(self) -> bool:
        """Paid in the months this version is in force (active or tapering)."""
        return self.status in PAYABLE_STATUSES


class RollRun(BatchRun):
    """One preparation of the month's rolls for a region (the batch run a page or the schedule starts)."""

    region = models.ForeignKey(Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+")
    month = models.DateField("发放月份")
    objects = ScopedQuerySet.as_manager()
    audit_run_type = "roll_run"

    class Meta:
        verbose_name = verbose_name_plural = "名册编制任务"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"名册编制 {self.pk} {self.month:%Y-%m}"


class RollQuerySet(ScopedQuerySet):
    region_field = "county"


class PaymentRoll(models.Model):
    """发放名册: one per county, benefit and month (plus numbered supplementary rolls, 补发批次)."""

    class Kind(models.TextChoices):
        REGULAR = "regular", "月度名册"
        SUPPLEMENTARY = "supplementary", "补发批次"

    class State(models.TextChoices):
        PREPARED = "prepared", "已编制，待审核"
        APPROVED = "approved", "已审核，待导出"
        EXPORTED = "exported", "已导出银行文件"
        RETURNED = "returned", "银行已回盘"

    county = models.ForeignKey(Region, verbose_name="县（市、区）", on_delete=models.PROTECT, related_name="+")
    benefit = models.CharField("待遇类别", max_length=20, choices=CHOICES)
    month = models.DateField("发放月份")
    kind = models.CharField("类型", max_length=15, choices=Kind.choices, default=Kind.REGULAR)
    seq = models.PositiveSmallIntegerField("批次", default=0)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PREPARED, db_index=True)
    run = models.ForeignKey(RollRun, null=True, blank=True, on_delete=models.PROTECT, related_name="rolls")
    lines_count = models.PositiveIntegerField("行数", default=0)
    total_fen = models.BigIntegerField("应发总额（分）", default=0)
    held_count = models.PositiveIntegerField("暂停行数", default=0)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="编制人",
    )
    prepared_at = models.DateTimeField("编制时间", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审核人",
    )
    approved_at = models.DateTimeField("审核时间", null=True, blank=True)
    lines_hash = models.CharField("名册摘要", max_length=64, blank=True)
    exported_at = models.DateTimeField("导出时间", null=True, blank=True)
    layout = models.CharField("银行文件格式", max_length=30, blank=True)
    returned_at = models.DateTimeField("回盘时间", null=True, blank=True)
    paid_fen = models.BigIntegerField("发放成功金额（分）", default=0)
    failed_count = models.PositiveIntegerField("发放失败行数", default=0)

    objects = RollQuerySet.as_manager()
    audit_type = "payment_roll"

    class Meta:
        verbose_name = verbose_name_plural = "发放名册"
        ordering = ["-month", "county", "benefit", "kind", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["county", "benefit", "month", "kind", "seq"], name="one_roll_per_batch")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        batch = f"补发第{self.seq}批" if self.kind == self.Kind.SUPPLEMENTARY else "月度名册"
        return f"{self.month:%Y年%m月}{label(self.benefit)}{batch}"

    @property
    def total(self):
        return from_fen(self.total_fen)

    @property
    def paid(self):
        return from_fen(self.paid_fen)

    @property
    def benefit_name(self) -> str:
        return label(self.benefit)

    def audit_label(self) -> str:
        return f"{self.county.name if self.county_id else ''} {self.title}"

    def audit_region_code(self) -> str:
        return self.county_id


class LineState(models.TextChoices):
    PENDING = "pending", "待发放"
    HELD = "held", "暂停（待核实）"
    RELEASED = "released", "核实后放行"
    STOPPED = "stopped", "核实后停发"
    APPROVED = "approved", "已审核"
    PAID = "paid", "发放成功"
    FAILED = "failed", "发放失败"
    REISSUED = "reissued", "已转补发"


PAYABLE_LINE_STATES = (LineState.PENDING, LineState.RELEASED)
COMMITTED_LINE_STATES = (LineState.APPROVED, LineState.PAID)


class LineQuerySet(ScopedQuerySet):
    region_field = "region"


class PaymentLine(models.Model):
    """One payment of one entitlement for one month: the regular month or an owed month (补发). The recipient's name,
    identity number and bank account are copied when the roll is prepared, so the roll says what was sent."""

    class Kind(models.TextChoices):
        REGULAR = "regular", "当月"
        ARREARS = "arrears", "补发（欠发月份）"

    # Every index and every checked reference costs a write or a lookup per line of a million-line roll. No
    # single-column indexes on roll and entitlement: (roll, state) and (entitlement, month) serve those lookups.
    # Household, person and region are indexed for no line: a household's lines, and the lines the pre-payment
    # comparison reaches from a death or a payroll fact, are found through the household's entitlements; the scoped
    # lists by region — held and failed lines — have partial indexes below; month totals and the village disclosure
    # reach the lines through the month's rolls.
    roll = models.ForeignKey(PaymentRoll, on_delete=models.PROTECT, related_name="lines", db_index=False)
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="lines", db_index=False)
    # Household, person and region are copies the preparation takes from the entitlement's own rows in the same
    # statement (a roll says what was sent), and registry rows are never deleted: the database does not check them
    # again for each line (three lookups per line, a third of the write; measured in docs/benchmarks.md).
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    person = models.ForeignKey(
        Person, null=True, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    benefit = models.CharField("待遇类别", max_length=20, choices=CHOICES)
    month = models.DateField("所属月份")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    amount_fen = models.BigIntegerField("金额（分）")
    recipient_name = models.CharField("领取人", max_length=50)
    recipient_id_number = models.CharField("公民身份号码", max_length=18)
    bank_name = models.CharField("开户银行", max_length=100, blank=True)
    bank_account = models.CharField("银行账号", max_length=30, blank=True)
    account_holder = models.CharField("账户名", max_length=50, blank=True)
    state = models.CharField("状态", max_length=10, choices=LineState.choices, default=LineState.PENDING)
    # Approved or paid (the committed states), kept beside the state so that marking a million approved lines paid
    # changes no index: the one-payment constraint and the roll index do not read the state (a check constraint
    # keeps the two in step).
    committed = models.BooleanField("已审核发放", default=False, db_default=False)
    hold_reasons = models.CharField("暂停原因", max_length=200, blank=True)
    hold_note = models.CharField("核实说明", max_length=500, blank=True)
    # Set on few lines: indexed only where set (partial indexes below), not once per line.
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bank_reason = models.CharField("银行退回原因", max_length=200, blank=True)
    reissue_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = LineQuerySet.as_manager()
    audit_type = "payment_line"

    class Meta:
        verbose_name = verbose_name_plural = "发放明细"
        indexes = [
            models.Index(fields=["roll"], name="line_roll"),
            models.Index(fields=["entitlement", "month"]),
            # The duplicate comparison (prepayment): a line's own entry is passed over on the index alone. The person
            # rather than the copied identity number (unique per person in the registry): a third smaller to write.
            models.Index(fields=["benefit", "month", "person", "entitlement"], name="line_same_person"),
            models.Index(fields=["resolved_by"], condition=Q(resolved_by__isnull=False), name="line_resolved_by"),
            models.Index(fields=["region"], condition=Q(state="held"), name="line_held_region"),
            models.Index(fields=["region"], condition=Q(state="failed"), name="line_failed_region"),
            models.Index(fields=["reissue_of"], condition=Q(reissue_of__isnull=False), name="line_reissue_of"),
        ]
        constraints = [
            # A month of an entitlement is paid at most once: of two rolls holding it only one can be approved.
            models.UniqueConstraint(
                fields=["entitlement", "month", "kind"], condition=Q(committed=True), name="line_paid_once"
            ),
            models.CheckConstraint(
                condition=Q(committed=True, state__in=["approved", "paid"])
                | (Q(committed=False) & ~Q(state__in=["approved", "paid"])),
                name="line_committed_is_state",
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.roll_id}#{self.pk} {self.month:%Y-%m}"

    def save(self, *args, **kwargs):
        self.committed = self.state in COMMITTED_LINE_STATES
        super().save(*args, **kwargs)

    @property
    def amount(self):
        return from_fen(self.amount_fen)

    @property
    def masked_name(self) -> str:
        return mask_name(self.recipient_name)

    @property
    def hold_labels(self) -> list[str]:
        from .prepayment import HOLD_LABELS

        return [HOLD_LABELS.get(code, code) for code in self.hold_reasons.split(",") if code]


class BankReturn(models.Model):
    """A bank's return file (回盘) for an exported roll: imported once (the same file again changes nothing)."""

    roll = models.ForeignKey(PaymentRoll, on_delete=models.PROTECT, related_name="returns")
    file_name = models.CharField("文件名", max_length=200)
    file_sha256 = models.CharField("文件校验值", max_length=64)
    lines_paid = models.PositiveIntegerField("成功行数", default=0)
    lines_failed = models.PositiveIntegerField("失败行数", default=0)
    paid_fen = models.BigIntegerField("成功金额（分）", default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "银行回盘"
        constraints = [models.UniqueConstraint(fields=["roll", "file_sha256"], name="return_once_per_file")]

    def __str__(self) -> str:
        return self.file_name


class Recovery(models.Model):
    """追回: money paid for a month after the entitlement stopped (or above the amount it should have been), kept
    as a record with its status, never deleted silently (DOMAIN.md §11)."""

    class State(models.TextChoices):
        OPEN = "open", "待追回"
        RECOVERED = "recovered", "已追回"
        WAIVED = "waived", "经批准核销"

    line = models.ForeignKey(PaymentLine, on_delete=models.PROTECT, related_name="recoveries")
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="recoveries")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField("应追回金额（分）")
    reason = models.CharField("原因", max_length=200)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.OPEN)
    detected_on = models.DateField("发现日期")
    closed_on = models.DateField("办结日期", null=True, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    audit_type = "recovery"

    class Meta:
        verbose_name = verbose_name_plural = "追回记录"
        constraints = [
            models.UniqueConstraint(fields=["line"], name="one_recovery_per_line"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="recovery_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.reason

    @property
    def amount(self):
        return from_fen(self.amount_fen)

    def audit_region_code(self) -> str:
        return self.region_id


class RollFact(models.Model):
    """A departmental fact the pre-payment comparison used (a death, a public-payroll entry), kept with the run that
    read it so a held line can show its evidence."""

    run = models.ForeignKey(RollRun, on_delete=models.CASCADE, related_name="facts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)  # death / payroll
    from_month = models.DateField(null=True, blank=True)  # deaths: the first month no longer payable
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "kind", "person"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.person_id}"

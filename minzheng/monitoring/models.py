"""低收入人口动态监测 (DOMAIN.md §4, JC): the monitored population, the sweeps that turn departments' signals into
warnings, and the follow-up of each warning (home visits, the outcome, the case it led to).

The signals themselves are rows of the departments' Parquet snapshots (`checks.Snapshot`, imported and validated like
the checking sources); a warning keeps the snapshot and row that raised it, so it can always be traced back.
"""

from django.db import models
from django.db.models import Q

from minzheng.core import fields
from minzheng.core.runs import BatchRun
from minzheng.core.scoping import ScopedQuerySet
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Person


class Category(models.TextChoices):
    DIBAO = "dibao", "低保对象"
    TEKUN = "tekun", "特困人员"
    EDGE = "edge", "低保边缘家庭成员"
    RIGID = "rigid", "刚性支出困难家庭成员"
    ANTI_POVERTY = "anti_poverty", "防止返贫监测对象"
    OTHER = "other", "其他困难人员"


class EntrySource(models.TextChoices):
    CASE = "case", "审批决定"
    CHECK = "check", "核对结果"
    IMPORT = "import", "部门名单导入"
    MANUAL = "manual", "人工登记"


class Outcome(models.TextChoices):
    """The four ways a warning is dealt with (DOMAIN.md §4, JC)."""

    APPLY = "apply", "政策未落实：落实政策或转介"
    ENROL = "enrol", "可能符合、尚未纳入：推送主管部门（主动发现）"
    COMPLEX = "complex", "情况复杂：县级“一事一议”"
    STOP = "stop", "可能不再符合：核实后按程序调整或停止"


class MonitoredQuerySet(ScopedQuerySet):
    region_field = "region"

    def current(self, on=None):
        qs = self.filter(end_on__isnull=True)
        return qs if on is None else self.filter(Q(end_on__isnull=True) | Q(end_on__gt=on), start_on__lte=on)


class MonitoredEntry(models.Model):
    """One person in one monitored category over a period. History is kept: leaving a category closes the row."""

    audit_type = "monitored_entry"

    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+")
    category = models.CharField("监测类别", max_length=20, choices=Category.choices)
    start_on = models.DateField("纳入日期")
    end_on = models.DateField("退出日期", null=True, blank=True)
    source = models.CharField("来源", max_length=10, choices=EntrySource.choices)
    reference = models.CharField("来源依据", max_length=100, blank=True)  # case number, check result, snapshot
    end_reason = models.CharField("退出原因", max_length=200, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = MonitoredQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "监测对象"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "category"], condition=Q(end_on__isnull=True), name="one_open_entry_per_category"
            ),
            models.CheckConstraint(
                name="entry_dates_ordered", condition=Q(end_on__isnull=True) | Q(end_on__gte=models.F("start_on"))
            ),
        ]
        indexes = [models.Index(fields=["region", "category", "end_on"]), models.Index(fields=["household", "end_on"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.get_category_display()} {self.start_on}–{self.end_on or ''}"


class Sweep(BatchRun):
    """One monitoring pass over a region: ingest the pending signal snapshots and evaluate every warning rule."""

    region = models.ForeignKey(Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField("比对基准日")
    snapshots = models.ManyToManyField(
        "exchange.Snapshot", verbose_name="读取的信号快照", related_name="sweeps", blank=True
    )

    audit_type = "sweep"

    class Meta:
        verbose_name = verbose_name_plural = "监测比对运行"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"监测比对 {self.region_id} {self.as_of}"


class AlertQuerySet(ScopedQuerySet):
    region_field = "region"

    def open(self):
        return self.exclude(status=Alert.Status.CLOSED)


class Alert(models.Model):
    """预警 and its follow-up task: raised by a rule for a household, assigned to the household's village (or the county
    when complex), visited, and closed with the outcome actually reached and the case it created."""

    class Status(models.TextChoices):
        OPEN = "open", "待核实"
        VISITED = "visited", "已走访，待处置"
        CLOSED = "closed", "已办结"

    class Level(models.TextChoices):
        VILLAGE = "village", "村（社区）协理员/乡镇"
        COUNTY = "county", "县级民政部门"

    number = models.CharField("预警编号", max_length=32, unique=True)
    # A sweep inserts hundreds of thousands of warnings at once: only the indexes the pages and the duplicate
    # suppression use are kept (the composite ones below cover the household, region, status and due date).
    household = models.ForeignKey(
        Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        Person,
        verbose_name="涉及人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    region = models.ForeignKey(
        Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    rule = models.CharField("预警规则", max_length=30)
    signal_key = models.CharField("信号标识", max_length=120)  # what the rule fired on; a repeat raises nothing
    suggested_outcome = models.CharField("建议处置", max_length=10, choices=Outcome.choices)
    level = models.CharField("处置层级", max_length=10, choices=Level.choices, default=Level.VILLAGE)
    summary = models.CharField("预警内容", max_length=300)
    detail = models.JSONField("预警依据", default=dict, blank=True)
    evidence = models.JSONField("信号来源", default=list, blank=True)  # [{source, snapshot, row_no, ...}]
    signal_on = models.DateField("信号日期")
    raised_on = models.DateField("预警日期")
    due_on = models.DateField("处置期限", null=True, blank=True)
    due_provisional = models.BooleanField("期限暂定", default=False)
    action_due_on = models.DateField("复核期限", null=True, blank=True)  # e.g. re-check within 3 months of a death
    sweep = models.ForeignKey(
        Sweep, verbose_name="监测比对", null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField("处置结果", max_length=10, choices=Outcome.choices, blank=True)
    closing_note = models.TextField("处置说明", blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)
    closed_by = fields.staff("办结人")
    case = models.ForeignKey(
        "cases.Case", verbose_name="形成的案件", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referral = models.ForeignKey(
        "cases.Referral", verbose_name="转介", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    objects = AlertQuerySet.as_manager()
    audit_type = "warning"

    class Meta:
        verbose_name = verbose_name_plural = "监测预警"
        ordering = ["due_on", "id"]
        constraints = [
            # Duplicate suppression: one open warning per household and rule, and one warning per fired signal.
            models.UniqueConstraint(
                fields=["household", "rule"], condition=~Q(status="closed"), name="one_open_warning_per_rule"
            ),
            models.UniqueConstraint(fields=["household", "rule", "signal_key"], name="one_warning_per_signal"),
        ]
        indexes = [models.Index(fields=["region", "status", "due_on"]), models.Index(fields=["household", "id"])]

    def __str__(self) -> str:
        return self.number

    def audit_label(self) -> str:
        return f"预警 {self.number}（{self.summary[:60]}）"


class Visit(models.Model):
    """入户核实 (铁脚板摸排): what the assistant found at the home. Appended, never edited."""

    class Finding(models.TextChoices):
        CONFIRMED = "confirmed", "情况属实"
        PARTLY = "partly", "部分属实"
        NOT_CONFIRMED = "not_confirmed", "情况不属实"
        NOT_MET = "not_met", "未见到本人/家属"

    alert = models.ForeignKey(Alert, verbose_name="预警", on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField("走访日期")
    finding = models.CharField("核实结论", max_length=15, choices=Finding.choices)
    notes = models.TextField("走访情况")
    needs = models.CharField("家庭主要需求", max_length=300, blank=True)
    visitor = fields.staff("走访人", required=True)
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "入户核实记录"
        ordering = ["alert", "visited_on", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.visited_on}"

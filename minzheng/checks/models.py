"""核对 (economic-status checking): the household's authorisation, check runs and results. The departmental rows the
rules read are the exchange app's snapshots; what the home visit found is the case's investigation
(`cases.models.Declaration`)."""

from django.db import models

from minzheng.core import fields
from minzheng.core.runs import BatchRun
from minzheng.core.scoping import ScopedQuerySet
from minzheng.exchange.models import Snapshot
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Person


class AuthorisationQuerySet(ScopedQuerySet):
    region_field = "household__region"


class Authorisation(models.Model):
    """授权核对书: the household's signed consent that named data categories may be queried for named members
    (DB §9). A check may read a household's data only while one covers every current member and every category."""

    household = models.ForeignKey(
        Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="authorisations"
    )
    case = models.ForeignKey(
        "cases.Case", verbose_name="关联案件", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    persons = models.ManyToManyField(Person, verbose_name="签署成员", related_name="+")
    categories = models.JSONField("授权数据类别", default=list)
    signed_on = models.DateField("签署日期")
    valid_until = models.DateField("有效期至")
    revoked_on = models.DateField("撤回日期", null=True, blank=True)
    recorded_by = fields.staff("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = AuthorisationQuerySet.as_manager()
    audit_type = "authorisation"

    class Meta:
        verbose_name = verbose_name_plural = "核对授权"
        ordering = ["-signed_on", "-id"]
        indexes = [models.Index(fields=["household", "valid_until"])]

    def __str__(self) -> str:
        return f"授权 {self.pk}（{self.household.number}）"

    def audit_label(self) -> str:
        return f"核对授权 {self.pk}（家庭 {self.household.number}）"

    def audit_region_code(self) -> str:
        return self.household.region_id


class CheckRun(BatchRun):
    """One execution of the rule engine: a single household at the window, or a batch over a region."""

    class Kind(models.TextChoices):
        SINGLE = "single", "单户核对"
        BATCH = "batch", "批量复核"

    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField("核对基准日")
    snapshots = models.ManyToManyField(Snapshot, verbose_name="读取的快照", related_name="runs", blank=True)
    households = models.PositiveIntegerField("核对户数", default=0)

    objects = ScopedQuerySet.as_manager()
    audit_type = "check_run"

    class Meta:
        verbose_name = verbose_name_plural = "核对运行"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.region_id} {self.as_of}"


class CheckResultQuerySet(ScopedQuerySet):
    region_field = "region"

    def visible(self):
        """Results of runs that finished: a run that crashed midway shows nothing."""
        return self.filter(run__status=CheckRun.Status.COMPLETE)


class CheckResult(models.Model):
    """The verdicts for one household from one run, with every reason and (for window checks) the evidence rows."""

    class Change(models.TextChoices):
        NEW = "new", "新核对"
        UNCHANGED = "unchanged", "无变化"
        INCREASE = "increase", "金额增加"
        DECREASE = "decrease", "金额减少"
        STOP = "stop", "拟停保"
        NOT_CHECKED = "not_checked", "未核对（无有效授权）"
        UNDECIDED = "undecided", "无法判断（低保标准未配置）"

    run = models.ForeignKey(CheckRun, verbose_name="核对运行", on_delete=models.CASCADE, related_name="results")
    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, verbose_name="所在村（社区）", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        "cases.Case", verbose_name="关联案件", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    authorisation = models.ForeignKey(
        Authorisation, verbose_name="依据的授权", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    members = models.PositiveSmallIntegerField("共同生活成员数", default=0)
    counted_income = models.DecimalField("计入收入（元/月）", max_digits=14, decimal_places=2, default=0)
    per_capita_income = models.DecimalField("人均收入（元/月）", max_digits=14, decimal_places=2, default=0)
    dibao = models.BooleanField("符合低保条件", default=False)
    dibao_amount = models.DecimalField("低保金额（元/月）", max_digits=12, decimal_places=2, default=0)
    edge = models.BooleanField("低保边缘", default=False)
    tekun = models.BooleanField("符合特困条件", default=False)
    tekun_pending = models.BooleanField("特困待核实", default=False)
    tekun_amount = models.DecimalField("特困供养金额（元/月）", max_digits=12, decimal_places=2, default=0)
    rigid = models.BooleanField("刚性支出困难", default=False)
    # The verdict, the benefit it is for and its amount, from one computation (`verdicts.judge`).
    verdict = models.CharField("核对结论", max_length=20, blank=True)
    benefit = models.CharField("测算的救助类别", max_length=8, blank=True)
    amount = models.DecimalField("核对测算金额（元/月）", max_digits=12, decimal_places=2, null=True, blank=True)
    facts = models.JSONField("核对事实", default=dict)
    reasons = models.JSONField("理由", default=list)
    evidence = models.JSONField("证据", default=list, blank=True)
    previous_amount = models.DecimalField("现发金额", max_digits=12, decimal_places=2, null=True, blank=True)
    change = models.CharField("变化", max_length=12, choices=Change.choices, default=Change.NEW)
    change_amount = models.DecimalField("金额变化", max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField("核对时间", auto_now_add=True)

    objects = CheckResultQuerySet.as_manager()
    audit_type = "check_result"

    class Meta:
        verbose_name = verbose_name_plural = "核对结果"
        ordering = ["-id"]
        indexes = [models.Index(fields=["run", "change"]), models.Index(fields=["household", "-id"])]

    def __str__(self) -> str:
        return f"核对结果 {self.pk}"

    def audit_label(self) -> str:
        return f"核对报告 {self.pk}（家庭 {self.household.number}）"

    def judged(self):
        """The stored verdict (results from before verdicts were stored: judged again from their facts)."""
        from .verdicts import Verdict, judge

        if self.verdict:
            return Verdict(self.verdict, self.benefit, self.amount)
        facts = {**self.facts, "authorisation_id": self.authorisation_id}
        if self.change == self.Change.NOT_CHECKED:
            facts["authorisation_id"] = None
        facts.setdefault("n", self.members)
        for key in ("dibao", "tekun", "tekun_pending", "edge", "rigid"):
            facts.setdefault(key, getattr(self, key))
        facts.setdefault("dibao_amount", int(self.dibao_amount * 100))
        facts.setdefault("tekun_amount", int(self.tekun_amount * 100))
        return judge(facts)

    @property
    def new_amount(self):
        """A recipient's amount under this re-check (the batch's 核对测算金额); None when it decides nothing."""
        if self.change in (self.Change.NOT_CHECKED, self.Change.UNDECIDED):
            return None
        return (self.previous_amount or 0) + self.change_amount

    @property
    def verdict_label(self) -> str:
        return self.judged().label

    @property
    def eligible(self) -> bool | None:
        return self.judged().eligible

"""政策模拟: scenarios (a change of parameters on a region from a date), their runs (a `BatchRun`: both sides
evaluated by the checks' rules in one pass) and the aggregated figures per benefit and township.

The affected households of a run are not ORM rows: they are a Parquet file written by the run (`store.py`) and read
set-based, scoped and masked, by the list and the export."""

from django.db import models

from minzheng.core import fields
from minzheng.core.runs import BatchRun
from minzheng.core.scoping import ScopedQuerySet
from minzheng.regions.models import Region


class Scenario(models.Model):
    """A planner's proposal: changes of parameters (`changes.py`) over a region from a date. It never changes a
    parameter or a benefit by itself; adoption (`services.adopt`) is a separate, audited act."""

    name = models.CharField("方案名称", max_length=100)
    region = models.ForeignKey(Region, verbose_name="测算区划", on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField("拟实施日期")
    changes = models.JSONField("参数调整", default=list)
    basis = models.CharField("依据与说明", max_length=300, blank=True)
    include_unauthorised = models.BooleanField(
        "计入未授权核对的家庭",
        default=False,
        help_text="不计入时，只统计有有效授权核对书的家庭（与批量复核可依法核对的范围一致）",
    )
    created_by = fields.staff("创建人")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    adopted_at = models.DateTimeField("采纳时间", null=True, blank=True)
    adopted_by = fields.staff("采纳人")

    objects = ScopedQuerySet.as_manager()
    audit_type = "scenario"

    class Meta:
        verbose_name = verbose_name_plural = "政策模拟方案"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"政策模拟方案 {self.pk}（{self.name}）"

    def audit_region_code(self) -> str:
        return self.region_id

    @property
    def change_list(self):
        from .changes import from_dicts

        return from_dicts(self.changes)

    def latest_run(self) -> "ScenarioRun | None":
        return self.runs.order_by("-id").first()

    def latest_complete_run(self) -> "ScenarioRun | None":
        return self.runs.filter(status=BatchRun.Status.COMPLETE).order_by("-id").first()


class RunQuerySet(ScopedQuerySet):
    region_field = "scenario__region"


class ScenarioRun(BatchRun):
    """One evaluation of a scenario: the region's households under the parameters in force and under the scenario,
    read once, evaluated by the same compiled rules. `parameters` holds both records ({"before", "after"})."""

    scenario = models.ForeignKey(Scenario, verbose_name="方案", on_delete=models.PROTECT, related_name="runs")
    as_of = models.DateField("测算基准日")
    deliveries = models.JSONField("所用部门数据", default=list, blank=True)

    objects = RunQuerySet.as_manager()
    audit_type = "scenario_run"

    class Meta:
        verbose_name = verbose_name_plural = "政策模拟测算"
        ordering = ["-id"]


class Benefit(models.TextChoices):
    DIBAO = "dibao", "低保"
    TEKUN = "tekun", "特困"
    EDGE = "edge", "低保边缘"


class FigureQuerySet(ScopedQuerySet):
    region_field = "township"


class Figure(models.Model):
    """The run's counts and costs for one benefit in one township (the county is its prefix). Households and people
    are counted by the change between the two sides; costs are monthly, in yuan."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="figures")
    benefit = models.CharField("救助类别", max_length=10, choices=Benefit.choices)
    county = models.ForeignKey(Region, verbose_name="县（市、区）", on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(Region, verbose_name="乡镇（街道）", on_delete=models.PROTECT, related_name="+")
    households_before = models.IntegerField("现行户数", default=0)
    households_after = models.IntegerField("方案户数", default=0)
    people_before = models.IntegerField("现行人数", default=0)
    people_after = models.IntegerField("方案人数", default=0)
    new_households = models.IntegerField("新增户数", default=0)
    new_people = models.IntegerField("新增人数", default=0)
    lost_households = models.IntegerField("退出户数", default=0)
    lost_people = models.IntegerField("退出人数", default=0)
    up_households = models.IntegerField("金额增加户数", default=0)
    up_people = models.IntegerField("金额增加人数", default=0)
    down_households = models.IntegerField("金额减少户数", default=0)
    down_people = models.IntegerField("金额减少人数", default=0)
    same_households = models.IntegerField("不变户数", default=0)
    same_people = models.IntegerField("不变人数", default=0)
    cost_before = models.DecimalField("现行月支出", max_digits=16, decimal_places=2, default=0)
    cost_after = models.DecimalField("方案月支出", max_digits=16, decimal_places=2, default=0)

    objects = FigureQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "测算结果"
        constraints = [models.UniqueConstraint(fields=["run", "benefit", "township"], name="one_figure_per_township")]

    def __str__(self) -> str:
        return f"{self.get_benefit_display()} {self.township_id}"

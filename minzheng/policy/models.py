from django.conf import settings
from django.db import models

from minzheng.regions.models import Region


class Parameter(models.Model):
    """A dated value of one policy parameter for one region (no region = the national default).

    A region inherits from its nearest ancestor that has a value in force on the date asked about. Values already in
    force are never edited (a decision made under them must stay explainable): a change is a new row with a later
    `effective_from`.
    """

    key = models.CharField("参数", max_length=60, db_index=True)
    region = models.ForeignKey(
        Region,
        verbose_name="适用区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="留空为全国默认值",
    )
    effective_from = models.DateField("生效日期")
    value = models.JSONField("取值")
    basis = models.CharField("依据", max_length=200, blank=True, help_text="文件名称及文号")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="录入人",
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "政策参数"
        ordering = ["key", "region", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["key", "region", "effective_from"], name="one_value_per_day"),
            models.UniqueConstraint(
                fields=["key", "effective_from"],
                condition=models.Q(region__isnull=True),
                name="one_national_value_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.region_id or '全国'} {self.effective_from}"


class ServiceItem(models.Model):
    """One item of the service catalogue (事项清单): what can be applied for, on what legal basis, decided by whom."""

    class Level(models.TextChoices):
        TOWNSHIP = "township", "乡镇（街道）"
        COUNTY = "county", "县级民政部门"

    code = models.SlugField("事项编码", max_length=40, unique=True)
    name = models.CharField("事项名称", max_length=100)
    category = models.CharField("类别", max_length=40)
    legal_basis = models.CharField("法律依据", max_length=300)
    deciding_level = models.CharField("决定层级", max_length=10, choices=Level.choices)
    online = models.BooleanField("可网上申请", default=True)
    workflow = models.CharField(
        "办理流程", max_length=40, blank=True, help_text="平台内全流程办理时的流程编码；留空则受理后转办"
    )
    parameter_group = models.CharField("参数组", max_length=40, blank=True, help_text="时限等参数所在的组，如 dibao")
    public_notice = models.BooleanField("需要公示", default=True)
    active = models.BooleanField("启用", default=True)
    order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "服务事项"
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def end_to_end(self) -> bool:
        return bool(self.workflow)


class Material(models.Model):
    """A material an application for a service item needs. Materials other departments hold are fetched through data
    sharing and may not be demanded from the applicant (DB §10–11)."""

    service = models.ForeignKey(ServiceItem, verbose_name="事项", on_delete=models.CASCADE, related_name="materials")
    code = models.SlugField("材料编码", max_length=40)
    name = models.CharField("材料名称", max_length=100)
    required = models.BooleanField("必需", default=True)
    shared_from = models.CharField(
        "可共享获取自", max_length=60, blank=True, help_text="填写提供该材料的部门，则不得要求申请人提交"
    )
    note = models.CharField("说明", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "申请材料"
        ordering = ["service", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["service", "code"], name="material_code_per_service")]

    def __str__(self) -> str:
        return self.name

    @property
    def demandable(self) -> bool:
        return not self.shared_from

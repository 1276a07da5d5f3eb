"""Departmental data exchange: each delivery of a department's data (file or API push) as a validated snapshot.

The rows themselves live in Parquet snapshot files under settings.CHECKS_DATA_DIR (and the row store beside them),
read by the checking and monitoring engines; the database holds what is needed to find, trust and explain them.
"""

from django.db import models

from minzheng.core import fields
from minzheng.core.runs import BatchRun
from minzheng.core.scoping import ScopedQuerySet
from minzheng.regions.models import Region

from .sources import ALL_SOURCES

SOURCE_CHOICES = [(code, s.name) for code, s in ALL_SOURCES.items()]


class Snapshot(models.Model):
    """One delivery of one source's data for a region, as a columnar Parquet file. A later delivery for the same
    period is a new version; the engine reads, per source, the newest snapshot whose period is on or before its date."""

    audit_type = "snapshot"

    source = models.CharField("数据来源", max_length=20, choices=SOURCE_CHOICES, db_index=True)
    region = models.ForeignKey(Region, verbose_name="覆盖区划", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("数据截至日期")
    version = models.PositiveIntegerField("版本", default=1)
    file_format = models.CharField("文件格式", max_length=10)  # csv / xlsx / parquet / api
    original_name = models.CharField("原始文件名", max_length=200, blank=True)
    file_sha256 = models.CharField("原始文件校验值", max_length=64)
    content_sha256 = models.CharField("快照文件校验值", max_length=64)
    path = models.CharField("快照文件", max_length=300)  # relative to CHECKS_DATA_DIR
    rows_total = models.PositiveIntegerField("总行数", default=0)
    rows_valid = models.PositiveIntegerField("有效行数", default=0)
    rows_rejected = models.PositiveIntegerField("拒收行数", default=0)
    rows_unmatched = models.PositiveIntegerField("未匹配到登记人员行数", default=0)
    rejects_path = models.CharField("拒收报告", max_length=300, blank=True)
    imported_by = fields.staff("导入人")
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        db_table = "checks_snapshot"  # created by the checks app before the exchange app had its own room
        verbose_name = verbose_name_plural = "部门数据快照"
        ordering = ["source", "-period", "-version"]
        constraints = [
            # Re-importing the same file for the same source and region lands nothing new (idempotent).
            models.UniqueConstraint(fields=["source", "region", "file_sha256"], name="snapshot_once_per_file"),
            models.UniqueConstraint(fields=["source", "region", "period", "version"], name="snapshot_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.region_id} {self.period} v{self.version}"

    @property
    def source_spec(self):
        return ALL_SOURCES[self.source]


class ImportRun(BatchRun):
    """A delivery uploaded through the page, imported by the background worker (`jobs.run_import`): the upload
    waits in the data folder's incoming/ until then, and the run's page follows its progress and shows the outcome
    (the snapshot landed, or why the delivery was refused)."""

    source = models.CharField("数据来源", max_length=20, choices=SOURCE_CHOICES)
    region = models.ForeignKey(Region, verbose_name="覆盖区划", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("数据截至日期")
    original_name = models.CharField("原始文件名", max_length=200, blank=True)
    file_size = models.BigIntegerField("文件大小（字节）", default=0)
    upload = models.CharField("待导入文件", max_length=300, blank=True)  # relative to CHECKS_DATA_DIR; "" once done
    # The uploader confirmed the file is complete though far smaller than the delivery in force (limits.check_replacement).
    confirm_smaller = models.BooleanField("确认数据完整，替换现行数据", default=False)
    snapshot = models.ForeignKey(
        Snapshot, verbose_name="生成的快照", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    audit_type = "import_run"

    class Meta:
        verbose_name = verbose_name_plural = "数据导入"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.region_id} {self.original_name}"

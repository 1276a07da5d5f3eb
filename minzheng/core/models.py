from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One append-only, hash-chained audit record: who did what to which record, when, from where.

    `hash` = SHA-256 over the previous entry's hash and this entry's content (see minzheng.core.audit), so changing or
    deleting any entry breaks the chain; database triggers also refuse UPDATE and DELETE.
    """

    class Action(models.TextChoices):
        VIEW = "view", "查看"
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        DELETE = "delete", "删除"
        MOVE = "move", "迁移"
        SEARCH = "search", "查询"
        EXPORT = "export", "导出"
        LOGIN = "login", "登录"
        LOGIN_FAILED = "login_failed", "登录失败"
        LOGOUT = "logout", "退出"
        TOKEN = "token", "令牌"
        CHECK = "check", "核对查询"
        DENIED = "denied", "越权访问被拒"

    seq = models.BigIntegerField("序号", unique=True)
    at = models.DateTimeField("时间", db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="用户", null=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField("用户名", max_length=150, blank=True)
    action = models.CharField("操作", max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField("对象类型", max_length=40, blank=True, db_index=True)
    object_id = models.CharField("对象编号", max_length=40, blank=True)
    object_label = models.CharField("对象", max_length=200, blank=True)
    region_code = models.CharField("区划", max_length=12, blank=True, db_index=True)
    detail = models.JSONField("详情", default=dict, blank=True)
    ip = models.CharField("来源地址", max_length=45, blank=True)
    user_agent = models.CharField("客户端", max_length=200, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.username} {self.get_action_display()} {self.object_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("审计日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计日志只能追加，不能删除")


class AuditChainHead(models.Model):
    """The single row holding the chain's last sequence number and hash.

    Appenders lock it (SELECT … FOR UPDATE) so two writers can never fork the chain, and verification compares it with
    the last entry, so deleting entries from the end of the chain is detected too.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # The hash before last_hash: PostgreSQL appends an entry in one statement (core.audit) that moves the head on and
    # takes the previous hash from here for the entry's prev_hash.
    prev_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "审计链头"

    def __str__(self) -> str:
        return f"#{self.last_seq}"


class CalendarYear(models.Model):
    """A year the bundled State Council calendar (chinesecalendar) does not know yet, maintained by administrators.

    Until `official` is set, deadlines falling in the year are shown as provisional (暂定).
    """

    year = models.PositiveSmallIntegerField("年份", unique=True)
    official = models.BooleanField("已按国务院办公厅通知录入", default=False)
    notice = models.CharField("通知文号", max_length=100, blank=True, help_text="如：国办发明电〔2026〕7号")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "节假日年度"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年" + ("（正式）" if self.official else "（暂定）")


class CalendarDay(models.Model):
    """One exception to the Monday–Friday rule in such a year: a statutory holiday on a weekday or a make-up
    workday (调休上班) on a weekend."""

    calendar_year = models.ForeignKey(CalendarYear, verbose_name="年度", on_delete=models.CASCADE, related_name="days")
    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否上班", help_text="法定节假日不勾选；周末调休上班勾选")
    name = models.CharField("名称", max_length=50, help_text="如：春节、调休上班")

    class Meta:
        verbose_name = verbose_name_plural = "节假日与调休"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"

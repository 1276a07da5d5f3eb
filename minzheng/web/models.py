from django.db import models


class WorkerHeartbeat(models.Model):
    """The background worker's sign of life: each running django-q2 cluster touches its row every few seconds from the
    loop that guards its processes (web.heartbeat.HeartbeatBroker); `/healthz` reads it. Web and worker may run on
    different machines, so it lives in the one place both reach: the database."""

    cluster = models.CharField("后台任务进程", max_length=100, unique=True)
    beat_at = models.DateTimeField("最近心跳", db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "后台任务进程心跳"

    def __str__(self) -> str:
        return f"{self.cluster} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"

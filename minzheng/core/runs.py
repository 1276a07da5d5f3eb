"""The one batch-run mechanism: batch re-checks, monitoring sweeps, payment rolls and simulations are each a
`BatchRun` (status, progress, who started it, parameters, counts, error) executed under `tracked`.

`tracked` marks the run running and keeps a heartbeat while the work goes on; the work writes its results and calls
`Tracker.complete` inside one transaction, so a crash leaves the run failed and none of its results visible. A run
whose worker died (no heartbeat for `STALE_AFTER`) is marked failed by `fail_stale`, and can be run again.
"""

import datetime
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection, models
from django.utils import timezone

from . import fields

Progress = Callable[[int, str], None]

HEARTBEAT_SECONDS = 15
STALE_AFTER = datetime.timedelta(seconds=60)
STALE_MESSAGE = "后台进程已中断（超过1分钟没有心跳），未保存任何结果，可重新发起"


class BatchRun(models.Model):
    """What every batch run records. Concrete runs add their region, their inputs and their results."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "运行中"
        COMPLETE = "complete", "已完成"
        FAILED = "failed", "失败"

    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    message = models.CharField("进度说明", max_length=200, blank=True)
    parameters = models.JSONField("适用参数", default=dict, blank=True)
    stats = models.JSONField("统计", default=dict, blank=True)
    error = models.TextField("错误", blank=True)
    started_by = fields.staff("发起人")
    created_at = models.DateTimeField("发起时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    audit_type = "batch_run"  # the audit log's object type for this kind of run

    class Meta:
        abstract = True

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class Tracker:
    """Reports a running run's progress to its row (outside the result transaction, so pages see it) and to an
    optional callback (a command's progress bar)."""

    def __init__(self, run: BatchRun, callback: Progress | None = None) -> None:
        self.run = run
        self.callback = callback
        self._rows = type(run).objects.filter(pk=run.pk)

    def progress(self, percent: int, message: str) -> None:
        self._rows.update(progress=percent, message=message, heartbeat_at=timezone.now())
        if self.callback:
            self.callback(percent, message)

    def complete(self, **fields) -> None:
        """Mark the run complete with its final fields; call it inside the transaction that writes the results."""
        self._rows.update(
            status=BatchRun.Status.COMPLETE, progress=100, message="已完成", finished_at=timezone.now(), **fields
        )


class _Heartbeat(threading.Thread):
    """Touches the run's heartbeat every HEARTBEAT_SECONDS from its own connection while the work runs."""

    def __init__(self, run: BatchRun) -> None:
        super().__init__(name=f"heartbeat-{type(run).__name__}-{run.pk}", daemon=True)
        self.model, self.pk = type(run), run.pk
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    self.model.objects.filter(pk=self.pk, status=BatchRun.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a locked database this time: the next beat will do
                    close_old_connections()
        finally:
            connection.close()


@contextmanager
def tracked(run: BatchRun, callback: Progress | None = None) -> Iterator[Tracker]:
    """Run the body as the run's execution: running with a heartbeat, failed (with the error) if the body raises.
    The body writes its results and calls `tracker.complete(...)` in one transaction."""
    now = timezone.now()
    type(run).objects.filter(pk=run.pk).update(
        status=BatchRun.Status.RUNNING, started_at=now, heartbeat_at=now, error="", finished_at=None
    )
    beat = _Heartbeat(run)
    beat.start()
    try:
        yield Tracker(run, callback)
        if callback:  # once the body's transaction has committed: 100 % never shows for results rolled back
            callback(100, "已完成")
    except BaseException as exc:
        type(run).objects.filter(pk=run.pk).update(
            status=BatchRun.Status.FAILED,
            message="失败",
            error=str(exc)[:2000] or type(exc).__name__,
            finished_at=timezone.now(),
        )
        raise
    finally:
        beat.stopped.set()
        beat.join(timeout=5)
    run.refresh_from_db()


def fail_stale(queryset, now: datetime.datetime | None = None) -> int:
    """Mark failed the running runs whose worker stopped beating (killed, crashed, machine restarted). A read on the
    indexed status first, so the usual case (none) takes no write lock: cheap enough for every list page and poll."""
    limit = (now or timezone.now()) - STALE_AFTER
    stale = queryset.filter(status=BatchRun.Status.RUNNING, heartbeat_at__lt=limit)
    if not stale.exists():
        return 0
    return stale.update(
        status=BatchRun.Status.FAILED, message="失败", error=STALE_MESSAGE, finished_at=now or timezone.now()
    )


def refresh_stale(run: BatchRun) -> BatchRun:
    """The run as it stands, failed first if its worker is gone (a detail page or a progress poll shows it)."""
    if run.status == BatchRun.Status.RUNNING and fail_stale(type(run).objects.filter(pk=run.pk)):
        run.refresh_from_db()
    return run


def run_models() -> list[type[BatchRun]]:
    """Every concrete kind of batch run (checks, sweeps, payment rolls, simulations), found through the app registry
    so the kernel names none of them."""
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, BatchRun)]


def fail_all_stale(now: datetime.datetime | None = None) -> int:
    """Every kind of run whose worker is gone marked failed: the worker's schedule calls this every minute."""
    return sum(fail_stale(model.objects.all(), now) for model in run_models())


STALE_SCHEDULE = "minzheng.core.runs.fail_all_stale"


def ensure_stale_schedule():
    """The every-minute schedule of `fail_all_stale` (created when the worker starts, see CoreConfig.ready)."""
    from . import schedules

    return schedules.ensure(STALE_SCHEDULE, (), name="中断任务检查（每分钟）", cron="* * * * *")


def create(model, *, user, label: str, region_code: str, detail: dict | None = None, **fields) -> BatchRun:
    """A queued run, audited as started by the user or (user None) by the system's schedule or command line."""
    from django.db import transaction

    from . import audit

    with transaction.atomic():
        run = model.objects.create(started_by=user, message="排队中", **fields)
        audit.record(
            audit.Action.CHECK,
            user=user,
            object_type=model.audit_type,
            object_id=run.pk,
            label=label + ("" if user else "（系统定时）"),
            region_code=region_code,
            detail={**(detail or {}), **({} if user else {"username": "system"})},
        )
    return run


def enqueue(job: str, run: BatchRun, task_name: str) -> None:
    """Hand the run to the background worker (`minzheng qcluster`); the page follows its progress."""
    from django_q.tasks import async_task

    async_task(job, run.pk, task_name=task_name)

"""Web uploads imported by the background worker: the upload request only checks what it can check at once (role,
region, period, size), moves the streamed file to incoming/ and queues an `ImportRun`; the worker
(`minzheng qcluster`) imports it under the kernel's batch-run mechanism (`core.runs`: status, progress, heartbeat),
and the run's page follows it. The request returns at once whatever the file's size.
"""

import datetime
import os
import re
import shutil
import time

from minzheng.core import runs
from minzheng.core.errors import DomainError

from . import importer, limits
from .files import data_dir, incoming_dir
from .models import ImportRun

JOB = "minzheng.exchange.jobs.run_import"
# Uploads still being received (or of a request killed midway) are left alone this long by the sweep.
STALE_UPLOAD_SECONDS = 24 * 3600
_RUN_FILE = re.compile(r"^run-(\d+)(\.[a-z0-9]{1,8})?$")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def safe_suffix(name: str) -> str:
    """The extension of a delivered file's name, if it is a plain one (kept on disk; the format is read from the
    content all the same)."""
    suffix = os.path.splitext(name or "")[1]
    return suffix.lower() if _SUFFIX.match(suffix) else ""


def start_upload(
    user,
    upload,
    *,
    source: str,
    region_code: str,
    period: datetime.date,
    confirm_smaller: bool = False,
    enqueue: bool = True,
):
    """Queue the import of an uploaded file; refusals that need no reading (role, scope, period, size) come now."""
    spec, region = importer.check_request(source, region_code, period, user)
    with importer.refusals_audited(user, spec.code, region.code, period, original_name=upload.name, size=upload.size):
        limits.check_file_size(upload.size)
    run = runs.create(
        ImportRun,
        user=user,
        label=f"导入{spec.name}数据（{region.name}，{period:%Y-%m-%d}）",
        region_code=region.code,
        detail={
            "source": spec.code,
            "period": period.isoformat(),
            "original_name": upload.name,
            "size": upload.size,
            **({"confirm_smaller": True} if confirm_smaller else {}),
        },
        source=spec.code,
        region=region,
        period=period,
        original_name=(upload.name or "")[:200],
        file_size=upload.size,
        confirm_smaller=confirm_smaller,
    )
    folder = incoming_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"run-{run.pk}{safe_suffix(upload.name)}"
    if hasattr(upload, "temporary_file_path"):
        shutil.move(upload.temporary_file_path(), target)  # a rename: the upload handler streamed it into incoming/
    else:
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    ImportRun.objects.filter(pk=run.pk).update(upload=target.relative_to(data_dir()).as_posix())
    run.refresh_from_db()
    if enqueue:
        runs.enqueue(JOB, run, f"数据导入 {run.pk}")
        run.refresh_from_db()
    return run


def run_import(run_id: int, progress: runs.Progress | None = None) -> ImportRun:
    """Execute a queued import (the worker's task). A refusal (a limit, a malformed file) fails the run with its
    Chinese message and lands nothing; the uploaded file is removed either way."""
    run = ImportRun.objects.select_related("region", "started_by").get(pk=run_id)
    sweep_incoming()
    path = data_dir() / run.upload if run.upload else None
    try:
        with runs.tracked(run, progress) as tracker:
            if path is None or not path.is_file():
                raise DomainError("上传的文件已不存在（可能已导入或已被清理），请重新上传", "file_missing")
            done = []

            def landed(outcome: importer.ImportOutcome) -> None:
                tracker.complete(snapshot=outcome.snapshot, stats=_stats(outcome))
                done.append(True)

            outcome = importer.import_file(
                run.source,
                path,
                region_code=run.region_id,
                period=run.period,
                user=run.started_by,
                original_name=run.original_name,
                progress=tracker.progress,
                landed=landed,
                confirm_smaller=run.confirm_smaller,
            )
            if not done:  # the same file again, or nothing valid: no snapshot transaction to finish in
                tracker.complete(snapshot=outcome.snapshot, stats=_stats(outcome))
    except DomainError as exc:  # the run is marked failed with the message; keep what explains it
        refused = {"refused": exc.code, "rejects_path": getattr(exc, "rejects_path", "")}
        refused |= {k: v for k, v in exc.context.items() if k in ("rows_total", "rows_rejected", "rows_in_force")}
        ImportRun.objects.filter(pk=run.pk).update(stats=refused)
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
        ImportRun.objects.filter(pk=run.pk).update(upload="")
    run.refresh_from_db()
    return run


def _stats(outcome: importer.ImportOutcome) -> dict:
    return {
        "message": outcome.message,
        "duplicate": outcome.duplicate,
        "rows_total": outcome.rows_total,
        "rows_valid": outcome.rows_valid,
        "rows_rejected": outcome.rows_rejected,
        "rows_unmatched": outcome.rows_unmatched,
        "rejects_path": outcome.rejects_path,
    }


def sweep_incoming() -> list[str]:
    """Remove uploads nobody will import: those of runs that ended (a worker killed before its `finally`), and
    partial uploads of requests that died a day ago or more."""
    folder = incoming_dir()
    if not folder.is_dir():
        return []
    active = set(
        ImportRun.objects.filter(status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING]).values_list(
            "pk", flat=True
        )
    )
    removed = []
    for path in folder.iterdir():
        match = _RUN_FILE.match(path.name)
        old = time.time() - STALE_UPLOAD_SECONDS
        stale = int(match[1]) not in active if match else path.stat().st_mtime < old
        if stale and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed

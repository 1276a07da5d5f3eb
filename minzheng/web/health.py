"""`/healthz` for the load balancer, systemd and monitoring: the database answers, a background worker is alive, the
snapshot folder has room. No login, and nothing beyond each check's verdict (no names, sizes, hosts or errors)."""

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .heartbeat import worker_alive

logger = logging.getLogger(__name__)


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _worker() -> bool:
    # Jobs run inline (Q_SYNC, tests and single-process set-ups): there is no worker to wait for.
    return bool(settings.Q_CLUSTER.get("sync")) or worker_alive()


def _disk() -> bool:
    # The snapshot folder holds the departments' snapshots, the row store, reject reports and batch results.
    folder = Path(settings.CHECKS_DATA_DIR)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free >= settings.HEALTHZ_MIN_FREE_DISK_MB * 1024 * 1024


CHECKS = {"database": _database, "worker": _worker, "disk": _disk}


@never_cache
@require_safe
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception:
            logger.exception("healthz: the %s check failed", name)
            results[name] = False
    healthy = all(results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": {k: "ok" if v else "fail" for k, v in results.items()}},
        status=200 if healthy else 503,
    )

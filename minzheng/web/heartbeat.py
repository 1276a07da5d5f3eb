"""The worker's heartbeat. django-q2's cluster saves its status (`Stat`) twice a second from the loop that guards its
worker processes, through the broker's `set_stat`; the ORM broker would hand it to Django's cache, which is per
process here and so invisible to the web server. This broker keeps the ORM queue and, every HEARTBEAT_SECONDS, writes
the cluster's heartbeat row instead; a cluster stopping cleanly removes its row at once, one killed stops beating.
"""

import datetime
import time

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.signing import BadSignature, SignedPackage

from minzheng.core.runs import STALE_AFTER

from .models import WorkerHeartbeat

HEARTBEAT_SECONDS = 10
# A heartbeat older than this means no worker: the same minute after which a batch run's worker counts as gone.
WORKER_GONE_AFTER = STALE_AFTER
# Rows of clusters killed without stopping are removed after a day (a restart makes a new cluster id).
FORGET_AFTER = datetime.timedelta(days=1)


class HeartbeatBroker(ORM):
    _last_beat = 0.0

    def set_stat(self, key: str, value: str, timeout: int) -> None:
        try:
            status = SignedPackage.loads(value).status
        except (BadSignature, AttributeError):
            return
        if status == Conf.STOPPED:
            WorkerHeartbeat.objects.filter(cluster=key).delete()
            self._last_beat = 0.0
            return
        if time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return
        # Noted before writing: a database that is down costs one error in the log per beat, not one per half second.
        self._last_beat = time.monotonic()
        beat(key)


def beat(cluster: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(cluster=cluster, defaults={"beat_at": now})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()


def worker_alive() -> bool:
    return WorkerHeartbeat.objects.filter(beat_at__gte=timezone.now() - WORKER_GONE_AFTER).exists()

"""`/healthz`: the database, the background worker's heartbeat and the snapshot folder's free space; 200 or 503, no
login, nothing beyond the verdicts. The worker's heartbeat is written by a real `minzheng qcluster`."""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Status

from minzheng.web.heartbeat import HeartbeatBroker, beat
from minzheng.web.models import WorkerHeartbeat

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def with_worker(settings):
    """As in production: jobs go to a separate worker (the test settings may run them inline)."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


def verdicts(response) -> dict:
    body = response.json()
    assert set(body) == {"status", "checks"}
    return body["checks"]


@pytest.mark.django_db
def test_healthy_without_login_and_without_details(client, with_worker):
    beat("cluster-a")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "worker": "ok", "disk": "ok"}}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_no_worker_or_a_silent_one_is_503(client, with_worker):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert verdicts(response) == {"database": "ok", "worker": "fail", "disk": "ok"}
    assert response.json()["status"] == "fail"

    # A worker killed without stopping: its last beat grows old.
    WorkerHeartbeat.objects.create(cluster="killed", beat_at=timezone.now() - datetime.timedelta(seconds=61))
    assert client.get("/healthz").status_code == 503
    beat("killed")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_database_down_is_503(client, with_worker, monkeypatch):
    beat("cluster-a")
    connection.close()

    def refuse(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert verdicts(response)["database"] == "fail"
    assert b"refused" not in response.content


@pytest.mark.django_db
def test_full_disk_is_503(client, with_worker, settings):
    beat("cluster-a")
    settings.HEALTHZ_MIN_FREE_DISK_MB = 1024**4  # an exabyte
    response = client.get("/healthz")
    assert response.status_code == 503
    assert verdicts(response) == {"database": "ok", "worker": "ok", "disk": "fail"}


@pytest.mark.django_db
def test_only_get(client, with_worker):
    assert client.post("/healthz").status_code == 405


def _stat(status: str, cluster_id: str = "c1") -> str:
    stat = Status(pid=1, cluster_id=cluster_id)
    stat.status = status
    return SignedPackage.dumps(stat, True)


@pytest.mark.django_db
def test_broker_beats_at_most_every_few_seconds_and_forgets_a_stopped_cluster():
    broker = HeartbeatBroker()
    broker.set_stat("q:c1", _stat(Conf.IDLE), 3)
    first = WorkerHeartbeat.objects.get(cluster="q:c1").beat_at
    broker.set_stat("q:c1", _stat(Conf.WORKING), 3)  # half a second later, in the cluster's guard loop
    assert WorkerHeartbeat.objects.get(cluster="q:c1").beat_at == first
    broker.set_stat("q:c1", "not a signed status", 3)
    broker.set_stat("q:c1", _stat(Conf.STOPPED), 3)
    assert not WorkerHeartbeat.objects.exists()


def _database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_healthz_pass_and_its_stop_makes_it_fail(
    audit_log_flushable, client, with_worker, tmp_path
):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PYTHONPATH": str(REPO),
        "Q_SYNC": "0",
        "CHECKS_DATA_DIR": str(tmp_path / "checks"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "minzheng.manage", "qcluster"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while client.get("/healthz").status_code != 200:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no heartbeat within 60 s"
            time.sleep(0.5)
        assert verdicts(client.get("/healthz"))["worker"] == "ok"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert verdicts(response)["worker"] == "fail"

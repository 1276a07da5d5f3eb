"""The production settings (read from the environment) and PostgreSQL's connection pool under more concurrent requests
than it holds."""

import runpy
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.http import JsonResponse
from django.urls import path

import minzheng.settings

SETTINGS = Path(minzheng.settings.__file__)
KEY = "k" * 50
PG = "postgres://postgres@127.0.0.1:5432/minzheng"


def load_settings(monkeypatch, argv: list[str] | None = None, **env: str) -> dict:
    """A fresh evaluation of settings.py under the given environment (the running settings are untouched)."""
    for name in (
        "MINZHENG_PRODUCTION",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "WEB_THREADS",
        "DB_POOL",
        "DB_POOL_MAX_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", argv or ["gunicorn"])
    return runpy.run_path(str(SETTINGS))


def test_production_without_secret_key_stops_with_a_clear_message(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match=r"生产模式（MINZHENG_PRODUCTION=1）必须设置 SECRET_KEY"):
        load_settings(monkeypatch, MINZHENG_PRODUCTION="1")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY 过短"):
        load_settings(monkeypatch, MINZHENG_PRODUCTION="1", SECRET_KEY="short")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):  # DEBUG does not waive it in production
        load_settings(monkeypatch, MINZHENG_PRODUCTION="1", DEBUG="1")


def test_production_settings(monkeypatch):
    s = load_settings(monkeypatch, MINZHENG_PRODUCTION="1", SECRET_KEY=KEY, ALLOWED_HOSTS="mz.example.gov.cn, 10.0.0.5")
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == KEY
    assert s["ALLOWED_HOSTS"] == ["mz.example.gov.cn", "10.0.0.5"]
    assert s["STORAGES"]["staticfiles"]["BACKEND"] == "minzheng.core.staticfiles.StaticStorage"
    assert s["WHITENOISE_USE_FINDERS"] is False
    s = load_settings(monkeypatch, MINZHENG_PRODUCTION="1", SECRET_KEY=KEY)
    assert "testserver" not in s["ALLOWED_HOSTS"]


def test_outside_production_a_per_process_key_and_source_static_files(monkeypatch):
    first, second = load_settings(monkeypatch), load_settings(monkeypatch)
    assert first["SECRET_KEY"] and first["SECRET_KEY"] != second["SECRET_KEY"]
    assert first["STORAGES"]["staticfiles"]["BACKEND"].endswith(".StaticFilesStorage")
    assert first["WHITENOISE_USE_FINDERS"] is True


def test_postgresql_pool_sized_from_the_threads(monkeypatch):
    db = load_settings(monkeypatch, DATABASE_URL=PG, WEB_THREADS="12")["DATABASES"]["default"]
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 12, "timeout": 10.0}
    two = load_settings(monkeypatch, DATABASE_URL=PG, WEB_THREADS="2")["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert two["max_size"] == 8  # room for a development or test server's extra threads
    one = load_settings(monkeypatch, DATABASE_URL=PG, DB_POOL_MAX_SIZE="1")["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert one["min_size"] == one["max_size"] == 1  # never more kept open than the pool may hold
    assert db["CONN_MAX_AGE"] == 0  # Django refuses persistent connections beside a pool
    # The worker forks its processes: no pool there, Django's own connections.
    db = load_settings(monkeypatch, argv=["minzheng", "qcluster"], DATABASE_URL=PG)["DATABASES"]["default"]
    assert "pool" not in db.get("OPTIONS", {})
    assert db["CONN_MAX_AGE"] == 60
    db = load_settings(monkeypatch, DATABASE_URL=PG, DB_POOL="0")["DATABASES"]["default"]
    assert "pool" not in db.get("OPTIONS", {})


def test_sqlite_has_no_pool(monkeypatch, tmp_path):
    db = load_settings(monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")["DATABASES"]["default"]
    assert "pool" not in db["OPTIONS"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


# --- more concurrent requests than the pool holds -------------------------------------------------------------------

POOL_SIZE = 2
CLIENTS = 12
HOLD_SECONDS = 0.2


def hold_a_connection(request):
    """Reads through the ORM, then keeps the request's connection for a while, as a slow page does."""
    from minzheng.accounts.models import User

    count = User.objects.count()
    time.sleep(HOLD_SECONDS)
    return JsonResponse({"users": count})


urlpatterns = [path("hold/", hold_a_connection)]


@pytest.fixture
def small_pool(monkeypatch):
    """The live server's threads draw from a pool of POOL_SIZE connections (PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield None
        return
    settings_dict = connections.settings["default"]
    connection.close()
    connection.close_pool()
    monkeypatch.setitem(settings_dict["OPTIONS"], "pool", {"min_size": 1, "max_size": POOL_SIZE, "timeout": 30})
    yield connection
    connection.close()
    connection.close_pool()


@pytest.mark.urls(__name__)
def test_more_concurrent_requests_than_the_pool_holds_all_succeed(audit_log_flushable, small_pool, live_server):
    """On PostgreSQL CLIENTS requests at once share POOL_SIZE connections: they queue for one and none fails (with
    Django's persistent connections each thread opened its own until PostgreSQL refused more). On SQLite, which has no
    pool, the same concurrent requests must succeed too."""
    start = threading.Barrier(CLIENTS)
    results: list[int | str] = []

    def client() -> None:
        start.wait()
        for _ in range(3):
            try:
                with urllib.request.urlopen(f"{live_server.url}/hold/", timeout=60) as response:
                    results.append(response.status)
            except Exception as exc:
                results.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * (CLIENTS * 3)
    if small_pool is not None:
        stats = small_pool.pool.get_stats()
        assert stats["pool_max"] == POOL_SIZE
        assert stats["pool_size"] <= POOL_SIZE
        assert stats.get("requests_queued", 0) > 0  # requests did wait for a connection
        assert stats.get("requests_errors", 0) == 0

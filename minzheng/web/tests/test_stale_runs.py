"""Issue 18 §5: a run whose worker is gone (no heartbeat for a minute) is shown failed — on its list, its page and its
progress poll, and by the worker's every-minute schedule — stops polling, and can be re-run from its page with its own
parameters. Each kind of batch run: re-checks, monitoring sweeps, payment-roll preparations."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.benefits.models import RollRun
from minzheng.checks.models import CheckRun
from minzheng.conftest import CITY, COUNTY
from minzheng.core import runs
from minzheng.monitoring.models import Sweep

pytestmark = pytest.mark.django_db

OLD = datetime.timedelta(minutes=5)
AS_OF = datetime.date(2026, 11, 1)


def _running(model, beat_ago: datetime.timedelta = OLD, **fields):
    now = timezone.now()
    return model.objects.create(
        status=model.Status.RUNNING, started_at=now - beat_ago, heartbeat_at=now - beat_ago, **fields
    )


KINDS = {
    "check": (
        CheckRun,
        dict(kind=CheckRun.Kind.BATCH, region_id=COUNTY, as_of=AS_OF),
        "checks:runs",
        "checks:run",
        "checks:run_progress",
        {"region": COUNTY, "as_of": AS_OF.isoformat()},
    ),
    "sweep": (
        Sweep,
        dict(region_id=COUNTY, as_of=AS_OF),
        "monitoring:sweeps",
        "monitoring:sweep",
        "monitoring:sweep_progress",
        {"region": COUNTY, "as_of": AS_OF.isoformat()},
    ),
    "roll": (
        RollRun,
        dict(region_id=COUNTY, month=datetime.date(2026, 12, 1)),
        "benefits:county",
        "benefits:run",
        "benefits:run_progress",
        {"month": "2026-12"},
    ),
}


@pytest.fixture
def county_client(client, make_user):
    client.force_login(make_user("county_approver"))
    return client


@pytest.mark.parametrize("kind", KINDS)
def test_list_page_fails_a_run_whose_worker_is_gone(county_client, kind):
    model, fields, list_url, *_ = KINDS[kind]
    stale, alive = _running(model, **fields), _running(model, datetime.timedelta(seconds=10), **fields)
    assert county_client.get(reverse(list_url)).status_code == 200
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == model.Status.FAILED and stale.error == runs.STALE_MESSAGE and stale.finished_at
    assert alive.status == model.Status.RUNNING


@pytest.mark.parametrize("kind", KINDS)
def test_page_of_a_dead_run_stops_polling_and_offers_a_rerun(county_client, kind):
    model, fields, list_url, detail_url, progress_url, rerun_fields = KINDS[kind]
    run = _running(model, **fields)
    page = county_client.get(reverse(detail_url, args=[run.pk])).content.decode()
    run.refresh_from_db()
    assert run.status == model.Status.FAILED
    assert 'data-status="failed"' in page and 'hx-trigger="every 2s"' not in page
    assert "超过1分钟没有心跳" in page
    assert f'action="{reverse(list_url)}"' in page and 'data-testid="rerun"' in page
    for name, value in rerun_fields.items():
        assert f'name="{name}" value="{value}"' in page
    # The poll of a terminal run answers without the polling trigger.
    poll = county_client.get(reverse(progress_url, args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' not in poll.content.decode() and poll["HX-Refresh"] == "true"


@pytest.mark.parametrize("kind", KINDS)
def test_rerun_posts_the_runs_parameters_and_queues_a_new_run(county_client, kind, monkeypatch):
    monkeypatch.setattr(runs, "enqueue", lambda *args, **kwargs: None)
    model, fields, list_url, detail_url, _, rerun_fields = KINDS[kind]
    run = _running(model, **fields)
    county_client.get(reverse(detail_url, args=[run.pk]))
    response = county_client.post(reverse(list_url), rerun_fields)
    assert response.status_code == 302
    new = model.objects.exclude(pk=run.pk).get()
    assert new.status == model.Status.QUEUED and new.region_id == COUNTY
    assert response["Location"] == reverse(detail_url, args=[new.pk])


@pytest.mark.parametrize("kind", ["check", "sweep"])
def test_no_rerun_button_for_a_run_of_a_wider_region(county_client, kind):
    """The city's nightly sweep failed; the county officer may read it but not start it: the button answered 400
    (只能对本辖区运行监测比对)."""
    model, fields, _, detail_url, *_ = KINDS[kind]
    run = _running(model, **{**fields, "region_id": CITY})
    page = county_client.get(reverse(detail_url, args=[run.pk]))
    if page.status_code == 200:  # a city run may not even be shown to the county
        assert 'data-testid="rerun"' not in page.content.decode()


def test_progress_poll_of_a_live_run_keeps_polling(county_client):
    run = _running(Sweep, datetime.timedelta(seconds=5), region_id=COUNTY, as_of=AS_OF)
    poll = county_client.get(reverse("monitoring:sweep_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in poll.content.decode() and "HX-Refresh" not in poll


def test_every_minute_schedule_fails_every_kind_of_dead_run(db, monkeypatch):
    from django_q.models import Schedule
    from django_q.signals import post_spawn

    dead = [_running(model, **fields) for model, fields, *_ in KINDS.values()]
    alive = _running(Sweep, datetime.timedelta(seconds=20), region_id=COUNTY, as_of=AS_OF)
    post_spawn.send(sender="django_q", proc_name="worker-1")  # a worker starting ensures the schedule
    schedule = Schedule.objects.get(func=runs.STALE_SCHEDULE)
    assert schedule.cron == "* * * * *" and schedule.repeats == -1
    post_spawn.send(sender="django_q", proc_name="worker-2")
    assert Schedule.objects.filter(func=runs.STALE_SCHEDULE).count() == 1
    # The scheduler runs it when due (inline here: sync mode), as `minzheng qcluster` does every minute.
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.scheduler import scheduler

    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - datetime.timedelta(seconds=1))
    monkeypatch.setattr(Conf, "SYNC", True)
    scheduler(broker=get_broker())
    for run in dead:
        run.refresh_from_db()
        assert run.status == run.Status.FAILED
    alive.refresh_from_db()
    assert alive.status == Sweep.Status.RUNNING
    # A minute later, the silent one is failed too.
    assert runs.fail_all_stale(timezone.now() + datetime.timedelta(minutes=2)) == 1


def test_api_progress_of_a_dead_sweep_answers_failed(client, make_user):
    from minzheng.accounts.services import issue_token

    token = issue_token(make_user("county_approver"), "测试")[1]
    run = _running(Sweep, region_id=COUNTY, as_of=AS_OF)
    body = client.get(f"/api/v1/monitoring/sweeps/{run.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["status"] == "failed" and body["error"] == runs.STALE_MESSAGE

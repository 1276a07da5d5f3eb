"""Monitoring sweeps from the command line (`minzheng run_monitoring`) and on a nightly schedule
(`minzheng schedule_monitoring`, a django-q `Schedule` calling `minzheng.monitoring.jobs.nightly_sweep`)."""

import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from minzheng.core import schedules
from minzheng.core.models import AuditEntry
from minzheng.monitoring import jobs
from minzheng.monitoring.models import Alert, Sweep

from .conftest import AS_OF, D, ids

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def signals(make_household, monitor, make_snapshot):
    """A 低保 household whose member died, and an unknown person in the same delivery."""
    h = make_household()
    monitor(h, "dibao")
    make_snapshot(
        "civil_status",
        [
            {"id_number": ids(h)[1], "event": "death", "event_on": D(2026, 10, 20)},
            {"id_number": "130722199001019999", "event": "death", "event_on": D(2026, 10, 21)},
        ],
        period=D(2026, 10, 31),
    )
    return h


def test_run_monitoring_prints_progress_and_stats_and_is_idempotent(signals):
    out, err = run("run_monitoring", "--region", "130722", "--as-of", AS_OF.isoformat())
    sweep = Sweep.objects.get()
    assert sweep.status == "complete" and sweep.started_by is None and sweep.as_of == AS_OF
    assert "  5% 更新监测对象名册" in err
    assert "100% 已完成" in err
    assert f"监测比对第 {sweep.pk} 次：张北县（130722），比对基准日 2026-11-01" in out
    assert "死亡/户籍变动：2 条，匹配 1 条" in out
    assert "新信号：2" in out and "身份号码未登记（保留备查）：1" in out and "新生成预警：1" in out
    assert "监测家庭成员死亡：1" in out and "可能不再符合：核实后按程序调整或停止：1" in out
    assert Alert.objects.get().rule == "death_member"
    # A system sweep is audited without a user.
    entry = AuditEntry.objects.filter(action="check", object_type="sweep", object_id=str(sweep.pk)).get()
    assert entry.user is None and entry.username == "system"

    # Running again over the same signals raises nothing new.
    out, _ = run("run_monitoring", "--region", "130722", "--as-of", AS_OF.isoformat())
    assert Sweep.objects.count() == 2 and Sweep.objects.first().status == "complete"
    assert "新生成预警：0" in out and "新信号：0" in out
    assert Alert.objects.count() == 1


def test_run_monitoring_defaults_to_today(signals):
    run("run_monitoring", "--region", "1307")
    sweep = Sweep.objects.get()
    assert sweep.as_of == timezone.localdate() and sweep.region_id == "130700000000"
    assert Alert.objects.count() == 1


def test_run_monitoring_as_a_user_needs_the_capability_and_scope(signals, make_user, county_officer):
    out, _ = run("run_monitoring", "--region", "130722", "--as-of", "2026-11-01", "--user", county_officer.username)
    assert Sweep.objects.get().started_by == county_officer and "新生成预警：1" in out
    with pytest.raises(CommandError, match="只能对本辖区运行监测比对"):
        run("run_monitoring", "--region", "1307", "--user", county_officer.username)
    with pytest.raises(CommandError, match="您的角色无权执行此操作"):
        run("run_monitoring", "--region", "130722", "--user", make_user("clerk").username)
    with pytest.raises(CommandError, match="用户 nobody 不存在"):
        run("run_monitoring", "--region", "130722", "--user", "nobody")
    assert Sweep.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--region", "9999"), "区划代码 9999 不存在"),
        (("--region", "13x7"), "区划代码“13x7”格式错误"),
        (("--region", "1307", "--as-of", "2026-13-01"), "比对基准日“2026-13-01”格式错误"),
        (("--region", "1307", "--as-of", "2999-01-01"), "比对基准日2999-01-01晚于今天"),
    ],
)
def test_run_monitoring_refuses_bad_input_in_chinese(args, message):
    with pytest.raises(CommandError, match=message):
        run("run_monitoring", *args)
    assert not Sweep.objects.exists()


def test_run_monitoring_exits_non_zero_on_error(tmp_path):
    command = Path(sys.executable).parent / "minzheng"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    done = subprocess.run([command, "run_monitoring", "--region", "13x7"], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "区划代码“13x7”格式错误" in done.stderr


def test_a_failed_sweep_is_reported_and_left_failed(signals, monkeypatch):
    from minzheng.monitoring import services

    def broken(*args, **kwargs):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(services, "sync_register", broken)
    with pytest.raises(CommandError, match=r"监测比对失败.*未保存任何预警.*磁盘已满"):
        run("run_monitoring", "--region", "130722", "--as-of", AS_OF.isoformat())
    assert Sweep.objects.get().status == "failed" and not Alert.objects.exists()


def test_schedule_monitoring_creates_updates_lists_and_deletes():
    from django_q.models import Schedule

    out, _ = run("schedule_monitoring", "--region", "1307")
    schedule = Schedule.objects.get()
    assert schedule.func == "minzheng.monitoring.jobs.nightly_sweep" and schedule.func == jobs.JOB
    assert (
        schedule.args == repr("130700000000")
        and schedule.schedule_type == Schedule.CRON
        and schedule.cron == "0 2 * * *"
    )
    assert schedule.repeats == -1 and "张家口市" in schedule.name
    local = timezone.localtime(schedule.next_run)
    assert (local.hour, local.minute) == (2, 0) and timezone.now() < schedule.next_run
    assert schedule.next_run <= timezone.now() + datetime.timedelta(days=1)
    assert "已设定" in out and "每天 02:00 执行" in out
    # Running it again updates the one schedule of the region.
    out, _ = run("schedule_monitoring", "--region", "1307", "--time", "23:30")
    schedule = Schedule.objects.get()
    assert (timezone.localtime(schedule.next_run).hour, timezone.localtime(schedule.next_run).minute) == (23, 30)
    assert "已更新" in out
    run("schedule_monitoring", "--region", "130722")
    out, _ = run("schedule_monitoring", "--list")
    assert "张家口市" in out and "张北县" in out and "每天" in out
    run("schedule_monitoring", "--region", "1307", "--delete")
    assert list(Schedule.objects.values_list("args", flat=True)) == [repr("130722000000")]
    with pytest.raises(CommandError, match="没有定时监测比对"):
        run("schedule_monitoring", "--region", "1307", "--delete")
    with pytest.raises(CommandError, match="执行时刻“25:00”格式错误"):
        run("schedule_monitoring", "--region", "1307", "--time", "25:00")
    with pytest.raises(CommandError, match="区划代码 9999 不存在"):
        run("schedule_monitoring", "--region", "9999")
    with pytest.raises(CommandError, match="请用 --region 指定区划代码"):
        run("schedule_monitoring")


def test_the_nightly_task_runs_a_system_sweep_and_again_raises_nothing(signals):
    sweep_id = jobs.nightly_sweep("130722000000", as_of=AS_OF.isoformat())
    sweep = Sweep.objects.get(pk=sweep_id)
    assert sweep.status == "complete" and sweep.started_by is None and sweep.as_of == AS_OF
    assert sweep.stats["warnings"] == 1
    again = Sweep.objects.get(pk=jobs.nightly_sweep("130722000000"))
    assert again.as_of == timezone.localdate() and again.stats["warnings"] == 0
    assert Alert.objects.count() == 1


def test_parse_time():
    assert schedules.parse_time("02:00") == (2, 0) and schedules.parse_time(" 7:05 ") == (7, 5)
    for bad in ("2", "24:00", "12:60", "ab:cd", ""):
        with pytest.raises(Exception, match="格式错误"):
            schedules.parse_time(bad)

"""Batch re-checks from the command line (`minzheng run_checks`) and on a monthly schedule (`minzheng schedule_checks`,
a django-q `Schedule` calling `minzheng.checks.jobs.scheduled_batch`)."""

import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from minzheng.checks import jobs
from minzheng.checks.models import CheckResult, CheckRun
from minzheng.core.models import AuditEntry

from .conftest import AS_OF
from .test_views import recipients  # noqa: F401  (fixture used by name)

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_run_checks_prints_progress_stats_and_changes(recipients):  # noqa: F811
    out, err = run("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat())
    batch = CheckRun.objects.get(kind="batch")
    assert batch.status == "complete" and batch.started_by is None
    assert " 40% 核对 4 户" in err
    assert "100% 已完成" in err
    assert f"批量复核第 {batch.pk} 次：张北县（130722），核对基准日 2026-12-01" in out
    assert "核对户数：4" in out and "现行救助家庭：3" in out
    assert "金额增加：1" in out and "拟停保：1" in out and "未核对（无有效授权）：1" in out and "无变化：0" in out
    assert "不会自动改变任何待遇" in out
    assert CheckResult.objects.visible().filter(run=batch).count() == 3
    # A system run is audited without a user.
    entry = AuditEntry.objects.filter(action="check", object_type="check_run", object_id=str(batch.pk)).get()
    assert entry.user is None and entry.username == "system"


def test_a_region_run_in_chunks_of_one_household_finds_the_same_changes(recipients, settings):  # noqa: F811
    settings.CHECKS_BATCH_CHUNK_HOUSEHOLDS = 1
    out, err = run("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat())
    assert "已核对 4 / 4 户" in err
    assert "核对户数：4" in out and "现行救助家庭：3" in out
    assert "金额增加：1" in out and "拟停保：1" in out and "未核对（无有效授权）：1" in out and "无变化：0" in out


def test_run_checks_as_a_user_needs_the_capability_and_scope(recipients, make_user):  # noqa: F811
    reviewer = make_user("township_reviewer")
    out, _ = run("run_checks", "--region", "130722100", "--as-of", "2026-12-01", "--user", reviewer.username)
    assert CheckRun.objects.get(kind="batch").started_by == reviewer and "金额增加：1" in out
    with pytest.raises(CommandError, match="只能复核本辖区的家庭"):
        run("run_checks", "--region", "130722", "--as-of", "2026-12-01", "--user", reviewer.username)
    with pytest.raises(CommandError, match="您的角色无权执行此操作"):
        run("run_checks", "--region", "130722", "--user", make_user("clerk").username)
    with pytest.raises(CommandError, match="用户 nobody 不存在"):
        run("run_checks", "--region", "130722", "--user", "nobody")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--region", "9999"), "区划代码 9999 不存在"),
        (("--region", "13x7"), "区划代码“13x7”格式错误"),
        (("--region", "1307", "--as-of", "2026-13-01"), "核对基准日“2026-13-01”格式错误"),
    ],
)
def test_run_checks_refuses_bad_input_in_chinese(args, message):
    with pytest.raises(CommandError, match=message):
        run("run_checks", *args)
    assert not CheckRun.objects.exists()


def test_run_checks_defaults_to_the_first_of_next_month(family):
    run("run_checks", "--region", "130722")
    assert CheckRun.objects.get().as_of == jobs.default_as_of(timezone.localdate())


def test_first_of_next_month():
    assert jobs.default_as_of(datetime.date(2026, 11, 17)) == datetime.date(2026, 12, 1)
    assert jobs.default_as_of(datetime.date(2026, 12, 31)) == datetime.date(2027, 1, 1)


def test_schedule_checks_creates_updates_lists_and_deletes():
    from django_q.models import Schedule

    out, _ = run("schedule_checks", "--region", "1307", "--day", "1", "--hour", "2")
    schedule = Schedule.objects.get()
    assert schedule.func == "minzheng.checks.jobs.scheduled_batch"
    assert (
        schedule.args == repr("130700000000")
        and schedule.schedule_type == Schedule.CRON
        and schedule.cron == "0 2 1 * *"
    )
    assert schedule.repeats == -1
    local = timezone.localtime(schedule.next_run)
    assert (local.day, local.hour, local.minute) == (1, 2, 0) and schedule.next_run > timezone.now()
    assert "每月 1 日 2 时执行" in out and "张家口市" in schedule.name
    # Running it again updates the one schedule of the region.
    run("schedule_checks", "--region", "1307", "--day", "15", "--hour", "3")
    schedule = Schedule.objects.get()
    assert (timezone.localtime(schedule.next_run).day, timezone.localtime(schedule.next_run).hour) == (15, 3)
    run("schedule_checks", "--region", "130722")
    out, _ = run("schedule_checks", "--list")
    assert "张家口市" in out and "张北县" in out
    run("schedule_checks", "--region", "1307", "--delete")
    assert list(Schedule.objects.values_list("args", flat=True)) == [repr("130722000000")]
    with pytest.raises(CommandError, match="没有定时批量复核"):
        run("schedule_checks", "--region", "1307", "--delete")
    with pytest.raises(CommandError, match="每月执行日应为 1 至 28 日"):
        run("schedule_checks", "--region", "1307", "--day", "31")
    with pytest.raises(CommandError, match="区划代码 9999 不存在"):
        run("schedule_checks", "--region", "9999")


def test_the_scheduled_task_runs_a_system_batch(recipients):  # noqa: F811
    run_id = jobs.scheduled_batch("130722000000", as_of=AS_OF.isoformat())
    batch = CheckRun.objects.get(pk=run_id)
    assert batch.status == "complete" and batch.started_by is None and batch.as_of == AS_OF
    assert batch.stats["changes"]["increase"] == 1


def test_a_run_dated_before_a_delivery_says_which_sources_it_read_as_none(
    recipients,  # noqa: F811
    make_snapshot,
    client,
    officer,
):
    # Wages are delivered up to the as-of date; pensions only for a later date; vehicles never.
    make_snapshot("pension", [], period=AS_OF + datetime.timedelta(days=5))
    out, _ = run("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat())
    batch = CheckRun.objects.get(kind="batch")
    missing = batch.stats["missing_sources"]
    assert "wage" not in missing and missing["pension"] == "2026-12-06" and missing["vehicle"] is None
    assert (
        "注意：社保/养老金：核对基准日 2026-12-01 前没有该来源的数据快照，按无记录核对"
        "（最早的快照数据截至 2026-12-06，晚于基准日）" in out
    )
    assert "注意：车辆：核对基准日 2026-12-01 前没有该来源的数据快照，按无记录核对\n" in out
    assert "注意：工资/纳税" not in out

    client.force_login(officer)
    page = client.get(reverse("checks:run", args=[batch.pk])).content.decode()
    alert = re.search(r'data-testid="missing-sources">(.*?)</div>', page, re.S).group(1)
    assert "11 个数据来源在核对基准日前没有数据快照" in alert and "社保/养老金、" in alert and "工资/纳税" not in alert
    read = dict(re.findall(r'<tr data-source="([a-z_]+)">(.*?)</tr>', page, re.S))
    wage = batch.snapshots.get(source="wage")
    assert f"第 {wage.pk} 号快照，数据截至 2026-12-01" in read["wage"] and "text-danger" not in read["wage"]
    assert "最早的快照数据截至 2026-12-06" in read["pension"] and "text-danger" in read["pension"]

    # A run dated on the later delivery reads it: only the sources never delivered are left.
    out, _ = run("run_checks", "--region", "130722", "--as-of", "2026-12-06")
    later = CheckRun.objects.filter(kind="batch").latest("id")
    assert "pension" not in later.stats["missing_sources"] and "注意：社保/养老金" not in out


def test_an_unknown_engine_is_refused_before_anything_runs(recipients):  # noqa: F811
    with pytest.raises(CommandError, match="未知的计算引擎“flink”，可选：duckdb、spark"):
        run("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat(), "--engine", "flink")
    assert not CheckRun.objects.filter(kind="batch").exists()


def test_spark_where_it_cannot_run_is_refused_in_chinese(recipients, monkeypatch):  # noqa: F811
    from minzheng.core import spark

    monkeypatch.setattr(spark, "missing", lambda: "未安装 Java 运行环境（Spark 需要 Java 17 或以上）")
    with pytest.raises(CommandError, match="无法使用 Spark 引擎：未安装 Java 运行环境"):
        run("run_checks", "--region", "130722", "--as-of", AS_OF.isoformat(), "--engine", "spark")
    assert not CheckRun.objects.filter(kind="batch").exists()

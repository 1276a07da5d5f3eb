"""minzheng run_monitoring --region 1307 [--as-of 2026-11-23] [--user username] [--engine duckdb|spark]: a monitoring
sweep from the command line, with a progress bar."""

import functools

from django.db.models import Count

from minzheng.core import spark
from minzheng.core.commands import RunCommand, domain, starter
from minzheng.exchange.sources import ALL_SOURCES
from minzheng.monitoring import jobs, services, texts
from minzheng.monitoring.models import Alert, Outcome

STAT_LABELS = (
    ("signals", "新信号"),
    ("matched", "匹配到区划内家庭"),
    ("unmatched_person", "身份号码未登记（保留备查）"),
    ("outside_households", "已登记但不在区划内家庭"),
    ("candidates", "规则命中"),
    ("suppressed", "重复信号或同类预警未办结（不再预警）"),
    ("warnings", "新生成预警"),
)
REGISTER_LABELS = (
    ("register_opened", "监测名册新纳入"),
    ("register_closed", "监测名册退出"),
    ("anti_poverty_opened", "防返贫监测对象纳入"),
    ("anti_poverty_closed", "防返贫监测对象风险消除"),
)


class Command(RunCommand):
    help = (
        "监测比对：读取区划内尚未比对的部门信号（医疗费用、残疾人证、死亡及户籍变动、就业失业、学生资助、灾害、"
        "防返贫监测），对全部监测对象一次运行全部预警规则，生成预警及处置任务。重复运行不会重复预警。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（2、4、6、9或12位），例如 1307")
        parser.add_argument("--as-of", dest="as_of", help="比对基准日 YYYY-MM-DD（缺省为今天，不能晚于今天）")
        parser.add_argument("--user", help="发起人用户名（须有运行监测比对的权限且区划在其辖区内；缺省为系统）")
        parser.add_argument(
            "--engine", help="计算引擎：duckdb（本机）或 spark（SPARK_MASTER 所指集群）；缺省为 CHECKS_ENGINE 设置"
        )

    def handle(self, *args, region: str, as_of: str | None, user: str | None, engine: str | None, **options):
        day = domain(jobs.parse_as_of, as_of)
        engine = domain(spark.engine, engine)
        sweep = domain(services.start_sweep, domain(starter, user), region, day, enqueue=False)
        self.stdout.write(
            f"监测比对第 {sweep.pk} 次：{sweep.region.name}（{sweep.region.official_code}），比对基准日 {day:%Y-%m-%d}，"
            f"计算引擎 {spark.ENGINES[engine]}"
        )
        self._report(
            self.run_with_progress(
                functools.partial(services.run_sweep, engine=engine),
                sweep,
                "监测比对失败",
                "未保存任何预警，可重新运行（信号仍待比对）",
            )
        )

    def _report(self, sweep) -> None:
        stats = sweep.stats or {}
        self.stdout.write(f"读取部门信号 {sweep.snapshots.count()} 批：")
        by_feed, matched = stats.get("signals_by_feed", {}), stats.get("matched_by_feed", {})
        for feed, count in sorted(by_feed.items(), key=lambda kv: list(ALL_SOURCES).index(kv[0])):
            name = ALL_SOURCES[feed].name if feed in ALL_SOURCES else feed
            self.stdout.write(f"  {name}：{count} 条，匹配 {matched.get(feed, 0)} 条")
        self.stdout.write("统计：")
        for key, label in (*REGISTER_LABELS, *STAT_LABELS):
            if key in stats:
                self.stdout.write(f"  {label}：{stats[key]}")
        by_rule = stats.get("by_rule") or {}
        if by_rule:
            self.stdout.write("新预警（按规则）：")
            for rule, count in by_rule.items():
                self.stdout.write(f"  {texts.rule_name(rule)}：{count}")
            outcomes = dict(
                Alert.objects.filter(sweep=sweep)
                .values_list("suggested_outcome")
                .annotate(n=Count("id"))
                .values_list("suggested_outcome", "n")
            )
            self.stdout.write("新预警（按建议处置）：")
            for code, label in Outcome.choices:
                self.stdout.write(f"  {label}：{outcomes.get(code, 0)}")
        if "engine_seconds" in stats:
            self.stdout.write(
                f"用时：读取 {stats.get('read_seconds')} 秒，比对 {stats['engine_seconds']} 秒，"
                f"保存 {stats.get('write_seconds')} 秒"
            )
        self.stdout.write(
            self.style.SUCCESS("已完成。新预警已派发给家庭所在村（社区）协理员和乡镇，情况复杂的由县级“一事一议”。")
        )

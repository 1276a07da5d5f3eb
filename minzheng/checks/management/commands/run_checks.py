"""minzheng run_checks --region 1307 --as-of 2026-12-01 [--user username] [--engine duckdb|spark]: a batch re-check from
the command line."""

import functools

from minzheng.checks import jobs, services
from minzheng.checks import report as reports
from minzheng.checks.models import CheckResult
from minzheng.core import spark
from minzheng.core.commands import RunCommand, domain, parse_date, starter

STAT_LABELS = (
    ("households", "核对户数"),
    ("authorised", "有有效授权"),
    ("recipients", "现行救助家庭"),
    ("dibao", "符合低保条件"),
    ("edge", "低保边缘"),
    ("tekun", "符合特困条件"),
    ("tekun_pending", "特困待核实"),
    ("rigid", "刚性支出困难"),
    ("unconfigured", "低保标准未配置"),
)


class Command(RunCommand):
    help = (
        "批量复核：按核对基准日对区划内全部现行低保、特困家庭重新核对，列出拟停保、金额增减的家庭。"
        "结果只供工作人员审查，不自动改变任何待遇。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（2、4、6、9或12位），例如 1307")
        parser.add_argument("--as-of", dest="as_of", help="核对基准日 YYYY-MM-DD（缺省为下月1日）")
        parser.add_argument("--user", help="发起人用户名（须有发起核对的权限且区划在其辖区内；缺省为系统）")
        parser.add_argument(
            "--engine", help="计算引擎：duckdb（本机）或 spark（SPARK_MASTER 所指集群）；缺省为 CHECKS_ENGINE 设置"
        )

    def handle(self, *args, region: str, as_of: str | None, user: str | None, engine: str | None, **options):
        day = domain(parse_date, as_of, jobs.AS_OF_LABEL) if as_of else jobs.default_as_of()
        engine = domain(spark.engine, engine)
        run = domain(services.start_batch, domain(starter, user), region, day, enqueue=False)
        self.stdout.write(
            f"批量复核第 {run.pk} 次：{run.region.name}（{run.region.official_code}），核对基准日 {day:%Y-%m-%d}，"
            f"计算引擎 {spark.ENGINES[engine]}"
        )
        run = self.run_with_progress(functools.partial(services.run_batch, engine=engine), run, "批量复核失败")
        stats = run.stats or {}
        self.stdout.write("统计：")
        for key, label in STAT_LABELS:
            if key in stats:
                self.stdout.write(f"  {label}：{stats[key]}")
        self.stdout.write("与现行待遇比较：")
        changes = stats.get("changes", {})
        for code, label in CheckResult.Change.choices:
            if code == CheckResult.Change.NEW:
                continue
            self.stdout.write(f"  {label}：{changes.get(code, 0)}")
        for source in reports.sources_read(run):
            if source["missing"]:
                self.stdout.write(self.style.WARNING(f"注意：{source['name']}：{source['missing']}"))
        if "engine_seconds" in stats:
            self.stdout.write(f"用时：读取 {stats.get('read_seconds')} 秒，核对 {stats['engine_seconds']} 秒")
        self.stdout.write(self.style.SUCCESS("已完成。复核结果不会自动改变任何待遇，请在“批量复核”页面逐户审查。"))

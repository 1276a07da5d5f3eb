"""minzheng generate_monitoring_data --prefix 1307 --seed 1 [--as-of D] [--out DIR] [--if-empty]: the monitoring demo."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.demo import monitoring as demo
from minzheng.exchange.sources import ALL_SOURCES
from minzheng.monitoring import texts
from minzheng.monitoring.models import Alert, Outcome


class Command(BaseCommand):
    help = (
        "生成演示用监测预警数据：先对已有部门数据做首次监测比对，再为区划内的人口生成本月7类部门信号文件（医疗费用、"
        "残疾人证、死亡及户籍变动、就业失业登记、学生资助与辍学、一个乡镇的自然灾害、防止返贫监测变动；含少量未登记"
        "人员和格式错误行）并逐一导入，运行监测比对，最后由演示账户登记部分入户核实并办结部分预警。"
        "同一人口和随机种子生成的文件完全相同。需先运行 generate_population、generate_cases 和 generate_check_data。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307", help="区划代码前缀，如 1307（张家口市）；缺省 1307")
        parser.add_argument(
            "--as-of", type=datetime.date.fromisoformat, default=None, help="比对基准日 YYYY-MM-DD，缺省今天"
        )
        parser.add_argument("--seed", type=int, default=1, help="随机种子，缺省 1")
        parser.add_argument("--out", type=Path, default=None, help="信号文件目录，缺省 var/checks/incoming")
        parser.add_argument("--if-empty", action="store_true", help="该区划已有监测信号或监测比对时不生成")

    def handle(self, *args, prefix, as_of, seed, out, if_empty, **options):
        try:
            if if_empty and demo.monitoring_data_exists(prefix):
                self.stdout.write(f"区划“{prefix}”已有监测信号或监测比对，跳过生成")
                return
            result = demo.generate_monitoring_data(
                prefix, as_of=as_of, seed=seed, out_dir=out, progress=self.stdout.write
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        rows = sum(s.rows for s in result.sources)
        self.stdout.write(
            f"{result.households} 户 {result.persons} 人：生成本月部门信号 {len(result.sources)} 类共 {rows} 行，"
            f"数据截至 {result.period:%Y-%m-%d}"
        )
        for sweep in result.sweeps:
            stats = sweep["stats"]
            self.stdout.write(
                f"监测比对第 {sweep['id']} 次：读取 {sweep['snapshots']} 批、{stats.get('signals', 0)} 条信号，"
                f"规则命中 {stats.get('candidates', 0)}，重复不再预警 {stats.get('suppressed', 0)}，"
                f"新预警 {stats.get('warnings', 0)}"
            )
        total = sum(result.by_rule.values())
        self.stdout.write(f"预警共 {total} 条，按规则：")
        for rule, count in result.by_rule.items():
            self.stdout.write(f"  {texts.rule_name(rule)}：{count}")
        self.stdout.write("按建议处置：")
        for code, label in Outcome.choices:
            self.stdout.write(f"  {label}：{result.by_outcome.get(code, 0)}")
        self.stdout.write("按状态：")
        for code, label in Alert.Status.choices:
            self.stdout.write(f"  {label}：{result.by_status.get(code, 0)}")
        self.stdout.write(
            f"入户核实 {result.visits} 次；办结 {result.closed} 条（主动发现办理申请 {result.cases_opened} 件，"
            f"转介 {result.referrals} 件）"
        )
        if result.walkthrough_alert:
            self.stdout.write(f"演示走查：协理员（assistant）所在村的低保家庭成员死亡预警 {result.walkthrough_alert}")
        seconds = result.seconds
        self.stdout.write(
            f"用时 {seconds['total']:.1f} 秒（首次比对 {seconds['first_sweep']:.1f}，生成文件 {seconds['generate_files']:.1f}，"
            f"导入 {seconds['import']:.1f}，比对 {seconds['sweep']:.1f}，走访与办结 {seconds['follow_up']:.1f}）"
        )
        unknown = [s for s in result.sources if s.source not in ALL_SOURCES]
        assert not unknown

"""minzheng simulate --region 1307 --set dibao.standard_urban=+8% --set dibao.standard_rural=+15% --from 2027-01-01:
a policy scenario created and run from the command line (saved like one made on the page)."""

from minzheng.core.commands import RunCommand, domain, parse_date, starter
from minzheng.core.money import fmt
from minzheng.simulation import changes, services
from minzheng.simulation.models import Benefit
from minzheng.simulation.selectors import totals_by_benefit


class Command(RunCommand):
    help = (
        "政策模拟：按拟调整的参数，用与核对相同的规则测算区划内全部家庭（现行参数与方案参数各算一次），"
        "保存方案与测算结果。不会改变任何参数或待遇；采纳方案须在页面上另行操作。"
        f"{changes.SYNTAX_HELP}"
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码（2、4或6位），例如 1307")
        parser.add_argument(
            "--set",
            dest="changes",
            action="append",
            required=True,
            help="参数调整，可重复：dibao.standard_urban=+8%%、dibao.standard_rural=950、dibao.standard_rural@130722=+10%%",
        )
        parser.add_argument("--from", dest="effective_from", required=True, help="拟实施日期 YYYY-MM-DD")
        parser.add_argument("--name", help="方案名称（缺省按调整内容生成）")
        parser.add_argument("--basis", default="", help="依据与说明")
        parser.add_argument(
            "--include-unauthorised", action="store_true", help="计入没有有效核对授权的家庭（缺省不计入）"
        )
        parser.add_argument("--user", help="发起人用户名（须有政策模拟权限且区划在其辖区内；缺省为系统）")

    def handle(self, *args, region, changes, effective_from, name, basis, include_unauthorised, user, **options):
        day = domain(parse_date, effective_from, "拟实施日期")
        who = domain(starter, user)
        scenario = domain(
            services.create_scenario,
            who,
            name=name or "；".join(changes),
            region_code=region,
            effective_from=day,
            changes=changes,
            basis=basis,
            include_unauthorised=include_unauthorised,
        )
        run = domain(services.start_run, who, scenario, enqueue=False)
        self.stdout.write(
            f"政策模拟方案第 {scenario.pk} 号“{scenario.name}”：{scenario.region.name}（{scenario.region.official_code}），"
            f"自 {day:%Y-%m-%d} 起"
        )
        for change in scenario.change_list:
            self.stdout.write(f"  {change.describe()}")
        run = self.run_with_progress(services.run_scenario, run, "政策模拟测算失败")
        stats = run.stats
        self.stdout.write(
            f"测算家庭 {stats['households']} 户，其中有有效核对授权 {stats['authorised']} 户；"
            + ("未授权家庭已计入" if scenario.include_unauthorised else f"未计入未授权家庭 {stats['unauthorised']} 户")
        )
        for row in totals_by_benefit(run):
            self.stdout.write(
                f"{Benefit(row['benefit']).label}：现行 {row['households_before']} 户 {row['people_before']} 人，"
                f"方案 {row['households_after']} 户 {row['people_after']} 人；新增 {row['new_households']} 户，"
                f"退出 {row['lost_households']} 户，金额增加 {row['up_households']} 户，减少 {row['down_households']} 户"
            )
            if row["benefit"] != "edge":
                self.stdout.write(
                    f"  月支出 {fmt(row['cost_before'])} → {fmt(row['cost_after'])} 元（差额 {fmt(row['cost_diff'])}），"
                    f"年支出差额 {fmt(row['cost_diff'] * 12)} 元"
                )
        self.stdout.write(self.style.SUCCESS("已完成。测算不会改变任何参数或待遇；采纳方案请在“政策模拟”页面操作。"))

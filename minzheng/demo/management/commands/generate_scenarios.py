from minzheng.core.commands import RunCommand, domain
from minzheng.demo.scenarios import generate_scenarios
from minzheng.simulation.models import Scenario


class Command(RunCommand):
    help = "为演示环境保存并测算两个政策模拟方案：城乡低保标准分别提高8%和15%；低保边缘上限提高到标准的2倍。"

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307")
        parser.add_argument("--if-empty", action="store_true", help="已有政策模拟方案时跳过")

    def handle(self, *args, prefix: str, if_empty: bool, **options):
        if if_empty and Scenario.objects.exists():
            self.stdout.write("已有政策模拟方案，跳过生成")
            return
        for run in domain(generate_scenarios, prefix):
            s = run.stats
            self.stdout.write(
                f"方案“{run.scenario.name}”：测算 {s.get('households', 0)} 户，受影响 {s.get('affected', 0)} 户·类别"
                f"（{run.get_status_display()}）"
            )

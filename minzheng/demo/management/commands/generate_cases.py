from django.core.management.base import BaseCommand, CommandError

from minzheng.cases.models import Case
from minzheng.demo.cases import generate_cases


class Command(BaseCommand):
    help = "为演示环境生成分布在各办理环节的申请案件（部分超期），须先生成人口并创建演示账户。"

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=120)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="已有案件时跳过")

    def handle(self, *args, cases: int, seed: int, if_empty: bool, **options):
        if cases <= 0:
            raise CommandError("案件数量须为正数")
        if if_empty and Case.objects.exists():
            self.stdout.write("已有案件，跳过生成")
            return
        result = generate_cases(cases, seed)
        if not result.created:
            raise CommandError("没有可用于生成案件的家庭或演示账户：请先运行 generate_population 和 create_demo_users")
        from minzheng.cases.workflows import STATE_LABELS

        self.stdout.write(f"生成案件 {result.created} 件（跳过 {result.skipped}）")
        for state, n in sorted(result.by_state.items(), key=lambda kv: -kv[1]):
            self.stdout.write(f"  {STATE_LABELS[state]}: {n}")

from django.core.management.base import BaseCommand

from minzheng.benefits.models import PaymentRoll
from minzheng.demo.payments import generate_payment_data


class Command(BaseCommand):
    help = "为演示环境发放已批准家庭的过去几个月救助金：各状态的名册、补发批次、死亡追回、待复核与渐退家庭。"

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="已有发放名册时跳过")

    def handle(self, *args, prefix: str, seed: int, if_empty: bool, **options):
        if if_empty and PaymentRoll.objects.exists():
            self.stdout.write("已有发放名册，跳过生成")
            return
        result = generate_payment_data(prefix, seed)
        for month, n in result.rolls.items():
            self.stdout.write(f"{month}：名册 {n} 本")
        for note in result.notes:
            self.stdout.write(note)

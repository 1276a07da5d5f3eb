from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.demo.population import generate_population, households_exist


class Command(BaseCommand):
    help = (
        "生成演示用人口数据（家庭、人员、家庭成员关系），分布在已导入的真实区划上。"
        "同一区划前缀、户数和随机种子生成的人员完全相同。需先运行 import_regions 导入该前缀的区划。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307", help="区划代码前缀，如 1307（张家口市）、130722；缺省 1307")
        parser.add_argument("--households", type=int, default=50_000, help="生成的户数，缺省 50000")
        parser.add_argument("--seed", type=int, default=1, help="随机种子，缺省 1")
        parser.add_argument("--if-empty", action="store_true", help="该前缀下已有家庭数据时不生成")

    def handle(self, *args, prefix: str, households: int, seed: int, if_empty: bool, **options):
        try:
            if if_empty and households_exist(prefix):
                self.stdout.write(f"区划“{prefix}”下已有家庭数据，跳过生成")
                return
            verbosity = options.get("verbosity", 1)

            def progress(done: int, total: int) -> None:
                if verbosity >= 2 or (verbosity >= 1 and total >= 200_000):
                    self.stdout.write(f"已生成 {done}/{total} 户")

            result = generate_population(prefix, households, seed, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        urban_share = result.urban_households / result.households * 100
        self.stdout.write(
            f"生成完成：{result.households} 户，{result.persons} 人（户均 {result.persons / result.households:.2f} 人），"
            f"其中残疾人 {result.disabled} 人"
        )
        self.stdout.write(
            f"城镇 {result.urban_households} 户（{urban_share:.1f}%），农村 {result.rural_households} 户，"
            f"用时 {result.seconds:.1f} 秒"
        )
        by_area: dict[str, list[str]] = {}
        for county, area in sorted(result.area_substitutes.items()):
            by_area.setdefault(area, []).append(county)
        for area, counties in by_area.items():
            self.stdout.write(
                f"注：{'、'.join(counties)} 是统计用区划、不是公民身份号码地址码，其居民的身份号码使用 {area}"
            )

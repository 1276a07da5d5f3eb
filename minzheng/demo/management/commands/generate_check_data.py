import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.demo import checks as demo
from minzheng.demo import parameters


class Command(BaseCommand):
    help = (
        "生成演示用部门核对数据：写入演示参数（示例值，非官方标准），为区划内的人口按12个数据来源生成部门数据文件"
        "（含少量未登记人员和格式错误行）并逐一导入，登记核对授权和入户调查认定事项，最后用核对引擎统计各类结论的户数。"
        "同一人口和随机种子生成的文件完全相同。需先运行 generate_population（及 generate_cases）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307", help="区划代码前缀，如 1307（张家口市）；缺省 1307")
        parser.add_argument(
            "--as-of", type=datetime.date.fromisoformat, default=None, help="核对基准日 YYYY-MM-DD，缺省今天"
        )
        parser.add_argument("--seed", type=int, default=1, help="随机种子，缺省 1")
        parser.add_argument("--format", choices=demo.FORMATS, default="csv", help="数据文件格式，缺省 csv")
        parser.add_argument("--out", type=Path, default=None, help="数据文件目录，缺省 var/checks/incoming")
        parser.add_argument("--if-empty", action="store_true", help="该区划已有部门数据快照时不生成")

    def handle(self, *args, prefix, as_of, seed, format, out, if_empty, **options):
        try:
            if if_empty and demo.snapshots_exist(prefix):
                self.stdout.write(f"区划“{prefix}”已有部门数据快照，跳过生成")
                return
            result = demo.generate_check_data(
                prefix, as_of=as_of, seed=seed, file_format=format, out_dir=out, progress=self.stdout.write
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.parameters_created:
            self.stdout.write(f"写入演示参数 {result.parameters_created} 项（{parameters.DEMO_BASIS}）")
        rows = sum(s.rows for s in result.sources)
        self.stdout.write(
            f"{result.households} 户 {result.persons} 人：生成部门数据 {len(result.sources)} 个来源共 {rows} 行，"
            f"数据截至 {result.period:%Y-%m-%d}"
        )
        self.stdout.write(f"登记核对授权 {result.authorisations} 户，入户调查认定事项 {result.declarations} 条")
        self.stdout.write(f"待核对的演示案件已完成信息核对 {result.cases_checked} 件")
        shares = result.shares
        total = shares.get("households") or 1
        self.stdout.write(f"核对结论（基准日 {result.as_of:%Y-%m-%d}，全部 {shares.get('households', 0)} 户）：")
        for key in ("dibao", "edge", "tekun", "tekun_pending", "rigid", "ineligible", "authorised"):
            self.stdout.write(f"  {demo.SHARE_LABELS[key]}：{shares[key]} 户（{shares[key] / total * 100:.1f}%）")
        seconds = result.seconds
        self.stdout.write(
            f"用时 {seconds['total']:.1f} 秒（生成文件 {seconds['generate_files']:.1f}，导入 {seconds['import']:.1f}，"
            f"授权与认定 {seconds['authorisations']:.1f}，核对 {seconds['engine']:.1f}）"
        )

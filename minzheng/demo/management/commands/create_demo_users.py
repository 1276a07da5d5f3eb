from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError

from minzheng.accounts.models import User
from minzheng.accounts.roles import Role
from minzheng.regions import codes
from minzheng.regions.models import Region

DEMO_PASSWORD = "Minzheng@2026"


def _first(prefix_region: Region, level: int, preferred: str = "") -> Region:
    qs = Region.objects.subtree(prefix_region).filter(level=level)
    if preferred:
        found = qs.filter(code=preferred).first()
        if found:
            return found
    region = qs.order_by("code").first()
    if region is None:
        raise CommandError(f"{prefix_region.name}下没有{codes.LEVEL_NAMES[level]}区划，请先导入区划")
    return region


class Command(BaseCommand):
    help = "创建演示账户（每个角色一个，另有一个其他乡镇的受理员用于演示数据范围）。仅用于演示环境。"

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="1307", help="演示地市的区划代码（缺省 1307 张家口市）")
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, prefix: str, password: str, **options):
        root = Region.objects.filter(code=codes.canonical(prefix)).first()
        if root is None:
            raise CommandError(f"区划 {prefix} 尚未导入，请先运行 minzheng import_regions --prefix {prefix}")
        # 张家口: 张北县 / 张北镇 / 南壕堑村 and the neighbouring 公会镇; elsewhere the first of each level.
        county = _first(root, codes.COUNTY, "130722000000")
        township = _first(county, codes.TOWNSHIP, "130722100000")
        village = _first(township, codes.VILLAGE, "130722100201")
        other_township = (
            Region.objects.subtree(county)
            .filter(level=codes.TOWNSHIP)
            .exclude(code=township.code)
            .order_by("code")
            .first()
        )
        # Each account is a (fictitious) person: the case history's 经办人 names who acted, the role is shown beside.
        accounts = [
            ("admin", Role.ADMIN, root, "陈", "晓东"),
            ("leader", Role.LEADER, root, "刘", "志强"),
            ("auditor", Role.AUDITOR, root, "孙", "卫红"),
            ("county", Role.COUNTY_APPROVER, county, "赵", "敏"),
            ("reviewer", Role.TOWNSHIP_REVIEWER, township, "李", "建国"),
            ("clerk", Role.CLERK, township, "王", "丽娟"),
            ("assistant", Role.ASSISTANT, village, "张", "秀英"),
        ]
        if other_township:
            accounts.append(("clerk2", Role.CLERK, other_township, "周", "海燕"))
            accounts.append(("reviewer2", Role.TOWNSHIP_REVIEWER, other_township, "吴", "国庆"))
        validate_password(password)
        for username, role, region, last, first in accounts:
            user, created = User.objects.get_or_create(username=username, defaults={"role": role, "region": region})
            user.role, user.region, user.last_name, user.first_name = role, region, last, first
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.set_password(password)
            user.full_clean(exclude=["password"])
            user.save()
            self.stdout.write(f"{'新建' if created else '更新'} {username:<10} {role.label:<8} {region.path_name()}")
        self.stdout.write(f"演示密码：{password}")

"""Demo 政策模拟 scenarios on the demo prefecture: the seed's raise of the 低保 standards (urban +8 %, rural +15 %)
and a 低保边缘 line at 2.0 × the standard, each saved and run by the bureau head like on the page."""

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from minzheng.core.months import first_of_next_month
from minzheng.simulation import services

SCENARIOS = (
    (
        "城乡低保标准分别提高8%和15%",
        ["dibao.standard_urban=+8%", "dibao.standard_rural=+15%"],
        "民政事业发展报告：稳步提高最低生活保障水平，城乡低保标准分别提高8%和15%（演示）",
    ),
    (
        "低保边缘收入上限提高到低保标准的2倍",
        ["dibao.edge_multiplier=2"],
        "扩大低收入人口动态监测范围的试算（演示）",
    ),
)


def generate_scenarios(prefix: str, effective_from: datetime.date | None = None) -> list:
    user = get_user_model().objects.select_related("region").filter(username="leader").first()
    if user is not None and not (user.region and user.region.contains(prefix.ljust(12, "0"))):
        user = None
    day = effective_from or first_of_next_month(timezone.localdate())
    made = []
    for name, changes, basis in SCENARIOS:
        scenario = services.create_scenario(
            user, name=name, region_code=prefix, effective_from=day, changes=changes, basis=basis
        )
        run = services.start_run(user, scenario, enqueue=False)
        made.append(services.run_scenario(run.pk))
    return made

"""工作台 per role (issue 15 §4): the front line's 待办 with 超期/临期, referrals due and warnings to visit; the leader's
overview by county; the auditor's trail of today; the administrator's housekeeping — not household counts alone."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.cases import referrals, services
from minzheng.conftest import VILLAGE, make_id_number
from minzheng.core import audit
from minzheng.core.models import AuditEntry
from minzheng.registry import services as registry

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2025, 3, 12)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return TODAY


@pytest.fixture
def day(make_user, household_data, today):
    """A township with: one case whose investigation is overdue, one due soon, a referral past its reply date, a
    warning to visit."""
    clerk = make_user("clerk")
    made = []
    for seq, accepted in ((41, D(2025, 3, 3)), (42, D(2025, 3, 10))):
        household = registry.create_household(
            clerk, household_data(VILLAGE, [("02", f"工作台{seq}", make_id_number(seq=seq))])
        )
        case = services.open_application(
            clerk,
            household_id=household.pk,
            service_code="dibao",
            applicant_id=household.head_id,
            channel="window",
            received=["application", "authorisation", "pledge", "income_statement"],
            authorisation_signed=True,
            pledge_signed=True,
            today=accepted,
        )
        made.append((household, case))
    referral = referrals.refer(
        clerk, household_id=made[0][0].pk, department="health", need="大病医疗救助", days=2, today=D(2025, 3, 3)
    )
    from minzheng.monitoring.models import Alert

    alert = Alert.objects.create(
        number="JC2025000001",
        household=made[0][0],
        region_id=VILLAGE,
        rule="medical_high",
        signal_key="test",
        suggested_outcome="dibao",
        summary="高额医疗费用",
        signal_on=D(2025, 3, 1),
        raised_on=D(2025, 3, 2),
        due_on=D(2025, 3, 11),
    )
    return {"clerk": clerk, "cases": [c for _h, c in made], "referral": referral, "alert": alert}


def _panels(html: str) -> list[str]:
    return re.findall(r'data-testid="panel-([a-z-]+)"', html)


def _text(html: str, testid: str) -> str:
    return re.sub(r"<[^>]+>|\s+", "", re.search(rf'data-testid="{testid}"[^>]*>(.*?)</a>', html, re.S).group(1))


def test_clerk_workbench_lists_the_day(client, day):
    client.force_login(day["clerk"])
    html = client.get(reverse("web:home")).content.decode()
    assert _panels(html)[:4] == ["queue", "search", "warnings", "referrals"]
    # Accepted 03-03: investigation due 03-06 → overdue on 03-12; accepted 03-10: due 03-13 → due soon.
    assert _text(html, "wb-queue-total") == "待办2" and _text(html, "wb-queue-overdue") == "超期1"
    assert "临期1" in re.sub(r"<[^>]+>|\s+", "", html)
    for case in day["cases"]:
        assert reverse("cases:case", args=[case.pk]) in html
    assert _text(html, "wb-referrals-open") == "待回复1"
    assert "逾期" in html and "大病医疗救助" in html
    assert (
        _text(html, "wb-warnings-to-visit") == "待入户核实1"
        and reverse("monitoring:alert", args=[day["alert"].pk]) in html
    )
    assert "工作台41" not in html  # names on the workbench are masked


def test_each_role_gets_its_own_workbench(client, day, make_user):
    leader = make_user("leader")
    client.force_login(leader)
    html = client.get(reverse("web:home")).content.decode()
    assert "在办案件总览" in html and "张北县" in html and "?region=130722" in html  # by county, drillable

    county = make_user("county_approver")
    client.force_login(county)
    assert "待审核确认" in client.get(reverse("web:home")).content.decode()

    auditor = make_user("auditor")
    audit.record(AuditEntry.Action.LOGIN_FAILED, object_type="user", label="登录失败", region_code=VILLAGE)
    client.force_login(auditor)
    html = client.get(reverse("web:home")).content.decode()
    assert _panels(html) == ["audit"]
    assert re.search(r'data-testid="wb-audit-failed">\s*1\s*<', html)

    admin = make_user("admin")
    client.force_login(admin)
    html = client.get(reverse("web:home")).content.decode()
    assert "panel-admin" in html and "节假日安排" in html

"""The monitoring demo: a month of signals of every feed generated and imported, the sweeps over them, the first
visits and closures, the walk-through household, and byte-identical files for a seed."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from minzheng.demo import checks as check_demo
from minzheng.demo import monitoring as demo
from minzheng.demo.cases import generate_cases
from minzheng.demo.population import generate_population
from minzheng.exchange.models import Snapshot
from minzheng.monitoring.models import Alert, Category, MonitoredEntry, Sweep, Visit
from minzheng.registry.models import Household

pytestmark = pytest.mark.django_db

PREFIX = "130722100"  # 张北镇: the township of the demo staff, villages with a dozen households each
WALK_VILLAGE = "130722100201"  # 南壕堑村, the demo assistant's village
AS_OF = datetime.date(2026, 11, 1)


@pytest.fixture
def world(tmp_path):
    """What `make demo` has done before: population, demo users, cases and the checks' departmental data."""
    generate_population(PREFIX, 500, seed=7, as_of=datetime.date(2026, 1, 1))
    call_command("create_demo_users", prefix="1307", stdout=StringIO())
    generate_cases(25, seed=1, today=AS_OF)
    check_demo.generate_check_data(PREFIX, as_of=AS_OF, seed=3, out_dir=tmp_path / "checks")


def test_signals_of_every_feed_become_warnings_visits_and_closures(world, tmp_path):
    result = demo.generate_monitoring_data(PREFIX, as_of=AS_OF, seed=5, out_dir=tmp_path / "a")

    # Every feed delivered and imported as the prefecture's delivery, with unknown people and rejected rows.
    assert [s.source for s in result.sources] == list(demo.FEEDS)
    for outcome in result.sources:
        assert outcome.rows_valid > 0 and not outcome.duplicate, outcome.source
        assert outcome.path.name.startswith("jc-")
    assert all(result.new_rows[feed] > 0 for feed in demo.FEEDS), result.new_rows
    assert sum(s.rows_unmatched for s in result.sources) > 0
    assert sum(s.rows_rejected for s in result.sources) > 0
    jc = Snapshot.objects.filter(original_name__startswith="jc-", region_id="130700000000", period=AS_OF)
    assert sorted(jc.values_list("source", flat=True)) == sorted(demo.FEEDS)
    # The checking sources' new delivery extends the department's earlier one (the checks keep their year of data).
    for code in ("medical", "disability", "civil_status"):
        earlier = Snapshot.objects.get(source=code, period__lt=AS_OF)
        assert jc.get(source=code).rows_valid >= earlier.rows_valid, code

    # Two system sweeps: the departments' existing data, then this month's signals.
    first, nightly = Sweep.objects.order_by("id")
    assert first.status == nightly.status == "complete" and first.started_by is None
    assert nightly.snapshots.count() == len(demo.FEEDS) and nightly.stats["warnings"] > 0
    assert nightly.stats["unmatched_person"] > 0

    alerts = Alert.objects.all()
    assert sum(result.by_rule.values()) == alerts.count()
    rules = set(alerts.values_list("rule", flat=True))
    assert {"death_member", "employed", "unemployed", "disability_new", "student_aid", "disaster"} <= rules, rules
    assert {"medical_high", "anti_poverty", "registration_change", "dropout"} <= rules, rules
    assert {"apply", "enrol", "stop"} <= set(alerts.values_list("suggested_outcome", flat=True))
    # The disaster struck one township; 防返贫 deliveries opened register entries.
    assert len({a.region_id[:9] for a in alerts.filter(rule="disaster")}) == 1
    assert MonitoredEntry.objects.filter(category=Category.ANTI_POVERTY, end_on__isnull=True).exists()

    # The first follow-up work: visits, closures with a case or a referral.
    assert result.visits == Visit.objects.count() > 0
    assert result.closed == alerts.filter(status="closed").count() > 0
    assert alerts.filter(status="visited").exists() and alerts.filter(status="open").exists()
    assert result.cases_opened + result.referrals > 0
    assert result.by_status == {
        s: alerts.filter(status=s).count() for s in ("open", "visited", "closed") if alerts.filter(status=s).exists()
    }

    # The backlog: part of the first sweep's warnings were raised weeks ago, so some tasks are overdue and some due
    # within the reminder window; none is dated before its signal.
    today = timezone.localdate()
    waiting = alerts.exclude(status="closed")
    assert waiting.filter(due_on__lt=today).exists()
    assert waiting.filter(due_on__gte=today, due_on__lte=today + datetime.timedelta(days=4)).exists()
    assert not alerts.filter(raised_on__lt=F("signal_on")).exists()

    # The walk-through: a 低保 household of the assistant's village lost a member; the warning waits for the visit.
    death = Alert.objects.get(number=result.walkthrough_alert)
    assert death.region_id == WALK_VILLAGE and death.rule == "death_member" and death.detail["category"] == "dibao"
    assert (death.status, death.level, death.suggested_outcome) == ("open", "village", "stop")
    assert death.action_due_on is not None and not death.visits.exists()
    others = Alert.objects.filter(region_id=WALK_VILLAGE).exclude(pk=death.pk)
    # Its other warnings (when the small population put other households there) are visited, not closed.
    neighbours = Household.objects.filter(region_id=WALK_VILLAGE).exclude(pk=death.household_id).exists()
    assert others.exists() == neighbours and all(a.status == "visited" for a in others)

    # Running the demo again lands nothing new: the same files, already imported; no warning twice.
    count = alerts.count()
    again = demo.generate_monitoring_data(PREFIX, as_of=AS_OF, seed=5, out_dir=tmp_path / "b")
    for a, b in zip(result.sources, again.sources, strict=True):
        assert check_demo.file_digest(a.path) == check_demo.file_digest(b.path), a.source
        assert b.duplicate, a.source
    assert Alert.objects.count() == count and again.walkthrough_case == ""

    # Another seed gives other files.
    other = demo.build_delivery_files(PREFIX, as_of=AS_OF, seed=6, out_dir=tmp_path / "c")
    assert check_demo.file_digest(other["student"][0]) != check_demo.file_digest(result.sources[4].path)


def test_command_and_if_empty(world, tmp_path):
    out = StringIO()
    call_command("generate_monitoring_data", prefix=PREFIX, as_of=AS_OF, seed=5, out=tmp_path, stdout=out)
    text = out.getvalue()
    assert "监测比对第" in text and "按规则" in text and "监测家庭成员死亡" in text
    assert "可能不再符合：核实后按程序调整或停止" in text and "演示走查" in text
    out = StringIO()
    call_command("generate_monitoring_data", prefix=PREFIX, seed=6, if_empty=True, out=tmp_path, stdout=out)
    assert "跳过" in out.getvalue()
    assert Sweep.objects.count() == 2

"""The demo's two saved scenarios on the demo prefecture, run on its generated population and departmental data."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.demo import checks as demo
from minzheng.demo.population import generate_population
from minzheng.simulation.models import Figure, Scenario

pytestmark = pytest.mark.django_db


def test_generate_scenarios_saves_and_runs_two_scenarios(tmp_path, settings, make_user):
    settings.CHECKS_DATA_DIR = tmp_path
    make_user("leader", region="130700000000", username="leader")
    generate_population("130722", 300, seed=7, as_of=datetime.date(2026, 1, 1))
    demo.generate_check_data("130722", seed=3, out_dir=tmp_path / "files")
    out = StringIO()
    call_command("generate_scenarios", "--prefix", "1307", stdout=out)
    scenarios = list(Scenario.objects.order_by("pk"))
    assert [s.name for s in scenarios] == ["城乡低保标准分别提高8%和15%", "低保边缘收入上限提高到低保标准的2倍"]
    assert all(s.created_by.username == "leader" and s.latest_run().status == "complete" for s in scenarios)
    raised = Figure.objects.filter(run=scenarios[0].latest_run(), benefit="dibao")
    assert sum(f.cost_after - f.cost_before for f in raised) > 0
    edge = Figure.objects.filter(run=scenarios[1].latest_run(), benefit="edge")
    assert sum(f.households_after for f in edge) > sum(f.households_before for f in edge)
    assert "方案“城乡低保标准分别提高8%和15%”" in out.getvalue()
    call_command("generate_scenarios", "--prefix", "1307", "--if-empty", stdout=StringIO())
    assert Scenario.objects.count() == 2

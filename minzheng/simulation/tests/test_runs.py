"""A run is one tracked batch run: a crash leaves it failed with nothing stored; a county's own change is adopted on
that county; a second run of a scenario while one is active is refused."""

import pytest

from minzheng.core.errors import Conflict
from minzheng.policy.models import Parameter
from minzheng.simulation import evaluate, services, store
from minzheng.simulation.models import Figure

from .conftest import FROM

pytestmark = pytest.mark.django_db


def test_a_crash_leaves_the_run_failed_and_nothing_stored(population, leader, monkeypatch):
    scenario = services.create_scenario(
        leader, name="x", region_code="1307", effective_from=FROM, changes=["dibao.standard_rural=+15%"]
    )
    run = services.start_run(leader, scenario, enqueue=False)

    def boom(con):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(evaluate, "histogram", boom)
    with pytest.raises(RuntimeError):
        services.run_scenario(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "磁盘已满" in run.error
    assert not Figure.objects.filter(run=run).exists()
    assert not store.path_for(run).exists() and not store.path_for(run).with_suffix(".partial").exists()
    assert scenario.latest_complete_run() is None


def test_an_active_run_is_not_started_twice(population, leader):
    scenario = services.create_scenario(
        leader, name="x", region_code="1307", effective_from=FROM, changes=["dibao.standard_rural=+15%"]
    )
    services.start_run(leader, scenario, enqueue=False)
    with pytest.raises(Conflict, match="该方案正在测算"):
        services.start_run(leader, scenario, enqueue=False)


def test_per_county_change_is_adopted_on_its_county(population, leader, setter):
    scenario = services.create_scenario(
        leader,
        name="桥东区农村提标",
        region_code="1307",
        effective_from=FROM,
        changes=["dibao.standard_rural@130702=700", "dibao.edge_multiplier=1.8"],
    )
    services.adopt(setter, scenario.pk)
    written = {(p.key, p.region_id): p.value for p in Parameter.objects.filter(effective_from=FROM)}
    assert written == {
        ("dibao.standard_rural", "130702000000"): "700",
        ("dibao.edge_multiplier", "130700000000"): "1.8",
    }

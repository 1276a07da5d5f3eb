"""The key property (issue 19): a scenario's "after" is what a batch re-check gives once the scenario's parameters are
actually in force, household for household and summed per township; and its "before" is today's batch re-check.
The simulation cannot drift from the rules because it has no rules of its own."""

from collections import defaultdict

import pytest

from minzheng.checks import inputs
from minzheng.checks import services as checks
from minzheng.checks.engine import execute
from minzheng.simulation import services
from minzheng.simulation.models import Figure

from .conftest import FROM

pytestmark = pytest.mark.django_db

CHANGES = ["dibao.standard_urban=+8%", "dibao.standard_rural=+15%", "tekun.basic_multiplier_of_dibao=1.4"]


def batch_households(region: str) -> dict[int, dict]:
    engine_inputs, _, _ = inputs.for_region(region, FROM)
    table = execute(engine_inputs, ("households",))["households"]
    return {row["household_key"]: row for row in table.to_pylist()}


def sums(households: dict[int, dict]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Per (benefit, township): households, people, monthly fen — computed here in plain Python from the rows."""
    from minzheng.registry.models import Household

    township = {pk: region[:9] + "000" for pk, region in Household.objects.values_list("id", "region_id")}
    out = defaultdict(lambda: [0, 0, 0])
    for key, h in households.items():
        for benefit, amount in (("dibao", "dibao_amount"), ("tekun", "tekun_amount"), ("edge", None)):
            if h[benefit]:
                row = out[(benefit, township[key])]
                row[0] += 1
                row[1] += h["n"]
                row[2] += h[amount] if amount else 0
    return {k: tuple(v) for k, v in out.items()}


def stored(run, side: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    out = {}
    for f in Figure.objects.filter(run=run):
        households, people = getattr(f, f"households_{side}"), getattr(f, f"people_{side}")
        cost = int(getattr(f, f"cost_{side}") * 100)
        if households:
            out[(f.benefit, f.township_id)] = (households, people, cost)
    return out


def test_after_equals_a_batch_recheck_with_the_scenario_in_force(population, leader, setter):
    scenario = services.create_scenario(
        leader,
        name="城乡低保标准分别提高8%和15%",
        region_code="1307",
        effective_from=FROM,
        changes=CHANGES,
        include_unauthorised=True,
    )
    run = services.start_run(leader, scenario, enqueue=False)
    run = services.run_scenario(run.pk)
    assert run.status == "complete", run.error

    before = batch_households("130700000000")
    assert stored(run, "before") == sums(before)
    # The scenario changed something: at least one household gains 低保 and the cost rises.
    after_figures = stored(run, "after")
    assert after_figures != sums(before)

    services.adopt(setter, scenario.pk)
    after = batch_households("130700000000")
    assert after_figures == sums(after)

    # And through the batch re-check itself (its run, its counts).
    batch = checks.start_batch(None, "1307", FROM, enqueue=False)
    batch = checks.run_batch(batch.pk)
    totals = {
        b: sum(v[0] for (benefit, _), v in after_figures.items() if benefit == b) for b in ("dibao", "edge", "tekun")
    }
    assert totals == {b: batch.stats[b] for b in ("dibao", "edge", "tekun")}
    # The per-household changes of the affected list are the differences between the two batch results.
    import pyarrow.parquet as pq

    from minzheng.simulation import store

    listed = {(r["household_key"], r["benefit"]): r for r in pq.read_table(store.path_for(run)).to_pylist()}
    expected = {}
    for key, b in before.items():
        a = after[key]
        for benefit, amount in (("dibao", "dibao_amount"), ("tekun", "tekun_amount"), ("edge", None)):
            was, will = bool(b[benefit]), bool(a[benefit])
            old = b[amount] if amount and was else 0
            new = a[amount] if amount and will else 0
            if was != will or old != new:
                expected[(key, benefit)] = (old, new)
    assert {k: (r["amount_before"], r["amount_after"]) for k, r in listed.items()} == expected

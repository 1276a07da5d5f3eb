"""政策模拟 services: create a scenario, run it (a tracked batch run), adopt it. Running never changes a parameter or
a benefit; adopting is a separate act that writes the dated parameters through the policy app's service, so the rule
that was simulated and the rule that will apply are one and the same.

The run reads its inputs exactly as a batch re-check does (`checks.inputs.for_region`: the latest snapshots in force,
the registry, the parameters) and builds the scenario's parameter table with the same code
(`checks.inputs.parameters` with the scenario's values); the compiled rules run once per side (`evaluate.py`)."""

import datetime
import time
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.checks import inputs
from minzheng.core import audit, runs
from minzheng.core.errors import Conflict, DomainError
from minzheng.core.money import from_fen
from minzheng.exchange import selectors as exchange
from minzheng.policy import services as policy
from minzheng.regions import codes
from minzheng.regions.models import Region

from . import changes as changes_
from . import evaluate, store
from .models import Figure, Scenario, ScenarioRun

NAME_MAX = 100


def _region_for(user, region_code: str) -> Region:
    region = Region.objects.by_code(region_code)
    if region.level > codes.COUNTY:
        raise DomainError("政策模拟的区划应为县级或以上（省、市、县）", "invalid_region")
    if user is not None and not (user.region and user.region.contains(region.code)):
        raise DomainError("只能测算本辖区", "forbidden")
    return region


def validate(region: Region, effective_from: datetime.date, changes: list[changes_.Change]) -> dict[int, dict]:
    """The scenario's values per county of the region, or a Chinese error: every change applies to the values in
    force on the date, and the result must be a valid parameter value. Per-county changes must name a county of
    the region."""
    counties = counties_of(region)
    for change in changes:
        if change.county is not None and change.county not in counties:
            raise DomainError(f"{change.county:06d} 不是{region.name}所辖的县（市、区）", "invalid_change")
    _, _, record = inputs.parameters(sorted(counties), effective_from)
    return {
        county: changes_.apply(
            changes, county, {k: r["value"] for k, r in record[str(county)].items()}, counties[county]
        )
        for county in counties
    }


def counties_of(region: Region) -> dict[int, str]:
    if region.level == codes.COUNTY:
        return {int(region.code[:6]): region.name}
    low, high = region.subtree_range()
    return {
        int(code[:6]): name
        for code, name in Region.objects.filter(level=codes.COUNTY, code__gte=low, code__lte=high).values_list(
            "code", "name"
        )
    }


def create_scenario(
    user,
    *,
    name: str,
    region_code: str,
    effective_from: datetime.date,
    changes: list[str] | str,
    basis: str = "",
    include_unauthorised: bool = False,
) -> Scenario:
    """A saved scenario (validated whole; nothing is saved on an error)."""
    if user is not None:
        require(user, Capability.SIMULATE)
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写方案名称", "name_required", field="name")
    if len(name) > NAME_MAX:
        raise DomainError(f"方案名称不能超过{NAME_MAX}个字", "name_too_long", field="name")
    region = _region_for(user, region_code)
    parsed = changes_.parse(changes)
    validate(region, effective_from, parsed)
    with transaction.atomic():
        scenario = Scenario.objects.create(
            name=name,
            region=region,
            effective_from=effective_from,
            changes=[c.as_dict() for c in parsed],
            basis=(basis or "").strip()[:300],
            include_unauthorised=include_unauthorised,
            created_by=user,
        )
        audit.record(audit.Action.CREATE, user=user, obj=scenario, detail={"changes": [c.as_text() for c in parsed]})
    return scenario


def start_run(user, scenario: Scenario, *, enqueue: bool = True) -> ScenarioRun:
    if user is not None:
        require(user, Capability.SIMULATE)
        scenario = Scenario.objects.get_for_user(user, pk=scenario.pk)  # planners run their own region's only
    if scenario.runs.filter(status__in=[ScenarioRun.Status.QUEUED, ScenarioRun.Status.RUNNING]).exists():
        raise Conflict("该方案正在测算，请等待完成", "run_active")
    run = runs.create(
        ScenarioRun,
        user=user,
        label=f"政策模拟 {scenario.name}",
        region_code=scenario.region_id,
        detail={"scenario": scenario.pk, "as_of": scenario.effective_from.isoformat()},
        scenario=scenario,
        as_of=scenario.effective_from,
    )
    if enqueue:
        runs.enqueue("minzheng.simulation.services.run_scenario", run, f"政策模拟 {run.pk}")
    return run


def run_scenario(run_id: int, progress: Callable[[int, str], None] | None = None) -> ScenarioRun:
    """Evaluate both sides and store the figures, the histogram and the affected households, in one transaction (the
    affected-household file is moved into place inside it and removed if it fails)."""
    run = ScenarioRun.objects.select_related("scenario", "scenario__region").get(pk=run_id)
    scenario = run.scenario
    target = store.path_for(run)
    partial = target.with_suffix(".partial")
    with runs.tracked(run, progress) as tracker:
        timings = {}
        t0 = time.perf_counter()
        tracker.progress(5, "读取家庭成员、部门数据与现行参数")
        region = scenario.region_id
        engine_inputs, before_record, snapshots = inputs.for_region(region, run.as_of)
        counties = sorted(set(engine_inputs.members.column("county").to_pylist())) or [int(region[:6])]
        overrides = {
            c: changes_.apply(scenario.change_list, c, {k: r["value"] for k, r in before_record[str(c)].items()})
            for c in counties
        }
        after_params, _, after_record = inputs.parameters(counties, run.as_of, overrides)
        townships = _townships(region)
        missing = exchange.sources_without_data(region, run.as_of, snapshots)
        timings["read_seconds"] = round(time.perf_counter() - t0, 3)
        households = pc.count_distinct(engine_inputs.members["household_key"]).as_py()
        tracker.progress(20, f"测算 {households} 户：现行参数与方案参数")
        t1 = time.perf_counter()

        def step(done: int, total: int) -> None:
            tracker.progress(20 + 60 * done // total, f"已完成 {done} / {total} 轮规则计算")

        runner = evaluate.evaluate_sides(
            engine_inputs, after_params, chunk_households=settings.CHECKS_BATCH_CHUNK_HOUSEHOLDS, progress=step
        )
        try:
            con = runner.con
            timings["engine_seconds"] = round(time.perf_counter() - t1, 3)
            tracker.progress(85, "汇总测算结果")
            t2 = time.perf_counter()
            evaluate.compare(con, townships, scenario.include_unauthorised)
            figure_rows = evaluate.figures(con)
            histogram = evaluate.histogram(con)
            affected = evaluate.write_affected(con, partial)
            evaluated, authorised = con.execute("SELECT count(*), count(authorisation_id) FROM side_before").fetchone()
            timings["aggregate_seconds"] = round(time.perf_counter() - t2, 3)
        finally:
            runner.close()
        stats = {
            "households": evaluated,
            "authorised": authorised,
            "unauthorised": evaluated - authorised,
            "counted": authorised if not scenario.include_unauthorised else evaluated,
            "affected": affected,
            "histogram": histogram,
            "missing_sources": {code: later and later.isoformat() for code, later in missing.items()},
            **timings,
        }
        deliveries = [
            {
                "source": code,
                "name": s.get_source_display(),
                "period": s.period.isoformat(),
                "version": s.version,
                "snapshot": s.pk,
            }
            for code, s in snapshots.items()
            if s
        ]
        try:
            with transaction.atomic():
                Figure.objects.bulk_create([_figure(run, row) for row in figure_rows], batch_size=2000)
                partial.replace(target)
                tracker.complete(
                    parameters={"before": before_record, "after": after_record},
                    stats=stats,
                    deliveries=deliveries,
                )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            partial.unlink(missing_ok=True)
    return run


def _townships(region_code: str) -> pa.Table:
    """Each household's township (the first 9 digits of its village), read in one statement."""
    low, high = codes.subtree_range(region_code)
    keys, towns = [], []
    with connection.cursor() as cur:
        cur.execute("SELECT id, region_id FROM registry_household WHERE region_id BETWEEN %s AND %s", [low, high])
        while batch := cur.fetchmany(100_000):
            for key, village in batch:
                keys.append(key)
                towns.append(village[:9] + "000")
    return pa.table({"household_key": pa.array(keys, pa.int64()), "township": pa.array(towns, pa.string())})


def _figure(run: ScenarioRun, row: dict) -> Figure:
    county = f"{row['county']:06d}000000"
    return Figure(
        run=run,
        benefit=row["benefit"],
        county_id=county,
        township_id=row["township"],
        households_before=row["households_before"],
        households_after=row["households_after"],
        people_before=row["people_before"],
        people_after=row["people_after"],
        **{f"{c}_{what}": row[f"{c}_{what}"] for c in evaluate.CHANGES for what in ("households", "people")},
        cost_before=from_fen(row["cost_before_fen"]),
        cost_after=from_fen(row["cost_after_fen"]),
    )


# --------------------------------------------------------------------------------------------------- adoption


def adoption_rows(scenario: Scenario) -> list[policy.NewValue]:
    """The parameter rows that put the scenario in force: each new value written where the value it changes was set
    (the county's own value on the county; an inherited one on the region it came from, or on the scenario's region
    when it came from above it), a per-county change on its county. Counties sharing a row get the same value by
    construction; should they not (a value set above the region but changed differently), each gets its own row."""
    region = scenario.region
    counties = counties_of(region)
    changes = scenario.change_list
    _, _, record = inputs.parameters(sorted(counties), scenario.effective_from)
    groups: dict[tuple[str, str], dict[int, object]] = {}
    for county in sorted(counties):
        in_force = record[str(county)]
        values = changes_.apply(changes, county, {k: r["value"] for k, r in in_force.items()}, counties[county])
        county_code = f"{county:06d}000000"
        for key, value in values.items():
            source = in_force[key]["region_code"]
            if (
                any(c.key == key and c.county == county for c in changes)
                or codes.subtree_range(county_code)[0] <= (source or "") <= codes.subtree_range(county_code)[1]
            ):
                target = county_code
            elif source and region.contains(source):
                target = source
            else:
                target = region.code
            groups.setdefault((key, target), {})[county] = value
    rows = []
    for (key, target), by_county in sorted(groups.items()):
        distinct = {str(v) for v in by_county.values()}
        if len(distinct) == 1:
            rows.append(policy.NewValue(key, target, next(iter(by_county.values()))))
        else:
            rows.extend(policy.NewValue(key, f"{c:06d}000000", v) for c, v in sorted(by_county.items()))
    return rows


def adopt(user, scenario_id: int, *, basis: str = "") -> list:
    """Write the scenario's values as dated parameters (from its date, per county: one row per county and key, the
    value the scenario computed from the values in force). Only for users who may set parameters, once."""
    require(user, Capability.SET_PARAMETERS)
    scenario = Scenario.objects.select_related("region").get_for_user(user, pk=scenario_id)
    if scenario.adopted_at:
        raise Conflict("该方案已采纳，不能重复采纳", "already_adopted")
    if scenario.effective_from <= timezone.localdate():
        raise DomainError("只能采纳以后实施的方案（已生效的参数不能改动），请新建一个以后日期的方案", "invalid_date")
    rows = adoption_rows(scenario)
    basis = (basis or scenario.basis or f"政策模拟方案“{scenario.name}”").strip()
    with transaction.atomic():
        created = policy.add_values(rows, effective_from=scenario.effective_from, basis=basis, user=user)
        Scenario.objects.filter(pk=scenario.pk).update(adopted_at=timezone.now(), adopted_by=user)
        audit.record(
            audit.Action.UPDATE,
            user=user,
            obj=scenario,
            label=f"采纳政策模拟方案 {scenario.pk}（{scenario.name}）",
            detail={"parameters": [p.pk for p in created], "effective_from": scenario.effective_from.isoformat()},
        )
    return created

"""政策模拟 API: create a scenario, run it (in the background), read it with its figures; list the affected households
(masked, scoped and audited like the page). Thin: the services and selectors do the work."""

import datetime
from decimal import Decimal

from ninja import Router, Schema, Status

from minzheng.core.ids import Id

from . import selectors, services
from .models import Scenario, ScenarioRun

router = Router(tags=["政策模拟"])


class ScenarioIn(Schema):
    name: str
    region: str
    effective_from: datetime.date
    changes: list[str]
    basis: str = ""
    include_unauthorised: bool = False


class RunOut(Schema):
    id: int
    status: str
    progress: int
    message: str
    as_of: datetime.date
    error: str
    households: int | None = None
    counted: int | None = None
    affected: int | None = None


class FigureOut(Schema):
    benefit: str
    benefit_name: str
    code: str = ""
    name: str = ""
    households_before: int
    households_after: int
    people_before: int
    people_after: int
    new_households: int
    new_people: int
    lost_households: int
    lost_people: int
    up_households: int
    down_households: int
    same_households: int
    cost_before: Decimal
    cost_after: Decimal
    cost_diff: Decimal
    cost_diff_year: Decimal


class ScenarioOut(Schema):
    id: int
    name: str
    region_code: str
    effective_from: datetime.date
    changes: list[str]
    descriptions: list[str]
    basis: str
    include_unauthorised: bool
    adopted: bool
    run: RunOut | None = None
    totals: list[FigureOut] = []
    counties: list[FigureOut] = []


class AffectedOut(Schema):
    household_id: int
    household_number: str
    head_name: str  # masked
    head_id_number: str  # masked
    township: str
    benefit: str
    change: str
    people: int
    per_capita_income: Decimal
    amount_before: Decimal
    amount_after: Decimal


def _run_out(run: ScenarioRun | None) -> dict | None:
    if run is None:
        return None
    s = run.stats or {}
    return {
        "id": run.pk,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "as_of": run.as_of,
        "error": run.error,
        "households": s.get("households"),
        "counted": s.get("counted"),
        "affected": s.get("affected"),
    }


def _figure(row: dict) -> dict:
    return {**row, "benefit_name": row["benefit_label"], "code": row.get("code", ""), "name": row.get("name", "")}


def _scenario_out(user, s: Scenario, *, figures: bool = True) -> dict:
    run = s.latest_run()
    out = {
        "id": s.pk,
        "name": s.name,
        "region_code": s.region.official_code,
        "effective_from": s.effective_from,
        "changes": [c.as_text() for c in s.change_list],
        "descriptions": [c.describe() for c in s.change_list],
        "basis": s.basis,
        "include_unauthorised": s.include_unauthorised,
        "adopted": s.adopted_at is not None,
        "run": _run_out(run),
    }
    done = s.latest_complete_run()
    if figures and done is not None:
        out["totals"] = [_figure(r) for r in selectors.totals_by_benefit(done, user)]
        out["counties"] = [_figure(r) for rows in selectors.by_area(done, user).values() for r in rows]
    return out


@router.get("/scenarios", response=list[ScenarioOut], summary="政策模拟方案（本辖区）")
def list_scenarios(request, limit: int = 50):
    qs = selectors.scenarios_for(request.user)[: max(1, min(limit, 200))]
    return [_scenario_out(request.user, s, figures=False) for s in qs]


@router.post(
    "/scenarios", response={201: ScenarioOut}, summary="新建方案（参数调整写法：KEY=+8%、KEY=950、KEY@130722=+10%）"
)
def post_scenario(request, body: ScenarioIn):
    s = services.create_scenario(
        request.user,
        name=body.name,
        region_code=body.region,
        effective_from=body.effective_from,
        changes=body.changes,
        basis=body.basis,
        include_unauthorised=body.include_unauthorised,
    )
    return Status(201, _scenario_out(request.user, s))


@router.post(
    "/scenarios/{scenario_id}/runs", response={202: RunOut}, summary="测算方案（后台运行，进度见 GET /scenarios/{id}）"
)
def post_run(request, scenario_id: Id):
    s = selectors.scenario_for(request.user, scenario_id)
    return Status(202, _run_out(services.start_run(request.user, s)))


@router.get("/scenarios/{scenario_id}", response=ScenarioOut, summary="方案、最近一次测算及各县结果")
def get_scenario(request, scenario_id: Id):
    return _scenario_out(request.user, selectors.scenario_for(request.user, scenario_id))


@router.get("/scenarios/{scenario_id}/affected", response=list[AffectedOut], summary="受影响家庭（脱敏，按键翻页）")
def list_affected(request, scenario_id: Id, change: str = "", after: str = "", limit: int = 100):
    s = selectors.scenario_for(request.user, scenario_id)
    run = s.latest_complete_run()
    if run is None:
        return []
    cursor = selectors.parse_cursor(after)
    rows = selectors.affected(request.user, run, after=cursor, change=change, limit=max(1, min(limit, 500)))
    return [
        {
            "household_id": r["household_key"],
            "household_number": r["number"],
            "head_name": r["head"],
            "head_id_number": r["id_number"],
            "township": r["township"],
            "benefit": r["benefit"],
            "change": r["change"],
            "people": r["n"],
            "per_capita_income": r["per_capita"],
            "amount_before": r["amount_before"],
            "amount_after": r["amount_after"],
        }
        for r in rows
    ]

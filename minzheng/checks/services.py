"""Checking services: authorisations, the window check of one household, and batch re-checks of a region.

Both checks run the same compiled rules (rules.py) through the same engine; they differ only in how much of each
table they bind. Nothing here changes a case or a benefit: results are stored for officers to act on.
"""

import datetime
import json
import time
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.benefits import selectors as benefits
from minzheng.cases.checking import CheckOutcome as CaseCheckOutcome
from minzheng.core import audit, batching, runs, spark
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_name
from minzheng.core.months import add_months
from minzheng.exchange import selectors
from minzheng.exchange.sources import CATEGORIES
from minzheng.policy.catalogue import spec
from minzheng.policy.parameters import resolve, resolve_many
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Membership

from . import explain, inputs, verdicts
from .engine import execute, stream
from .models import Authorisation, CheckResult, CheckRun

# ------------------------------------------------------------------------------------------------ authorisations


def record_authorisation(
    household: Household,
    *,
    user,
    signed_on: datetime.date,
    persons=None,
    categories: list[str] | None = None,
    case=None,
) -> Authorisation:
    """Register a signed 授权核对书. By default every current member signs for every data category."""
    require(user, Capability.RUN_CHECKS)
    household = Household.objects.get_for_user(user, pk=household.pk)
    if signed_on > timezone.localdate():
        raise DomainError("授权签署日期不能晚于今天", "invalid_date")
    categories = list(categories or CATEGORIES)
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise DomainError(f"未知的数据类别：{'、'.join(unknown)}", "unknown_category")
    months = int(resolve("check.authorisation_valid_months", household.region_id, signed_on).value)
    valid_until = add_months(signed_on, months) - datetime.timedelta(days=1)
    if persons is None:
        persons = [m.person for m in household.current_memberships()]
    with transaction.atomic():
        auth = Authorisation.objects.create(
            household=household,
            case=case,
            categories=categories,
            signed_on=signed_on,
            valid_until=valid_until,
            recorded_by=user,
        )
        auth.persons.set(persons)
        audit.record(audit.Action.CREATE, user=user, obj=auth, detail={"categories": categories})
    return auth


def ensure_case_authorisation(case, user) -> Authorisation | None:
    """The case file's signed 授权核对书 (DB §9) becomes the household's authorisation the first time the case is
    checked, dated the day of application and covering the household's current members."""
    if not case.authorisation_signed:
        return None
    existing = Authorisation.objects.filter(case=case, revoked_on__isnull=True).order_by("-id").first()
    if existing:
        return existing
    return record_authorisation(case.household, user=user, signed_on=case.submitted_on, case=case)


def valid_authorisation(household: Household, on: datetime.date) -> Authorisation:
    """The authorisation that lets a check read this household's data on `on`, or a Chinese error naming who has not
    signed. Deceased members need not sign."""
    living = {
        m.person_id: m.person
        for m in Membership.objects.filter(household=household, left_on__isnull=True).select_related("person")
        if m.person.deceased_on is None or m.person.deceased_on > on
    }
    candidates = (
        Authorisation.objects.filter(
            household=household, revoked_on__isnull=True, signed_on__lte=on, valid_until__gte=on
        )
        .prefetch_related("persons")
        .order_by("-id")
    )
    best_missing = None
    for auth in candidates:
        if not set(CATEGORIES) <= set(auth.categories):
            continue
        missing = set(living) - {p.pk for p in auth.persons.all()}
        if not missing:
            return auth
        best_missing = missing
    if best_missing:
        names = "、".join(mask_name(living[pk].name) for pk in sorted(best_missing))
        raise DomainError(f"核对授权未覆盖全部家庭成员：{names} 尚未签署授权书", "authorisation_incomplete")
    raise DomainError("该家庭没有有效的核对授权（授权核对书），不得查询其经济状况信息", "authorisation_missing")


# ----------------------------------------------------------------------------------------------- window check


def _row_dicts(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _money(fen) -> Decimal:
    return explain.yuan(fen)


def check_household(
    household_id: int, *, user, as_of: datetime.date | None = None, case=None, benefit: str | None = None
) -> CheckResult:
    """Check one household now (the window path): authorisation, the snapshots in force, the rules, the stored
    result with every reason and the evidence rows. The query is logged against the authorisation that allowed it."""
    require(user, Capability.RUN_CHECKS)
    household = Household.objects.select_related("region").get_for_user(user, pk=household_id)
    as_of = as_of or timezone.localdate()
    if case is None:
        # A check from the household page belongs to the household's open case, judged for that case's benefit.
        case = open_case(household)
        if case is not None and benefit is None:
            benefit = "tekun" if case.service.workflow == "tekun" else "dibao"
    authorisation = valid_authorisation(household, as_of)
    engine_inputs, record, snapshots = inputs.for_households([household.pk], household.region_id, as_of)
    if engine_inputs.members.num_rows == 0:
        raise DomainError("该家庭没有现有成员，无法核对", "no_members")
    out = execute(engine_inputs, ("households", "persons", "evidence"))
    h = out["households"].to_pylist()[0]
    names = dict(
        Membership.objects.filter(household=household, left_on__isnull=True).values_list("person_id", "person__name")
    )
    person_rows = sorted(out["persons"].to_pylist(), key=lambda p: p["person_key"])
    for p in person_rows:
        p["name"] = names.get(p["person_key"], "")
        p["tekun_eligible"] = bool(
            p["included"] and p["unable_to_work"] and p["supporter"] == "none" and h["income_ok"] and h["assets_ok"]
        )
    evidence = explain.evidence_rows(
        sorted(out["evidence"].to_pylist(), key=lambda r: (r["person_key"], r["source"], r["row_no"] or 0, r["item"])),
        names,
    )
    with transaction.atomic():
        run = CheckRun.objects.create(
            kind=CheckRun.Kind.SINGLE,
            region=household.region,
            as_of=as_of,
            status=CheckRun.Status.COMPLETE,
            progress=100,
            parameters=record,
            households=1,
            started_by=user,
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        run.snapshots.set([s for s in snapshots.values() if s])
        result = _result(
            run, h, household.region_id, person_rows, evidence, authorisation=authorisation, case=case, benefit=benefit
        )
        result.save()
        audit.record(
            audit.Action.CHECK,
            user=user,
            obj=household,
            detail={
                "authorisation": authorisation.pk,
                "check_result": result.pk,
                "as_of": as_of.isoformat(),
                "sources": {code: (s.pk if s else None) for code, s in snapshots.items()},
            },
        )
    return result


def open_case(household: Household):
    """The household's open case a check informs: the latest one of a procedure the check decides (低保, 特困, 复核),
    else the latest open one of any other; None when nothing is open."""
    from minzheng.cases.models import Case
    from minzheng.cases.workflows import FINAL_STATES

    open_cases = list(
        Case.objects.filter(household=household)
        .exclude(state__in=FINAL_STATES)
        .select_related("service")
        .order_by("-id")
    )
    decided = [c for c in open_cases if c.service.workflow in ("dibao", "tekun", "review")]
    return (decided or open_cases or [None])[0]


def _facts(h: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in h.items()}


def _result(
    run, h: dict, region_code: str, persons, evidence, *, authorisation=None, case=None, benefit: str | None = None
) -> CheckResult:
    facts = _facts(h)
    verdict = verdicts.judge(h, benefit)
    if persons is not None:
        facts["persons"] = [_facts(p) for p in persons]
    return CheckResult(
        run=run,
        household_id=h["household_key"],
        region_id=region_code,
        case=case,
        authorisation=authorisation,
        authorisation_id=h["authorisation_id"] if authorisation is None else authorisation.pk,
        members=h["n"],
        counted_income=_money(h["counted"]),
        per_capita_income=_money(h["per_capita"]),
        dibao=bool(h["dibao"]),
        dibao_amount=_money(h["dibao_amount"]),
        edge=bool(h["edge"]),
        tekun=bool(h["tekun"]),
        tekun_pending=bool(h["tekun_pending"]),
        tekun_amount=_money(h["tekun_amount"]),
        rigid=bool(h["rigid"]),
        verdict=verdict.code,
        benefit=verdict.benefit,
        amount=verdict.amount,
        facts=facts,
        reasons=explain.reasons(h),
        evidence=evidence or [],
    )


def check_case(case, user, *, workflow: str, today: datetime.date) -> CaseCheckOutcome:
    """The case procedure's 信息核对 step (registered with `cases.checking`): the case file's authorisation, the
    window check linked to the case, and the verdict for the case's own benefit."""
    ensure_case_authorisation(case, user)
    benefit = "tekun" if workflow == "tekun" else "dibao"  # 低保 (and its 复核); 临时救助 reads the 低保 test
    result = check_household(case.household_id, user=user, as_of=today, case=case, benefit=benefit)
    verdict = result.judged()
    eligible = verdict.eligible_for(benefit)
    return CaseCheckOutcome(
        result_id=result.pk,
        verdict=verdict.label,
        eligible=eligible,
        amount=verdict.amount if eligible and verdict.amount is not None else Decimal("0.00"),
        per_capita_income=result.per_capita_income,
        code=verdict.code,
        breakdown=verdicts.breakdown(result.facts, verdict) if eligible else (),
    )


def changed_parameters(result_id: int, on: datetime.date) -> list[str]:
    """The parameters a stored check used whose values in force on `on` differ, by label (`cases.checking`)."""
    result = CheckResult.objects.select_related("run").filter(pk=result_id).first()
    if result is None:
        return []
    county = (result.facts or {}).get("county") or inputs.county_of(result.region_id)
    used = (result.run.parameters or {}).get(str(county), {})
    keys = [k for k in used if k in inputs.PARAM_KEYS]
    if not keys:
        return []
    now = resolve_many(keys, f"{int(county):06d}000000", on)
    return [spec(k).label for k in keys if _plain(now[k].value) != _plain(used[k].get("value"))]


def _plain(value):
    """A parameter value as the run's JSON record holds it."""
    return json.loads(json.dumps(value, default=str))


def latest_result(household_id: int, *, case=None) -> CheckResult | None:
    qs = CheckResult.objects.visible().filter(household_id=household_id)
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("-id").first()


def result_for(user, result_id: int) -> CheckResult:
    """A stored check result the user may read (scoped); the caller audits what it does with it."""
    require(user, Capability.VIEW_CHECKS)
    return (
        CheckResult.objects.visible()
        .select_related("run", "household", "region", "authorisation", "case")
        .get_for_user(user, pk=result_id)
    )


def view_result(user, result_id: int) -> CheckResult:
    """A stored check result for the report page (scoped, and the view of personal data is audited)."""
    result = result_for(user, result_id)
    audit.record(audit.Action.VIEW, user=user, obj=result)
    return result


# ------------------------------------------------------------------------------------------------ batch re-check


def start_batch(user, region_code: str, as_of: datetime.date, *, enqueue: bool = True) -> CheckRun:
    """Queue a batch re-check of every current recipient household in a region: the page, the command line (with or
    without a user) and the monthly schedule (user None, the system) call this."""
    if user is not None:
        require(user, Capability.RUN_CHECKS)
    region = Region.objects.by_code(region_code)
    if user is not None and not (user.region and user.region.contains(region.code)):
        raise DomainError("只能复核本辖区的家庭", "forbidden")
    run = runs.create(
        CheckRun,
        user=user,
        label=f"批量复核 {region.name}",
        region_code=region.code,
        detail={"as_of": as_of.isoformat()},
        kind=CheckRun.Kind.BATCH,
        region=region,
        as_of=as_of,
    )
    if enqueue:
        runs.enqueue("minzheng.checks.services.run_batch", run, f"批量复核 {run.pk}")
    return run


def run_batch(run_id: int, progress: Callable[[int, str], None] | None = None, engine: str | None = None) -> CheckRun:
    """Execute a queued batch run: re-check every household of the region in one pass, store the recipients' results
    with their differences from the current decision, all in one transaction. A crash leaves the run failed and no
    result visible; it can simply be run again. `engine` is "duckdb" or "spark" (default: settings.CHECKS_ENGINE)."""
    run = CheckRun.objects.select_related("region").get(pk=run_id)
    with runs.tracked(run, progress) as tracker:
        engine = spark.engine(engine)
        timings = {}
        t0 = time.perf_counter()
        tracker.progress(5, "读取家庭成员")
        region = run.region.code
        engine_inputs, record, snapshots = inputs.for_region(region, run.as_of)
        missing = selectors.sources_without_data(region, run.as_of, snapshots)
        timings["read_seconds"] = round(time.perf_counter() - t0, 3)
        households = pc.count_distinct(engine_inputs.members["household_key"]).as_py()
        tracker.progress(40, f"核对 {households} 户" + ("（Spark 集群）" if engine == "spark" else ""))
        recipients = benefits.current_recipients(region)
        wanted = pa.array(list(recipients), pa.int64())
        t1 = time.perf_counter()
        stats, rows, checked, shown = dict.fromkeys(STATS, 0), [], 0, 40
        if engine == "spark":
            # On the cluster: only the flags counted and the recipients' rows come back to this machine.
            from . import spark as on_spark

            counted, rows = on_spark.batch(engine_inputs, COUNTED, wanted)
            _count(stats, counted)
        else:
            # Streamed in chunks of households: a province's results are never held whole, and only the recipients'
            # rows become Python objects (a few percent of the households).
            for batch in stream(engine_inputs, chunk_households=settings.CHECKS_BATCH_CHUNK_HOUSEHOLDS):
                _count(stats, batch)
                rows.extend(batch.filter(pc.is_in(batch["household_key"], value_set=wanted)).to_pylist())
                checked += batch.num_rows
                percent = 40 + 35 * checked // max(households, 1)
                if percent > shown:
                    tracker.progress(percent, f"已核对 {checked} / {households} 户")
                    shown = percent
        stats["engine"] = engine
        timings["engine_seconds"] = round(time.perf_counter() - t1, 3)
        tracker.progress(75, "比对现行救助待遇")
        regions = {}
        for batch in batching.in_batches(h["household_key"] for h in rows):
            regions.update(Household.objects.filter(pk__in=batch).values_list("id", "region_id"))
        results = []
        for h in rows:
            workflow, current = recipients[h["household_key"]]
            result = _result(run, h, regions[h["household_key"]], None, None, benefit=workflow)
            _compare(result, current)
            results.append(result)
        stats["recipients"] = len(recipients)
        # Read as "no records": the run page and the command say so above the results.
        stats["missing_sources"] = {code: later and later.isoformat() for code, later in missing.items()}
        stats["changes"] = {c: sum(1 for r in results if r.change == c) for c in CheckResult.Change.values}
        stats.update(timings)
        with transaction.atomic():
            CheckResult.objects.bulk_create(results, batch_size=2000)
            run.snapshots.set([s for s in snapshots.values() if s])
            tracker.complete(parameters=record, stats=stats, households=stats["households"])
    return run


STATS = ("households", "authorised", "dibao", "edge", "tekun", "tekun_pending", "rigid", "unconfigured")
# The result columns the counts read (on Spark, all that comes back for the households that are not recipients).
COUNTED = ("authorisation_id", "configured", "dibao", "edge", "tekun", "tekun_pending", "rigid")


def _count(stats: dict, batch: pa.RecordBatch | pa.Table) -> None:
    """Add a batch of verdicts to the run's counts."""

    def count(col):
        return int(pc.sum(batch.column(col).cast(pa.int64())).as_py() or 0)

    stats["households"] += batch.num_rows
    stats["authorised"] += batch.num_rows - batch.column("authorisation_id").null_count
    for verdict in ("dibao", "edge", "tekun", "tekun_pending", "rigid"):
        stats[verdict] += count(verdict)
    stats["unconfigured"] += batch.num_rows - count("configured")


def _compare(result: CheckResult, current: Decimal) -> None:
    """The recipient's change, from the verdict stored on the result (`verdicts.change`): one computation."""
    result.previous_amount = current
    result.change, result.change_amount, _new = verdicts.change(result.judged(), current)


# The differences that call for a 复核 case: the benefit would stop or its amount change. 未核对 (no valid
# authorisation) is a different follow-up (renew the authorisation), not a review.
REVIEW_CHANGES = (CheckResult.Change.STOP, CheckResult.Change.INCREASE, CheckResult.Change.DECREASE)


def flagged(user, run: CheckRun) -> list[int]:
    """The households of a batch re-check whose difference calls for a review (stop, amount up or down)."""
    return sorted(
        set(
            CheckResult.objects.for_user(user)
            .filter(run=run, change__in=REVIEW_CHANGES)
            .values_list("household_id", flat=True)
        )
    )


def reviews_to_open(user, run: CheckRun) -> int:
    """How many of the flagged households would get a review now (still receiving, no review open)."""
    from minzheng.benefits import reviews

    return len(reviews.to_open(user, flagged(user, run)))


def open_reviews(user, run_id: int, today: datetime.date | None = None) -> dict:
    """复核 cases (the case workflow: home visit, decision, notice) for the households a completed batch re-check
    flagged, opened by a county officer; households no longer receiving 低保/特困, or with a review already open,
    are skipped. Nothing about the benefit changes here. {"opened": [case numbers], "skipped": n, "failed": […]}."""
    from minzheng.benefits import reviews
    from minzheng.core.errors import PermissionDeniedError
    from minzheng.regions import codes

    require(user, Capability.RUN_CHECKS)
    require(user, Capability.EDIT_PEOPLE)
    if user.region.level > codes.COUNTY:
        raise PermissionDeniedError("批量复核发现的差异由县级民政部门统一发起复核", "forbidden")
    run = CheckRun.objects.get_for_user(user, pk=run_id)
    if run.kind != "batch" or run.status != CheckRun.Status.COMPLETE:
        raise DomainError("批量复核尚未完成，不能据此发起复核", "not_complete")
    households = flagged(user, run)
    if not households:
        raise DomainError("本次批量复核没有需要复核的差异家庭（拟停保、金额增加或减少）", "nothing_to_review")
    reason = f"批量复核第 {run.pk} 次（核对基准日 {run.as_of:%Y-%m-%d}）发现差异，需入户核实"
    with transaction.atomic():
        result = reviews.open_for_households(user, households, reason, today=today)
        audit.record(
            audit.Action.CREATE,
            user=user,
            obj=run,
            label=f"批量复核差异发起复核 {run.pk}",
            detail={"action": "open_reviews", "opened": result["opened"], "skipped": result["skipped"]},
        )
    return result


def differences(user, run_id: int):
    """The recipients whose status would change, for officers to review (nothing changes automatically)."""
    require(user, Capability.VIEW_CHECKS)
    run = CheckRun.objects.get_for_user(user, pk=run_id)
    qs = CheckResult.objects.for_user(user).filter(run=run).select_related("household", "household__head", "region")
    return run, qs

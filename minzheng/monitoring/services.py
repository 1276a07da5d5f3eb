"""Low-income monitoring operations (DOMAIN.md §4, JC): keeping the register of monitored people, the sweep that
turns signals into warnings, and each warning's follow-up (visit, outcome, the case or referral it leads to).
The only place monitoring state changes."""

import datetime
import functools
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pyarrow as pa
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit, batching, runs, spark
from minzheng.core.errors import Conflict, DomainError, PermissionDeniedError
from minzheng.core.workdays import Deadline, WorkingCalendar
from minzheng.policy.parameters import resolve
from minzheng.regions import codes
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Membership

from . import texts
from .engine import SweepRunner
from .models import Alert, Category, EntrySource, MonitoredEntry, Outcome, Sweep, Visit

JOB = "minzheng.monitoring.services.run_sweep"
_BATCH = 2000
_IN_BATCH = batching.IN_BATCH  # ids per `IN (…)` list (tests make it 1)


def _in_batches(ids) -> Iterator[list[int]]:
    return batching.in_batches(ids, _IN_BATCH)


def _current_members(household_ids) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for batch in _in_batches(household_ids):
        current = Membership.objects.filter(household_id__in=batch, left_on__isnull=True)
        for hid, pid in current.values_list("household_id", "person_id"):
            members.setdefault(hid, []).append(pid)
    return members


# ------------------------------------------------------------------------------------------------------ the register


def _case_categories(
    low: str, high: str, on: datetime.date
) -> dict[tuple[int, str], tuple[int, int, str, str, datetime.date]]:
    """(person, category) -> (household, region, source, reference, start) from the latest decisions: a household's
    latest approved 低保/特困 case, unless a later 动态复核 stopped it. 低保 covers every current member; 特困 the
    person supported (the applicant)."""
    from minzheng.cases import workflows as wf
    from minzheng.cases.models import Case

    decided = Case.objects.filter(
        region_id__gte=low,
        region_id__lte=high,
        service__workflow__in=("dibao", "tekun", "review"),
        state__in=(wf.APPROVED, wf.REFUSED),
        decided_on__lte=on,
    ).values_list(
        "id",
        "household_id",
        "applicant_id",
        "region_id",
        "service__workflow",
        "state",
        "number",
        "decided_on",
        "start_month",
    )
    latest_grant: dict[int, tuple] = {}
    latest_review: dict[int, tuple] = {}
    for row in decided.order_by("id"):
        _pk, household, _applicant, _region, workflow, state, *_ = row
        if workflow == "review":
            latest_review[household] = row
        elif state == wf.APPROVED:
            latest_grant[household] = row
    wanted = {}
    members = _current_members(latest_grant)
    for household, (pk, _h, applicant, region, workflow, _s, number, decided_on, start) in latest_grant.items():
        review = latest_review.get(household)
        if review and review[0] > pk and review[5] == wf.REFUSED:
            continue  # stopped by a later review
        category = Category.TEKUN if workflow == "tekun" else Category.DIBAO
        people = [applicant] if workflow == "tekun" else members.get(household, [])
        for person in people:
            wanted[(person, category)] = (household, region, EntrySource.CASE, number, start or decided_on)
    return wanted


def _check_categories(region_code: str) -> dict[tuple[int, str], tuple[int, int, str, str, datetime.date]]:
    """低保边缘 and 刚性支出困难 from each household's latest check, for households not receiving 低保/特困."""
    from minzheng.checks.models import CheckResult

    from .inputs import latest_checks

    results = CheckResult.objects.filter(pk__in=latest_checks(region_code)).filter(Q(edge=True) | Q(rigid=True))
    rows = list(results.values_list("id", "household_id", "region_id", "edge", "rigid", "dibao", "run__as_of"))
    members = _current_members(r[1] for r in rows)
    wanted = {}
    for pk, household, region, edge, _rigid, dibao, as_of in rows:
        if dibao:
            continue
        category = Category.EDGE if edge else Category.RIGID
        for person in members.get(household, []):
            wanted[(person, category)] = (household, region, EntrySource.CHECK, f"核对结果#{pk}", as_of)
    return wanted


def sync_register(region_code: str, on: datetime.date) -> dict:
    """Bring the register in line with the decisions and checks: open entries for people newly in a category, close
    those no longer in it (history is kept). Entries from imports and manual registration are left alone."""
    low, high = codes.subtree_range(region_code)
    wanted = _check_categories(region_code)
    wanted.update(_case_categories(low, high, on))  # a decision outranks a check
    if any(c == Category.DIBAO for _p, c in wanted):
        # A 低保 household is not also "on the edge".
        recipients = {w[0] for (_p, c), w in wanted.items() if c in (Category.DIBAO, Category.TEKUN)}
        wanted = {
            k: w for k, w in wanted.items() if not (k[1] in (Category.EDGE, Category.RIGID) and w[0] in recipients)
        }
    automatic = MonitoredEntry.objects.filter(
        end_on__isnull=True, region_id__gte=low, region_id__lte=high, source__in=(EntrySource.CASE, EntrySource.CHECK)
    )
    current = {(p, c): pk for pk, p, c in automatic.values_list("id", "person_id", "category")}
    stale = [pk for key, pk in current.items() if key not in wanted]
    taken = set()
    for batch in _in_batches(p for p, _c in wanted):
        open_ = MonitoredEntry.objects.filter(end_on__isnull=True, person_id__in=batch)
        taken.update(open_.values_list("person_id", "category"))
    new = [
        MonitoredEntry(
            person_id=p,
            household_id=h,
            region_id=r,
            category=c,
            start_on=min(start, on),
            source=source,
            reference=ref,
        )
        for (p, c), (h, r, source, ref, start) in wanted.items()
        if (p, c) not in current and (p, c) not in taken
    ]
    with transaction.atomic():
        for batch in _in_batches(stale):
            MonitoredEntry.objects.filter(pk__in=batch).update(
                end_on=on, end_reason="审批决定或核对结果已不再属于该类别"
            )
        MonitoredEntry.objects.bulk_create(new, batch_size=_BATCH)
    return {"register_opened": len(new), "register_closed": len(stale)}


def register_entry(
    user, *, person_id: int, category: str, start_on: datetime.date, reference: str = ""
) -> MonitoredEntry:
    """人工登记 an 其他困难人员 (or any category managed outside the platform) found on foot."""
    require(user, Capability.HANDLE_WARNINGS)
    if category not in Category.values:
        raise DomainError("请选择监测类别", "invalid_category", field="category")
    membership = (
        Membership.objects.for_user(user)
        .filter(person_id=person_id, left_on__isnull=True)
        .select_related("household")
        .first()
    )
    if membership is None:
        raise DomainError("该人员不在您辖区的家庭中", "not_found", field="person")
    if start_on > timezone.localdate():
        raise DomainError("纳入日期不能晚于今天", "future_date", field="start_on")
    if MonitoredEntry.objects.filter(person_id=person_id, category=category, end_on__isnull=True).exists():
        raise Conflict("该人员已在此监测类别中", "duplicate_entry")
    with transaction.atomic():
        entry = MonitoredEntry.objects.create(
            person_id=person_id,
            household=membership.household,
            region_id=membership.household.region_id,
            category=category,
            start_on=start_on,
            source=EntrySource.MANUAL,
            reference=reference[:100],
        )
        audit.record(audit.Action.CREATE, user=user, obj=entry, label=f"纳入监测：{entry.get_category_display()}")
    return entry


def _apply_anti_poverty(changes: pa.Table, regions: dict[int, str], on: datetime.date) -> dict:
    """The 防返贫 list is managed by 乡村振兴: its deliveries open and close that category's entries."""
    opened = closed = 0
    identified = [r for r in changes.to_pylist() if r["code"] == "identified"]
    eliminated = [r["person_key"] for r in changes.to_pylist() if r["code"] == "eliminated"]
    anti_poverty = MonitoredEntry.objects.filter(category=Category.ANTI_POVERTY, end_on__isnull=True)
    for batch in _in_batches(eliminated):
        closed += anti_poverty.filter(person_id__in=batch).update(end_on=on, end_reason="乡村振兴部门：风险消除")
    if identified:
        present = set()
        for batch in _in_batches(r["person_key"] for r in identified):
            present.update(anti_poverty.filter(person_id__in=batch).values_list("person_id", flat=True))
        new = [
            MonitoredEntry(
                person_id=r["person_key"],
                household_id=r["household_key"],
                region_id=regions[r["household_key"]],
                category=Category.ANTI_POVERTY,
                start_on=min(r["event_on"], on),
                source=EntrySource.IMPORT,
                reference=f"部门数据快照#{r['snapshot_id']}",
            )
            for r in identified
            if r["person_key"] not in present and r["household_key"] in regions
        ]
        MonitoredEntry.objects.bulk_create(new, batch_size=_BATCH)
        opened = len(new)
    return {"anti_poverty_opened": opened, "anti_poverty_closed": closed}


# ------------------------------------------------------------------------------------------------------- the sweep


def start_sweep(user, region_code: str, as_of: datetime.date, *, enqueue: bool = True) -> Sweep:
    """Queue a monitoring sweep of a region (the page, the API, the command and the nightly schedule call this)."""
    if user is not None:
        require(user, Capability.RUN_MONITORING)
    region = Region.objects.by_code(region_code)
    if user is not None and not (user.region and user.region.contains(region.code)):
        raise PermissionDeniedError("只能对本辖区运行监测比对", "forbidden")
    if as_of > timezone.localdate():
        raise DomainError("比对基准日不能晚于今天", "future_date", field="as_of")
    sweep = runs.create(
        Sweep,
        user=user,
        label=f"监测比对 {region.name}",
        region_code=region.code,
        detail={"as_of": as_of.isoformat()},
        region=region,
        as_of=as_of,
    )
    if enqueue:
        runs.enqueue(JOB, sweep, f"监测比对 {sweep.pk}")
    return sweep


def sweeps_for(user):
    """Sweeps a user may see: of their region, a region under it, or a region above it (which covered it)."""
    if not has_capability(user, Capability.RUN_MONITORING):
        require(user, Capability.VIEW_MONITORING)
    low, high = user.region.subtree_range()
    above = [r.code for r in user.region.ancestors()]
    return Sweep.objects.filter(Q(region_id__gte=low, region_id__lte=high) | Q(region_id__in=above)).select_related(
        "region"
    )


def run_sweep(sweep_id: int, progress: Callable[[int, str], None] | None = None, engine: str | None = None) -> Sweep:
    """Execute a queued sweep: sync the register, read every pending signal, evaluate all rules in one pass, and
    store the new warnings with their tasks in one transaction. A crash leaves the sweep failed and nothing of it
    visible; running again (or a new sweep) picks the same signals up, and nothing is raised twice. `engine` is
    "duckdb" or "spark" (default: settings.CHECKS_ENGINE)."""
    sweep = Sweep.objects.select_related("region").get(pk=sweep_id)
    if sweep.status == Sweep.Status.COMPLETE:
        return sweep
    region = sweep.region.code
    with runs.tracked(sweep, progress) as tracker:
        from . import inputs

        engine = spark.engine(engine)

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        tracker.progress(5, "更新监测对象名册")
        stats = sync_register(region, sweep.as_of)
        tracker.progress(15, "读取监测对象与新信号")
        sweep_inputs, record, pending = inputs.for_region(region, sweep.as_of)
        timings["read_seconds"] = round(time.perf_counter() - t0, 3)
        tracker.progress(40, f"比对 {len(pending)} 批部门信号")
        t1 = time.perf_counter()
        if engine == "spark":
            from .spark import SparkSweepRunner

            runner = SparkSweepRunner()
        else:
            runner = SweepRunner()
        try:
            runner.bind(sweep_inputs)
            out = runner.run()
            anti_poverty = runner.anti_poverty_changes()
        finally:
            runner.close()
        timings["engine_seconds"] = round(time.perf_counter() - t1, 3)
        tracker.progress(75, f"生成 {out.warnings.num_rows} 条预警")
        t2 = time.perf_counter()
        alerted = set(out.warnings.column("household_key").to_pylist()) | set(
            anti_poverty.column("household_key").to_pylist()
        )
        regions = _household_regions(alerted)
        with transaction.atomic():
            stats.update(_apply_anti_poverty(anti_poverty, regions, sweep.as_of))
            stats["by_rule"] = _store_alerts(sweep, out.warnings, regions)
            sweep.snapshots.set(pending)
            stats.update(out.stats)
            stats["engine"] = engine
            timings["write_seconds"] = round(time.perf_counter() - t2, 3)
            stats.update(timings)
            tracker.complete(parameters=record, stats=stats)
    return sweep


def _household_regions(household_ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for batch in _in_batches(household_ids):
        out.update(Household.objects.filter(pk__in=batch).values_list("id", "region_id"))
    return out


def _heads(household_ids: list[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for batch in _in_batches(household_ids):
        out.update(Household.objects.filter(pk__in=batch).values_list("id", "head_id"))
    return out


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    next_first = datetime.date(year + month // 12, month % 12 + 1, 1)
    return day.replace(year=year, month=month, day=min(day.day, (next_first - datetime.timedelta(days=1)).day))


def _insert(model, values: list[dict]) -> None:
    """Insert many rows in batches with one prepared statement: what bulk_create does, without building a model
    object per row (a night's sweep may raise hundreds of thousands of warnings). Dates and JSON are adapted the way
    the field would adapt them for this database; text, numbers and booleans go in as they are."""
    if not values:
        return
    db = connections[router.db_for_write(model)]  # the wrapper itself: no per-value proxy lookups
    names = list(values[0])
    fields = [model._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name) for name in names]
    # A sweep's rows share a handful of dates and one timestamp: adapt each distinct value once.
    adapt = {
        "DateField": functools.lru_cache(maxsize=4096)(db.ops.adapt_datefield_value),
        "DateTimeField": functools.lru_cache(maxsize=16)(db.ops.adapt_datetimefield_value),
    }
    prepare = []
    for f in fields:
        kind = f.get_internal_type()
        if kind == "JSONField":
            prepare.append(lambda v, f=f: f.get_db_prep_value(v, db))
        else:
            prepare.append(adapt.get(kind))
    table = db.ops.quote_name(model._meta.db_table)
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"

    def row_values(row: dict) -> tuple:
        return tuple(row[n] if p is None else p(row[n]) for n, p in zip(names, prepare, strict=True))

    with db.cursor() as cursor:
        for start in range(0, len(values), 5000):
            cursor.executemany(sql, [row_values(row) for row in values[start : start + 5000]])


# Each task level's working-day limit.
TASK_DAYS = {Alert.Level.VILLAGE: "monitoring.task_wd", Alert.Level.COUNTY: "monitoring.county_task_wd"}


def task_due(
    region_code: str,
    level: str,
    raised: datetime.date,
    calendar: WorkingCalendar | None = None,
    on: datetime.date | None = None,
) -> Deadline:
    """The task deadline for a warning raised on `raised`, from the level's working-day limit in force on `on`
    (the sweep's as-of day; default the day raised)."""
    days = int(resolve(TASK_DAYS[level], region_code, on or raised).value)
    return (calendar or WorkingCalendar()).add_working_days(raised, days)


def _store_alerts(sweep: Sweep, table: pa.Table, regions: dict[int, str]) -> dict[str, int]:
    """The new warnings and their tasks, with working-day deadlines per county and level."""
    rows = table.to_pylist()
    if not rows:
        return {}
    calendar = WorkingCalendar()
    on = sweep.as_of
    raised = timezone.localdate()
    deadlines: dict[tuple[int, str], tuple[datetime.date, bool, int]] = {}
    for county in {r["county"] for r in rows}:
        code = f"{county:06d}000000"
        review_months = int(resolve("dibao.post_death_review_months", code, on).value)
        for level in TASK_DAYS:
            d = task_due(code, level, raised, calendar, on=on)
            deadlines[(county, level)] = (d.due, d.provisional, review_months)
    heads = _heads(sorted({r["household_key"] for r in rows if r["person_key"] is None}))
    counts: dict[str, int] = {}
    now = timezone.now()
    values = []
    complex_households = set()
    for i, r in enumerate(rows, start=1):
        level = Alert.Level.COUNTY if r["outcome"] == Outcome.COMPLEX else Alert.Level.VILLAGE
        if level == Alert.Level.COUNTY:
            complex_households.add(r["household_key"])
        due, provisional, review_months = deadlines[(r["county"], level)]
        action_due = None
        if r["rule"] == "death_member" and r["category"] in (Category.DIBAO, Category.TEKUN):
            action_due = _add_months(r["signal_on"], review_months)
        counts[r["rule"]] = counts.get(r["rule"], 0) + 1
        values.append(
            {
                "number": f"YJ{raised:%Y}{sweep.pk:05d}{i:07d}",
                "household_id": r["household_key"],
                "person_id": r["person_key"] if r["person_key"] is not None else heads.get(r["household_key"]),
                "region_id": regions[r["household_key"]],
                "rule": r["rule"],
                "signal_key": r["signal_key"],
                "suggested_outcome": r["outcome"],
                "level": level,
                "summary": texts.summary(r)[:300],
                "detail": texts.detail(r),
                "evidence": [{"source": r["feed"], "snapshot": r["snapshot_id"], "row_no": r["row_no"]}],
                "signal_on": r["signal_on"],
                "raised_on": raised,
                "due_on": due,
                "due_provisional": provisional,
                "action_due_on": action_due,
                "sweep_id": sweep.pk,
                "status": Alert.Status.OPEN,
                "outcome": "",
                "closing_note": "",
                "created_at": now,
                "version": 1,
            }
        )
    _insert(Alert, values)
    # A household now complex: its warnings still open at the village go to the county with the new one (一事一议 looks
    # at the household as a whole).
    complex_households = sorted(complex_households)
    for start in range(0, len(complex_households), 900):
        Alert.objects.filter(
            household_id__in=complex_households[start : start + 900], level=Alert.Level.VILLAGE
        ).exclude(status=Alert.Status.CLOSED).update(level=Alert.Level.COUNTY)
    audit.record(
        audit.Action.CREATE,
        object_type="sweep",
        object_id=sweep.pk,
        label=f"监测比对生成预警 {len(values)} 条",
        region_code=sweep.region_id,
        detail={"username": "system", "by_rule": counts},
    )
    return counts


# ------------------------------------------------------------------------------------------------- the follow-up


def alerts_for(user):
    require(user, Capability.VIEW_MONITORING)
    return Alert.objects.for_user(user).select_related("household", "person", "region", "case")


def view_alert(user, alert_id: int) -> Alert:
    """One warning with its household and person (personal data: the view is audited)."""
    alert = alerts_for(user).get_for_user(user, pk=alert_id)
    audit.record(audit.Action.VIEW, user=user, obj=alert)
    return alert


def _handle(user, alert_id: int, expected_version: int | None) -> Alert:
    require(user, Capability.HANDLE_WARNINGS)
    alert = Alert.objects.select_related("household", "region").get_for_user(user, pk=alert_id)
    if alert.status == Alert.Status.CLOSED:
        raise DomainError("该预警已办结", "closed")
    if alert.level == Alert.Level.COUNTY and user.region.level > codes.COUNTY:
        raise PermissionDeniedError("情况复杂的预警由县级民政部门“一事一议”处置，乡镇、村可登记走访情况", "forbidden")
    claimed = Alert.objects.filter(pk=alert.pk, version=alert.version if expected_version is None else expected_version)
    if claimed.update(version=alert.version + 1) != 1:
        raise Conflict("该预警已被他人处理，请刷新后重试", "stale_version")
    alert.version += 1
    return alert


def _date(raw, label: str, field: str) -> datetime.date:
    if isinstance(raw, datetime.date):
        day = raw
    else:
        try:
            day = datetime.date.fromisoformat(str(raw or "").strip())
        except ValueError:
            raise DomainError(f"{label}格式错误，应为 YYYY-MM-DD", "invalid_date", field=field) from None
    if day > timezone.localdate():
        raise DomainError(f"{label}不能晚于今天", "future_date", field=field)
    return day


def record_visit(
    user,
    alert_id: int,
    *,
    visited_on,
    finding: str,
    notes: str,
    needs: str = "",
    expected_version: int | None = None,
) -> Visit:
    """铁脚板摸排: the assistant's home-visit result. Complex warnings too may be visited locally."""
    require(user, Capability.HANDLE_WARNINGS)
    alert = Alert.objects.get_for_user(user, pk=alert_id)
    if alert.status == Alert.Status.CLOSED:
        raise DomainError("该预警已办结", "closed")
    day = _date(visited_on, "走访日期", "visited_on")
    if day < alert.raised_on:
        raise DomainError(f"走访日期不能早于预警日期（{alert.raised_on:%Y-%m-%d}）", "invalid_date", field="visited_on")
    if finding not in Visit.Finding.values:
        raise DomainError("请选择核实结论", "invalid_finding", field="finding")
    notes = (notes or "").strip()
    if not notes:
        raise DomainError("请填写走访情况", "required", field="notes")
    with transaction.atomic():
        # Compare-and-set only when the client sent the version it saw; a visit posted without one is recorded
        # whatever was done meanwhile (two visits do not contradict each other), unless the warning was closed.
        claimed = Alert.objects.filter(pk=alert.pk).exclude(status=Alert.Status.CLOSED)
        if expected_version is not None:
            claimed = claimed.filter(version=expected_version)
        if claimed.update(version=F("version") + 1, status=Alert.Status.VISITED) != 1:
            if expected_version is None:
                raise DomainError("该预警已办结", "closed")
            raise Conflict("该预警已被他人处理，请刷新后重试", "stale_version")
        visit = Visit.objects.create(
            alert=alert,
            visited_on=day,
            finding=finding,
            notes=notes[:4000],
            needs=(needs or "").strip()[:300],
            visitor=user,
        )
        audit.record(audit.Action.UPDATE, user=user, obj=alert, detail={"action": "visit", "finding": finding})
    return visit


def close_alert(
    user,
    alert_id: int,
    *,
    outcome: str,
    note: str,
    action: str = "none",
    service_code: str = "",
    department: str = "",
    expected_version: int | None = None,
    today: datetime.date | None = None,
):
    """办结: record the outcome reached and act on it — open the case (a proactive application draft, or a 动态复核
    case), refer to another department, or record only (e.g. the visit found nothing to do)."""
    from minzheng.cases import referrals
    from minzheng.cases import services as cases
    from minzheng.cases.models import Channel, Referral

    if outcome not in Outcome.values:
        raise DomainError("请选择处置结果", "invalid_outcome", field="outcome")
    note = (note or "").strip()
    if not note:
        raise DomainError("请填写处置说明", "required", field="note")
    if action not in ("case", "referral", "none"):
        raise DomainError("请选择处置方式", "invalid_action", field="action")
    today = today or timezone.localdate()
    with transaction.atomic():
        alert = _handle(user, alert_id, expected_version)
        if not alert.visits.exists() and action != "none" and alert.suggested_outcome != Outcome.COMPLEX:
            raise DomainError("请先登记入户核实情况，再办结预警", "visit_required")
        case = referral = None
        if action == "case":
            if not service_code:
                raise DomainError("请选择要办理的服务事项", "invalid_service", field="service_code")
            applicant = _applicant(alert)
            case = cases.open_application(
                user,
                household_id=alert.household_id,
                service_code=service_code,
                applicant_id=applicant,
                channel=Channel.PROACTIVE,
                note=f"由监测预警 {alert.number} 主动发现：{alert.summary}",
                today=today,
                due_on=alert.action_due_on,  # e.g. the 复核 within N months of a member's death
            )
        elif action == "referral":
            if department not in Referral.Department.values:
                raise DomainError("请选择转介部门", "invalid_department", field="department")
            referral = referrals.refer(
                user,
                household_id=alert.household_id,
                department=department,
                need=f"监测预警 {alert.number}：{alert.summary}。{note}",
                today=today,
            )
        Alert.objects.filter(pk=alert.pk).update(
            status=Alert.Status.CLOSED,
            outcome=outcome,
            closing_note=note[:4000],
            closed_on=today,
            closed_by=user,
            case=case,
            referral=referral,
        )
        audit.record(
            audit.Action.UPDATE,
            user=user,
            obj=alert,
            detail={
                "action": "close",
                "outcome": outcome,
                "case": case.number if case else "",
                "referral": referral.pk if referral else "",
            },
        )
    alert.refresh_from_db()
    return alert


# Rules whose person is gone from the household (died, moved out, imprisoned): they cannot apply for it.
_PERSON_GONE = ("death_member", "registration_change")


def _applicant(alert: Alert) -> int:
    """Who the case is opened for: the person concerned, unless the warning is about their leaving the household —
    then the head, or, if the head is the one who left, another current member."""
    members = list(
        Membership.objects.filter(household=alert.household, left_on__isnull=True)
        .order_by("relationship", "id")
        .values_list("person_id", flat=True)
    )
    gone = alert.person_id if alert.rule in _PERSON_GONE else None
    for candidate in (None if gone else alert.person_id, alert.household.head_id, *members):
        if candidate and candidate != gone and candidate in members:
            return candidate
    raise DomainError("该家庭已无其他现有成员，无法发起申请，请转县级“一事一议”处置", "no_applicant")


def can_close(user, alert: Alert) -> bool:
    if not has_capability(user, Capability.HANDLE_WARNINGS) or alert.status == Alert.Status.CLOSED:
        return False
    return alert.level != Alert.Level.COUNTY or user.region.level <= codes.COUNTY


def amount_label(cents: int | None) -> str:
    return "" if cents is None else f"{Decimal(cents) / 100:,.2f}"

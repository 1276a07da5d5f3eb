"""Monthly payment rolls (发放名册, DOMAIN.md §11): set-based preparation with the pre-payment comparison, held lines
released or stopped by officers, maker–checker approval that freezes the roll (the hash of its lines in the audit
chain), export in the agent bank's layout, the bank's return, and supplementary rolls (补发批次) for failed lines.

Preparation is a `core.runs` batch run: every line is written by INSERT … SELECT statements in one transaction with
the run's completion, so a preparation killed midway leaves nothing, and preparing the same month again replaces the
prepared (not yet approved) roll with the same lines.
"""

import datetime
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit, runs
from minzheng.core.batching import in_batches
from minzheng.core.errors import Conflict, DomainError, PermissionDeniedError
from minzheng.core.months import add_months, first_of_month
from minzheng.core.scoping import in_scope
from minzheng.regions import codes
from minzheng.regions.models import Region
from minzheng.registry.models import Household

from . import prepayment
from .kinds import TYPES
from .models import (
    Entitlement,
    LineState,
    PaymentLine,
    PaymentRoll,
    Recovery,
    RollFact,
    RollRun,
)

ARREARS_LOOKBACK_MONTHS = 36  # how far back owed months are looked for (a decision older than this is a case file)


def _date(value: datetime.date):
    return value if connection.vendor == "postgresql" else value.isoformat()


def parse_month(raw) -> datetime.date:
    if isinstance(raw, datetime.date):
        return first_of_month(raw)
    text = str(raw or "").strip()
    try:
        year, month = (int(p) for p in text[:7].split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        raise DomainError(f"发放月份“{text}”格式错误，应为 YYYY-MM，例如 2027-01", "invalid_month") from None


# ---------------------------------------------------------------- preparation


def start_preparation(user, region_code: str, month, *, enqueue: bool = True) -> RollRun:
    """Queue the month's rolls for a region (page, command line or the monthly schedule with user None)."""
    month = parse_month(month)
    if user is not None:
        require(user, Capability.PREPARE_ROLLS)
    region = Region.objects.by_code(region_code)
    if region.level > codes.COUNTY:
        raise DomainError("发放名册按县（市、区）编制，请选择县级或以上区划", "region_level")
    if user is not None and not in_scope(user, region.code):
        raise PermissionDeniedError("只能编制本辖区的发放名册", "forbidden")
    if month > add_months(first_of_month(timezone.localdate()), 1):
        raise DomainError("只能编制本月或下月的发放名册", "future_month")
    run = runs.create(
        RollRun,
        user=user,
        label=f"编制发放名册 {region.name} {month:%Y-%m}",
        region_code=region.code,
        detail={"month": month.isoformat()},
        region=region,
        month=month,
    )
    if enqueue:
        runs.enqueue("minzheng.benefits.rolls.prepare", run, f"发放名册 {run.pk}")
    return run


_PAYABLE_VERSION = (
    "(SELECT v.id FROM benefits_entitlementversion v WHERE v.entitlement_id = e.id AND v.effective_from <= {month}"
    " ORDER BY v.effective_from DESC, v.id DESC LIMIT 1)"
)

# The roll is joined with CROSS JOIN and its conditions are in WHERE: the same inner join, but SQLite then keeps the
# entitlements as the outer loop (it would otherwise start from the few rolls and reach the entitlements through the
# benefit index — a random read per entitlement, per roll and, for arrears, per month). `{scope}` selects the
# entitlements (its placeholders: low, high and the scope's own), `{extra}` narrows owed months.
_INSERT = (
    "INSERT INTO benefits_paymentline (roll_id, entitlement_id, household_id, person_id, region_id, benefit, month,"
    " kind, amount_fen, recipient_name, recipient_id_number, bank_name, bank_account, account_holder, state,"
    " hold_reasons, hold_note, bank_reason)"
    " SELECT r.id, e.id, e.household_id, p.id, e.region_id, e.benefit, {line_month}, %s, v.amount_fen, p.name,"
    " p.id_number, h.bank_name, h.bank_account, h.account_holder, 'pending', '', '', ''"
    " FROM benefits_entitlement e {months}"
    " CROSS JOIN benefits_paymentroll r"
    " JOIN benefits_entitlementversion v ON v.id = " + _PAYABLE_VERSION.format(month="{line_month}") + ""
    " JOIN registry_household h ON h.id = e.household_id"
    " JOIN registry_person p ON p.id = COALESCE(e.person_id, h.head_id)"
    " WHERE r.run_id = %s AND r.benefit = e.benefit AND r.county_id = substr(e.region_id, 1, 6) || '000000'"
    " AND {scope} AND e.start_month <= {line_month}"
    " AND v.status IN ('active', 'taper') AND v.amount_fen > 0 {extra}"
)

# A month already on an approved roll is settled: approval moves the entitlement's `settled_through` to the roll's
# month (`_settle`), so the regular month needs no look at the lines (one index probe per line saved); the owed
# months, few, are also compared with the lines. Paying a month twice stays impossible in any case: the unique
# constraint `line_paid_once` refuses the second approval.
_NOT_SETTLED = "AND (e.settled_through IS NULL OR e.settled_through < %s)"
_NOT_PAID = (
    "AND NOT EXISTS (SELECT 1 FROM benefits_paymentline l WHERE l.entitlement_id = e.id AND l.month = mm.m"
    " AND l.state IN ('approved', 'paid'))"
)


def _candidates(low: str, high: str, month: datetime.date) -> list[tuple[str, str]]:
    """(county code, benefit) pairs with something to pay this month, regular or owed: each county of the region
    and each benefit type asked once through the (region, benefit, status) index — a few hundred probes, where
    listing the distinct pairs present would read the index entry of every entitlement."""
    earliest = add_months(month, -ARREARS_LOOKBACK_MONTHS)
    # A roll's county is the first six digits of its villages' codes, as the line INSERT derives it (a city without
    # counties, such as 东莞市, is its own county-level unit).
    townships = Region.objects.filter(code__gte=low, code__lte=high, level=codes.TOWNSHIP).values_list(
        "code", flat=True
    )
    found = []
    for county in sorted({code[:6] + "000000" for code in townships}):
        county_low, county_high = codes.subtree_range(county)
        for benefit in sorted(TYPES):
            if (
                Entitlement.objects.filter(
                    region_id__gte=max(low, county_low),
                    region_id__lte=min(high, county_high),
                    benefit=benefit,
                    start_month__lte=month,
                )
                .filter(Q(end_month__isnull=True) | Q(end_month__gte=earliest))
                .exists()
            ):
                found.append((county, benefit))
    return found


def prepare(run_id: int, progress: Callable[[int, str], None] | None = None, *, fail_after: str = "") -> RollRun:
    """Execute a queued preparation. `fail_after` (tests) raises after the named step, inside the transaction."""
    run = RollRun.objects.select_related("region", "started_by").get(pk=run_id)
    month = run.month
    low, high = codes.subtree_range(run.region.code)
    with runs.tracked(run, progress) as tracker:
        tracker.progress(5, "确定待发放的县与待遇")
        with transaction.atomic():
            pairs = _candidates(low, high, month)
            rolls, skipped = [], []
            for county, benefit in pairs:
                roll = PaymentRoll.objects.filter(
                    county_id=county, benefit=benefit, month=month, kind=PaymentRoll.Kind.REGULAR, seq=0
                ).first()
                if roll is not None and roll.state != PaymentRoll.State.PREPARED:
                    skipped.append(roll.pk)
                    continue
                if roll is None:
                    roll = PaymentRoll.objects.create(county_id=county, benefit=benefit, month=month)
                else:  # prepared again: the same roll, its lines written anew from the same data
                    Recovery.objects.filter(line__roll=roll).delete()
                    PaymentLine.objects.filter(roll=roll).delete()
                PaymentRoll.objects.filter(pk=roll.pk).update(
                    run=run, prepared_by=run.started_by, prepared_at=timezone.now(), state=PaymentRoll.State.PREPARED
                )
                rolls.append(roll.pk)
            _step(fail_after, "rolls")
            tracker.progress(20, "读取死亡、财政供养等部门数据")
            with connection.cursor() as cursor:
                hint = _scan_hint(cursor, low, high)
                _large_cache(cursor)
            facts = prepayment.gather_facts(run, run.region.code, month, hint=hint)
            tracker.progress(35, "生成当月发放明细")
            with connection.cursor() as cursor:
                # Placeholders in statement order: line month, kind, month (version in force), run, low, high,
                # month (started), month (not settled).
                cursor.execute(
                    _INSERT.format(
                        line_month="%s",
                        months="",
                        extra=_NOT_SETTLED,
                        scope=f"{hint}e.region_id >= %s AND {hint}e.region_id <= %s",
                    ),
                    [_date(month), "regular", _date(month), run.pk, low, high, _date(month), _date(month)],
                )
                regular_count = cursor.rowcount
                _step(fail_after, "regular")
                tracker.progress(55, "补发欠发月份")
                arrears_count = _insert_arrears(cursor, run, month, low, high, hint)
            tracker.progress(65, "发放前比对")
            holds = prepayment.apply_holds(run.pk)
            _step(fail_after, "holds")
            recoveries = _death_recoveries(run)
            tracker.progress(85, "汇总名册金额")
            refresh_totals(rolls)
            stats = {
                "rolls": len(rolls),
                "skipped_rolls": skipped,
                "regular_lines": regular_count,
                "arrears_lines": arrears_count,
                "holds": holds,
                "recoveries": recoveries,
                **facts,
            }
            tracker.complete(stats=stats)
    return run


def _step(fail_after: str, step: str) -> None:
    if fail_after == step:
        raise RuntimeError(f"测试：在“{step}”之后中断")


def _large_cache(cursor) -> None:
    """SQLite's default page cache (2 MB) is far smaller than a county's lines and their indexes: for the preparation
    the connection gets up to 256 MB (memory used only as pages are read; PostgreSQL has shared buffers)."""
    if connection.vendor == "sqlite":
        cursor.execute("PRAGMA cache_size = -262144")


def _scan_hint(cursor, low: str, high: str) -> str:
    """SQLite reads the region's entitlements through the region index even when the region holds most of them (it
    keeps no statistics): then the rows come in region order, one random page read each. When the region holds more
    than a fifth of all entitlements, the unary `+` makes it scan the table in rowid order instead (PostgreSQL
    chooses by its statistics; no hint)."""
    if connection.vendor != "sqlite":
        return ""
    cursor.execute(
        "SELECT (SELECT count(*) FROM benefits_entitlement WHERE region_id >= %s AND region_id <= %s),"
        " (SELECT max(id) FROM benefits_entitlement)",
        [low, high],
    )
    inside, largest = cursor.fetchone()
    return "+" if largest and inside * 5 > largest else ""


def _insert_arrears(cursor, run: RollRun, month: datetime.date, low: str, high: str, hint: str = "") -> int:
    """Owed months (补发): for entitlements not settled up to last month, each earlier month from their start (within
    the look-back) whose version was payable and that no approved roll paid."""
    earliest = add_months(month, -ARREARS_LOOKBACK_MONTHS)
    months, m = [], max(earliest, datetime.date(2000, 1, 1))
    while m < month:
        months.append(m)
        m = add_months(m, 1)
    if not months:
        return 0
    cast = "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"
    union = " UNION ALL ".join(f"SELECT {cast} AS m" for _ in months)
    sql = _INSERT.format(
        line_month="mm.m",
        months=f"JOIN ({union}) mm ON mm.m >= e.start_month",
        # Only entitlements not settled through last month can owe anything: chosen first, in one pass (most
        # entitlements are settled, so few are paired with the months).
        scope=f"e.id IN (SELECT id FROM benefits_entitlement WHERE {hint}region_id >= %s AND {hint}region_id <= %s"
        " AND start_month < %s AND (settled_through IS NULL OR settled_through < %s))",
        extra="AND mm.m < %s AND (e.settled_through IS NULL OR e.settled_through < mm.m)"
        " AND (e.end_month IS NULL OR e.end_month >= mm.m) " + _NOT_PAID,
    )
    last = add_months(month, -1)
    # Placeholders in statement order: kind, the months, run, low, high, this month, last month, this month.
    cursor.execute(
        sql, ["arrears", *[_date(x) for x in months], run.pk, low, high, _date(month), _date(last), _date(month)]
    )
    return cursor.rowcount


def _death_recoveries(run: RollRun) -> int:
    """Payments already committed for months after a recipient's death (per `payments.death_stop`) become recovery
    records: person benefits, and household benefits where no living member remains."""
    from .entitlements import recover_after

    created = 0
    deaths = {f.person_id: f.from_month for f in run.facts.filter(kind="death")}
    if not deaths:
        return 0
    dead = run.facts.filter(kind="death").values("person_id")
    # Only an entitlement whose recipient (person benefits) or head (household benefits) died can be recovered: each
    # kind found from the facts through its own index, then their lines through the (entitlement, month) index —
    # lines keep no index on the person — paid for a month the death already stops.
    concerned = list(Entitlement.objects.filter(person_id__in=dead).values_list("pk", flat=True))
    concerned += Entitlement.objects.filter(
        person__isnull=True, household_id__in=Household.objects.filter(head_id__in=dead).values("pk")
    ).values_list("pk", flat=True)
    overpaid: set[int] = set()
    for chunk in in_batches(concerned):
        overpaid.update(
            PaymentLine.objects.filter(
                Exists(
                    RollFact.objects.filter(
                        run=run, kind="death", person_id=OuterRef("person_id"), from_month__lte=OuterRef("month")
                    )
                ),
                entitlement_id__in=chunk,
                committed=True,
            ).values_list("entitlement_id", flat=True)
        )
    for ent in Entitlement.objects.filter(pk__in=sorted(overpaid)).select_related("household"):
        stop = deaths.get(ent.person_id) if ent.person_id else None
        if stop is None and ent.person_id is None:
            head = ent.household.head_id
            members = list(ent.household.memberships.filter(left_on__isnull=True).values_list("person_id", flat=True))
            if head in deaths and all(m in deaths for m in members):
                stop = max(deaths[m] for m in members)
        if stop is not None:
            created += recover_after(ent, stop, 0, "领取人死亡后发放")
    return created


def refresh_totals(roll_ids: list[int]) -> None:
    """The roll's counts and payable total, summed from its lines in SQL (integer fen: exact on every engine)."""
    for roll_id in roll_ids:
        agg = PaymentLine.objects.filter(roll_id=roll_id).aggregate(
            n=Count("id"),
            held=Count("id", filter=Q(state=LineState.HELD)),
            total=Sum("amount_fen", filter=~Q(state__in=(LineState.HELD, LineState.STOPPED))),
            failed=Count("id", filter=Q(state__in=(LineState.FAILED, LineState.REISSUED))),
            paid=Sum("amount_fen", filter=Q(state=LineState.PAID)),
        )
        PaymentRoll.objects.filter(pk=roll_id).update(
            lines_count=agg["n"],
            held_count=agg["held"],
            total_fen=agg["total"] or 0,
            failed_count=agg["failed"],
            paid_fen=agg["paid"] or 0,
        )


# ---------------------------------------------------------------- held lines


def resolve_line(user, line_id: int, *, release: bool, note: str) -> PaymentLine:
    """放行 or 停发 a held line of a prepared roll, with the officer's finding."""
    require(user, Capability.PREPARE_ROLLS)
    note = (note or "").strip()
    if not note:
        raise DomainError("请填写核实情况", "required", field="note")
    with transaction.atomic():
        line = PaymentLine.objects.select_related("roll").get_for_user(user, pk=line_id)
        if line.roll.state != PaymentRoll.State.PREPARED:
            raise DomainError("名册已审核，不能再修改", "roll_frozen")
        updated = PaymentLine.objects.filter(pk=line.pk, state=LineState.HELD).update(
            state=LineState.RELEASED if release else LineState.STOPPED, hold_note=note[:500], resolved_by=user
        )
        if updated != 1:
            raise Conflict("该明细已处理，请刷新后重试", "stale")
        refresh_totals([line.roll_id])
        audit.record(
            audit.Action.UPDATE,
            user=user,
            obj=line.roll,
            detail={"line": line.pk, "action": "release" if release else "stop", "reasons": line.hold_reasons},
        )
    line.refresh_from_db()
    return line


# ---------------------------------------------------------------- approval and freezing


def content_hash(roll_id: int) -> str:
    """SHA-256 over the roll's lines in a fixed order: the same lines give the same hash."""
    digest = hashlib.sha256()
    qs = (
        PaymentLine.objects.filter(roll_id=roll_id)
        .order_by("entitlement_id", "month", "kind")
        .values_list("entitlement_id", "month", "kind", "amount_fen", "recipient_id_number", "bank_account", "state")
    )
    for row in qs.iterator(chunk_size=20000):
        digest.update(("|".join(str(v) for v in row) + "\n").encode())
    return digest.hexdigest()


def approve(user, roll_id: int) -> PaymentRoll:
    """审核: by a county officer other than whoever prepared the roll or resolved its held lines; every held line
    resolved; totals reconciled to the fen; the lines committed (the database refuses a month paid twice); the
    roll frozen with the hash of its lines recorded in the audit chain."""
    require(user, Capability.APPROVE_ROLLS)
    roll = PaymentRoll.objects.select_related("county").get_for_user(user, pk=roll_id)
    if user.region.level != codes.COUNTY and not user.region.contains(roll.county_id):
        raise PermissionDeniedError("发放名册须由县级审批人员审核", "forbidden")
    if is_maker(user, roll):
        raise PermissionDeniedError("编制或核实名册的人员不能审核同一名册（编制与审核分离）", "maker_checker")
    try:
        with transaction.atomic():
            claimed = PaymentRoll.objects.filter(pk=roll.pk, state=PaymentRoll.State.PREPARED).update(
                state=PaymentRoll.State.APPROVED, approved_by=user, approved_at=timezone.now()
            )
            if claimed != 1:
                raise Conflict("名册已被审核或不在待审核状态，请刷新后查看", "stale")
            if PaymentLine.objects.filter(roll=roll, state=LineState.HELD).exists():
                raise DomainError("名册中仍有暂停发放的明细，请先逐条核实放行或停发", "held_lines")
            refresh_totals([roll.pk])
            roll.refresh_from_db()
            total = PaymentLine.objects.filter(roll=roll, state__in=(LineState.PENDING, LineState.RELEASED)).aggregate(
                t=Sum("amount_fen"), n=Count("id")
            )
            if (total["t"] or 0) != roll.total_fen:
                raise DomainError("名册合计与明细之和不符，请重新编制", "totals_mismatch")
            with transaction.atomic():
                PaymentLine.objects.filter(roll=roll, state__in=(LineState.PENDING, LineState.RELEASED)).update(
                    state=LineState.APPROVED, committed=True
                )
            _settle(roll)
            digest = content_hash(roll.pk)
            PaymentRoll.objects.filter(pk=roll.pk).update(lines_hash=digest)
            audit.record(
                audit.Action.UPDATE,
                user=user,
                obj=roll,
                detail={"action": "approve", "lines_hash": digest, "lines": total["n"], "total_fen": roll.total_fen},
            )
    except IntegrityError:
        raise Conflict(
            "名册中有明细的同一月份已在另一名册中审核发放，不能重复发放；请重新编制本名册", "paid_twice"
        ) from None
    roll.refresh_from_db()
    return roll


def is_maker(user, roll: PaymentRoll) -> bool:
    """Whether the user prepared the roll or resolved one of its held lines: then another officer must approve it."""
    return roll.prepared_by_id == user.pk or (
        PaymentLine.objects.filter(roll=roll, resolved_by=user).exclude(resolved_by=None).exists()
    )


def _settle(roll: PaymentRoll) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE benefits_entitlement SET settled_through = %s WHERE id IN (SELECT entitlement_id FROM"
            " benefits_paymentline WHERE roll_id = %s AND state = 'approved') AND (settled_through IS NULL"
            " OR settled_through < %s)",
            [_date(roll.month), roll.pk, _date(roll.month)],
        )


def verify(roll: PaymentRoll) -> bool:
    """A frozen roll's lines still hash to what its approval recorded."""
    return bool(roll.lines_hash) and content_hash(roll.pk) == roll.lines_hash


# ---------------------------------------------------------------- supplementary rolls (补发批次)


def supplementary(user, county_code: str, benefit: str, line_ids: list[int], *, today=None) -> PaymentRoll:
    """Failed lines whose account has since been corrected, paid again in a numbered supplementary roll of this
    month, with the account as it is now; the failed line is marked reissued. Compared again before approval."""
    require(user, Capability.PREPARE_ROLLS)
    today = today or timezone.localdate()
    if benefit not in TYPES:
        raise DomainError("未知的待遇类别", "unknown_benefit")
    if not line_ids:
        raise DomainError("请选择要补发的明细", "no_lines")
    with transaction.atomic():
        failed = list(
            PaymentLine.objects.for_user(user)
            .filter(pk__in=line_ids, state=LineState.FAILED, benefit=benefit, roll__county_id=county_code)
            .select_related("household")
        )
        if len(failed) != len(set(line_ids)):
            raise DomainError("所选明细不存在、不在管辖范围内或不是待补发的失败明细", "invalid_lines")
        unchanged = [line for line in failed if line.household.bank_account == line.bank_account]
        if unchanged and all(line.bank_reason for line in unchanged):
            raise DomainError("所选明细的银行账号尚未更正，请先更正账号再补发", "account_not_corrected")
        month = first_of_month(today)
        seq = (
            PaymentRoll.objects.filter(
                county_id=county_code, benefit=benefit, month=month, kind=PaymentRoll.Kind.SUPPLEMENTARY
            ).aggregate(m=Max("seq"))["m"]
            or 0
        ) + 1
        run = RollRun.objects.create(
            region_id=county_code, month=month, started_by=user, status=RollRun.Status.RUNNING, message="补发"
        )
        roll = PaymentRoll.objects.create(
            county_id=county_code,
            benefit=benefit,
            month=month,
            kind=PaymentRoll.Kind.SUPPLEMENTARY,
            seq=seq,
            run=run,
            prepared_by=user,
            prepared_at=timezone.now(),
        )
        new = []
        for line in failed:
            h = line.household
            new.append(
                PaymentLine(
                    roll=roll,
                    entitlement_id=line.entitlement_id,
                    household_id=line.household_id,
                    person_id=line.person_id,
                    region_id=line.region_id,
                    benefit=line.benefit,
                    month=line.month,
                    kind=line.kind,
                    amount_fen=line.amount_fen,
                    recipient_name=line.recipient_name,
                    recipient_id_number=line.recipient_id_number,
                    bank_name=h.bank_name,
                    bank_account=h.bank_account,
                    account_holder=h.account_holder,
                    reissue_of=line,
                )
            )
        PaymentLine.objects.filter(pk__in=[line.pk for line in failed]).update(state=LineState.REISSUED)
        PaymentLine.objects.bulk_create(new)
        prepayment.gather_facts(run, county_code, month)
        prepayment.apply_holds(run.pk, roll_ids=[roll.pk])
        refresh_totals([roll.pk, *{line.roll_id for line in failed}])
        RollRun.objects.filter(pk=run.pk).update(
            status=RollRun.Status.COMPLETE, progress=100, message="已完成", finished_at=timezone.now()
        )
        audit.record(audit.Action.CREATE, user=user, obj=roll, detail={"reissued": [line.pk for line in failed]})
    roll.refresh_from_db()
    return roll

"""What a sweep reads, gathered set-wise from the database and the snapshot store into the engine's input tables."""

import datetime

import pyarrow as pa
from django.db.models import Max, Q, QuerySet

from minzheng.checks import inputs as check_inputs
from minzheng.checks.models import CheckResult, CheckRun
from minzheng.core import arrow
from minzheng.core.money import to_fen
from minzheng.core.months import add_months
from minzheng.exchange.files import snapshot_path
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import MONITORING_FEEDS
from minzheng.policy.catalogue import as_fraction
from minzheng.policy.parameters import resolve_many
from minzheng.regions import codes

from . import rules
from .engine import SignalFile, SweepInputs
from .models import Alert, MonitoredEntry, Sweep

PARAM_KEYS = [
    "monitoring.rules_enabled",
    "monitoring.medical_amount",
    "monitoring.medical_share_of_income",
    "monitoring.disaster_loss_amount",
    "monitoring.complex_rule_count",
    "rigid_expense.months_lookback",
]


def pending_snapshots(region_code: str, as_of: datetime.date) -> list[Snapshot]:
    """Signal deliveries covering any part of the region, up to `as_of`, that no successful sweep of this region or
    a region above it has read yet. A sweep of a smaller region does not use a delivery up for a larger one."""
    low, high = codes.subtree_range(region_code)
    covering = Q(region_id__gte=low, region_id__lte=high) | Q(region_id__in=codes.lineage(region_code))
    done = Sweep.objects.filter(status=Sweep.Status.COMPLETE, region_id__in=codes.lineage(region_code))
    return list(
        Snapshot.objects.filter(covering, source__in=MONITORING_FEEDS, period__lte=as_of)
        .exclude(sweeps__in=done)
        .order_by("id")
    )


def register(region_code: str) -> pa.Table:
    low, high = codes.subtree_range(region_code)
    rows = MonitoredEntry.objects.filter(end_on__isnull=True, region_id__gte=low, region_id__lte=high).values_list(
        "household_id", "person_id", "category"
    )
    return arrow.table(rules.REGISTER, list(rows))


def latest_checks(region_code: str) -> QuerySet:
    """The ids of each household's latest check that read data under an authorisation ("未核对" results say
    nothing), as a subquery: a city has one per household, far more than a statement may bind as values."""
    low, high = codes.subtree_range(region_code)
    return (
        CheckResult.objects.visible()
        .filter(region_id__gte=low, region_id__lte=high, authorisation__isnull=False)
        .exclude(change=CheckResult.Change.NOT_CHECKED)
        .values("household_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )


def income(region_code: str) -> pa.Table:
    """The counted monthly income of each household's latest check (for the medical-cost share)."""
    rows = CheckResult.objects.filter(pk__in=latest_checks(region_code)).values_list("household_id", "counted_income")
    return arrow.table(rules.INCOME, [(h, to_fen(v)) for h, v in rows])


def check_changes(region_code: str) -> pa.Table:
    """The results of each region's latest finished batch re-check that disagree with the household's status."""
    low, high = codes.subtree_range(region_code)
    runs = CheckRun.objects.filter(
        kind=CheckRun.Kind.BATCH, status=CheckRun.Status.COMPLETE, region_id__gte=low, region_id__lte=high
    )
    latest = runs.values("region_id").annotate(last=Max("id")).values_list("last", flat=True)
    rows = (
        CheckResult.objects.filter(run_id__in=latest)
        .filter(change__in=[CheckResult.Change.INCREASE, CheckResult.Change.DECREASE, CheckResult.Change.STOP])
        .values_list("household_id", "id", "change", "dibao", "run__as_of")
    )
    return arrow.table(rules.CHECK_CHANGES, list(rows))


def existing(region_code: str) -> pa.Table:
    low, high = codes.subtree_range(region_code)
    rows = Alert.objects.filter(region_id__gte=low, region_id__lte=high).values_list(
        "household_id", "rule", "signal_key", "status", "raised_on"
    )
    return arrow.table(rules.EXISTING, [(h, r, k, s != Alert.Status.CLOSED, on) for h, r, k, s, on in rows])


def parameters(counties: list[int], as_of: datetime.date) -> tuple[pa.Table, dict]:
    """Each county's rule settings in force on `as_of`, and the record of the values used."""
    rows, record = [], {}
    for county in sorted(set(counties)):
        resolved = resolve_many(PARAM_KEYS, f"{county:06d}000000", as_of)
        record[str(county)] = {k: r.as_record() for k, r in resolved.items()}
        v = {k: r.value for k, r in resolved.items()}
        enabled = "," + ",".join(s.strip() for s in str(v["monitoring.rules_enabled"]).split(",") if s.strip()) + ","
        share = v["monitoring.medical_share_of_income"]
        num = den = None
        if share not in ("", None):
            frac = as_fraction(share)
            num, den = frac.as_integer_ratio()
        lookback = int(v["rigid_expense.months_lookback"])
        rows.append(
            (
                county,
                as_of,
                enabled,
                add_months(as_of, -lookback) + datetime.timedelta(days=1),
                to_fen(v["monitoring.medical_amount"]),
                num,
                den,
                to_fen(v["monitoring.disaster_loss_amount"]),
                int(v["monitoring.complex_rule_count"]),
            )
        )
    return arrow.table(rules.PARAMS, rows), record


def for_region(region_code: str, as_of: datetime.date) -> tuple[SweepInputs, dict, list[Snapshot]]:
    members = check_inputs.members(region_code=region_code)
    counties = sorted(set(members.column("county").to_pylist())) or [int(region_code[:6])]
    params, record = parameters(counties, as_of)
    pending = pending_snapshots(region_code, as_of)
    files = [SignalFile(s.source, s.pk, snapshot_path(s)) for s in pending]
    sweep_inputs = SweepInputs(
        members=members,
        register=register(region_code),
        income=income(region_code),
        check_changes=check_changes(region_code),
        params=params,
        existing=existing(region_code),
        signal_files=files,
    )
    return sweep_inputs, record, pending

"""Benchmark of the monthly payment roll (issue 17): `--entitlements` active 低保 entitlements generated set-wise
(persons, households, entitlements and their versions written by INSERT … SELECT over a recursive series; one recipient
in a thousand died last month, one household in two thousand has no account, one in five thousand an account in
another name), then:

prepare   — `rolls.prepare` of the month: every line by INSERT … SELECT, arrears, the pre-payment comparison (deaths,
            public payroll, duplicates, account holder, missing and malformed accounts with the Luhn check) and the
            totals, in one transaction; against a per-entitlement ORM baseline measured on `--sample` entitlements
            (each: its latest version, household, head, a paid-already query, a death query, a duplicate query, one
            INSERT) and extrapolated linearly;
export    — the approved roll as a bank file in the fixed-width GBK layout and in the GBK CSV layout;
reconcile — import of the bank's return of every line (0.1 % failed) in the CSV layout.

    .venv/bin/python benchmarks/payments.py [--entitlements 1000000] [--sample 2000] [--profile] [--keep]

`--profile` prints, after each step, its SQL statements with their wall and CPU seconds (the statements of one shape
summed), so that the step's time can be read statement by statement.

Works in a scratch SQLite database of its own (created, migrated, dropped). Nothing is asserted: figures are printed.
"""

import argparse
import datetime
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")


MONTH = datetime.date(2027, 1, 1)


def generate(n: int) -> None:
    from django.db import connection

    from minzheng.regions.models import Region

    villages = list(
        Region.objects.filter(code__gte="130722000000", code__lte="130722999999", level=5).values_list(
            "code", flat=True
        )
    )
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE v (i INTEGER PRIMARY KEY, code TEXT)")
        c.executemany("INSERT INTO v VALUES (%s, %s)", list(enumerate(villages)))
        nv = len(villages)
        series = f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n})"
        c.execute(
            f"INSERT INTO registry_person (id, name, id_number, sex, birth_date, phone, region_id, disability_category,"
            f" self_care, created_at, updated_at, version) {series} SELECT n, '张' || n, printf('%018d', n), '1',"
            f" '1960-01-01', '', (SELECT code FROM v WHERE i = n % {nv}), '', '', datetime('now'), datetime('now'), 1"
            " FROM s"
        )
        c.execute(
            f"INSERT INTO registry_household (id, region_id, address, area_type, head_id, bank_name, bank_account,"
            f" account_holder, created_at, updated_at, version) {series} SELECT n, (SELECT code FROM v WHERE"
            f" i = n % {nv}), '地址', 'rural', n, '中国农业银行', printf('1%017d', n), '张' || n, datetime('now'),"
            " datetime('now'), 1 FROM s"
        )
        c.execute(
            f"INSERT INTO registry_membership (id, household_id, person_id, relationship, joined_on, leave_reason)"
            f" {series} SELECT n, n, n, '02', '2020-01-01', '' FROM s"
        )
        c.execute("SELECT id FROM cases_case LIMIT 1")
        case = c.fetchone()[0]
        c.execute(
            f"INSERT INTO benefits_entitlement (id, benefit, household_id, region_id, status, amount_fen, breakdown,"
            f" start_month, settled_through, decision_id, last_decision_id, parameters, created_at, updated_at)"
            f" {series} SELECT n, 'dibao', n, (SELECT code FROM v WHERE i = n % {nv}), 'active', 30000 + n % 500,"
            f" '[]', '2025-01-01', '2026-12-01', {case}, {case}, '{{}}', datetime('now'), datetime('now') FROM s"
        )
        # What the pre-payment comparison finds in a real month: one recipient in a thousand died (last month), one
        # household in two thousand has no account and one in five thousand an account in another name.
        c.execute("UPDATE registry_person SET deceased_on = '2026-12-15' WHERE id % 1000 = 0")
        c.execute("UPDATE registry_household SET bank_account = '' WHERE id % 2000 = 1")
        c.execute("UPDATE registry_household SET account_holder = '李' || id WHERE id % 5000 = 2")
        c.execute(
            f"INSERT INTO benefits_entitlementversion (entitlement_id, effective_from, status, amount_fen, breakdown,"
            f" decision_id, action, reasons, parameters, recorded_at) {series} SELECT n, '2025-01-01', 'active',"
            f" 30000 + n % 500, '[]', {case}, 'approve', '', '{{}}', datetime('now') FROM s"
        )


def baseline(sample: int, month: datetime.date) -> float:
    """What a per-entitlement ORM loop would do for `sample` entitlements (written to a throwaway roll)."""
    from django.db import transaction

    from minzheng.benefits.models import Entitlement, EntitlementVersion, PaymentLine, PaymentRoll
    from minzheng.registry.models import Membership, Person

    roll = PaymentRoll.objects.create(
        county_id="130722000000", benefit="dibao", month=month, kind="supplementary", seq=99
    )
    start = time.perf_counter()
    with transaction.atomic():
        for ent in Entitlement.objects.filter(pk__lte=sample).iterator():
            version = (
                EntitlementVersion.objects.filter(entitlement=ent, effective_from__lte=month)
                .order_by("-effective_from", "-id")
                .first()
            )
            if version is None or version.status not in ("active", "taper"):
                continue
            household = ent.household
            head = Person.objects.get(pk=household.head_id)
            if PaymentLine.objects.filter(entitlement=ent, month=month, state__in=("approved", "paid")).exists():
                continue
            dead = Membership.objects.filter(household=household, person__deceased_on__isnull=False).exists()
            duplicate = (
                PaymentLine.objects.filter(benefit=ent.benefit, month=month, person=head)
                .exclude(entitlement=ent)
                .exists()
            )
            PaymentLine.objects.create(
                roll=roll,
                entitlement=ent,
                household=household,
                person=head,
                region_id=ent.region_id,
                benefit=ent.benefit,
                month=month,
                amount_fen=version.amount_fen,
                recipient_name=head.name,
                recipient_id_number=head.id_number,
                bank_name=household.bank_name,
                bank_account=household.bank_account,
                account_holder=household.account_holder,
                state="held" if dead or duplicate else "pending",
            )
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def run(args) -> None:
    from django.core.management import call_command
    from django.db import connection

    from minzheng.accounts.models import User
    from minzheng.benefits import bankfiles, rolls, settlement
    from minzheng.benefits.models import PaymentRoll
    from minzheng.cases.models import Case
    from minzheng.policy.models import ServiceItem
    from minzheng.regions.importer import import_regions
    from minzheng.registry.models import Household, Person

    import_regions("1307")
    call_command("migrate", "policy", verbosity=0)
    maker = User.objects.create(username="maker", role="county_approver", region_id="130722000000")
    checker = User.objects.create(username="checker", role="county_approver", region_id="130722000000")
    # The seed case the generated entitlements cite as their decision, with ids above the generated range.
    person = Person.objects.create(
        id=10**9, name="种子", id_number="X" * 18, sex="1", birth_date="1960-01-01", region_id="130722100201"
    )
    household = Household.objects.create(
        id=10**9, region_id="130722100201", address="种子", area_type="rural", head=person
    )
    Case.objects.create(
        number="BENCH",
        service=ServiceItem.objects.get(code="dibao"),
        household=household,
        applicant=person,
        region_id="130722100201",
        channel="window",
        submitted_on="2025-01-01",
        state="approved",
        created_by=maker,
    )
    t = time.perf_counter()
    generate(args.entitlements)
    print(f"generated {args.entitlements:,} entitlements set-wise in {time.perf_counter() - t:.1f} s")

    run_ = rolls.start_preparation(maker, "130722", MONTH, enqueue=False)
    t, c = time.perf_counter(), time.process_time()
    with _profiled(args.profile) as recorder:
        rolls.prepare(run_.pk)
    prepare_s = time.perf_counter() - t
    roll = PaymentRoll.objects.get(run=run_)
    print(
        f"prepare: {roll.lines_count:,} lines, {roll.held_count:,} held, total {roll.total} yuan in {prepare_s:.2f} s"
        f" ({_cpu(c)}; load {_load()})"
    )
    if recorder:
        recorder.report("prepare")
    base = baseline(args.sample, MONTH)
    projected = base / args.sample * args.entitlements
    print(
        f"baseline (per-entitlement ORM): {args.sample:,} in {base:.2f} s -> {projected:.0f} s projected; "
        f"ratio {projected / prepare_s:.0f}x"
    )
    with connection.cursor() as c:  # the officers' findings on the held lines, set-wise (not timed): stopped
        c.execute("UPDATE benefits_paymentline SET state = 'stopped', hold_note = '核实后停发' WHERE state = 'held'")
    rolls.refresh_totals([roll.pk])
    rolls.approve(checker, roll.pk)
    for layout in ("abc_fixed", "psbc_csv"):
        t, c = time.perf_counter(), time.process_time()
        _, data, _ = settlement.export(checker, roll.pk, layout)
        print(
            f"export {layout}: {len(data) / 1e6:.1f} MB in {time.perf_counter() - t:.2f} s ({_cpu(c)}; load {_load()})"
        )
    roll.refresh_from_db()
    lay = bankfiles.layout("psbc_csv")
    rows = list(settlement.export_rows(roll, lay))
    failures = {r["seq"]: "账户已冻结" for r in rows[::1000]}
    data = bankfiles.return_template(lay, rows, failures)
    t, c = time.perf_counter(), time.process_time()
    with _profiled(args.profile) as recorder:
        result = settlement.import_return(checker, roll.pk, data, "return.csv")
    print(
        f"reconcile: {result.lines_paid + result.lines_failed:,} return lines ({result.lines_failed:,} failed) "
        f"in {time.perf_counter() - t:.2f} s ({_cpu(c)}; load {_load()})"
    )
    if recorder:
        recorder.report("reconcile")


class _Statements:
    """A connection execute wrapper that sums wall and CPU seconds per statement shape (its first 110 characters)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        t, c = time.perf_counter(), time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.times.setdefault(" ".join(sql.split())[:110], [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - t
            entry[1] += time.process_time() - c
            entry[2] += 1

    def report(self, step: str) -> None:
        ranked = sorted(self.times.items(), key=lambda kv: -kv[1][0])
        print(f"  {step}: statements by wall time (wall s / CPU s / count)")
        for sql, (wall, cpu, count) in ranked[:12]:
            print(f"    {wall:7.2f} {cpu:7.2f} {count:6d}  {sql}")
        self.times.clear()


@contextmanager
def _profiled(enabled: bool):
    from django.db import connection

    if not enabled:
        yield None
        return
    recorder = _Statements()
    with connection.execute_wrapper(recorder):
        yield recorder


def _cpu(since: float) -> str:
    """CPU seconds of this process (SQLite runs in it): the figure a machine shared with other work cannot inflate
    by waiting for a core; the wall time is what an officer waits."""
    return f"CPU {time.process_time() - since:.2f} s"


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entitlements", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print each step's statements with their times")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its path is printed)")
    args = parser.parse_args()
    from scratch import in_scratch_database

    in_scratch_database(
        "payments", lambda _scratch: run(args), keep=args.keep, sqlite=True
    )  # its generator writes SQLite


if __name__ == "__main__":
    main()

"""Benchmark of `generate_population` against a naive ORM baseline.

    .venv/bin/python benchmarks/generate_population.py [--households 1000000] [--prefix 1307] [--sample 500]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minzheng .venv/bin/python benchmarks/generate_population.py

Works on a fresh database of its own, created and migrated here and dropped at the end: a temporary SQLite file by
default, or a scratch database next to the one DATABASE_URL names (`<name>_bench_<pid>`; the role needs CREATEDB).
The baseline writes `--sample` households of the same generated people one at a time through the ORM
(`Person.objects.create`, …, one transaction per household, as a form-by-form service would) and is extrapolated
linearly to the full count, which flatters it: its per-row cost only grows as the tables and indexes do.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")


def orm_baseline(prefix: str, households: int, seed: int) -> tuple[float, int]:
    """Seconds to generate and store `households` households one object at a time; returns (seconds, persons)."""
    from django.db import transaction

    from minzheng.demo import bulkload, population
    from minzheng.registry.models import Household, Membership, Person

    started = time.perf_counter()
    villages, _ = population._load_villages(prefix)
    as_of = datetime.date(datetime.date.today().year, 1, 1)  # generate_population's default
    generator = population._Generator(villages, seed, as_of, set(), None)
    persons, homes, memberships = generator.chunk(households, [0, 0, 0])
    people = {row[0]: row for row in persons}
    members_of: dict[int, list[tuple]] = {}
    for row in memberships:
        members_of.setdefault(row[1], []).append(row)
    person_fields = [f if f != "region" else "region_id" for f in bulkload.PERSON_FIELDS]
    for home in homes:
        with transaction.atomic():
            created = {}
            for _mid, _hid, person_id, _rel, _joined, _reason in members_of[home[0]]:
                values = dict(zip(person_fields, people[person_id], strict=True))
                for generated in ("id", "created_at", "updated_at", "version"):
                    del values[generated]
                created[person_id] = Person.objects.create(**values)
            household = Household.objects.create(
                region_id=home[1],
                address=home[2],
                area_type=home[3],
                head=created[home[4]],
                bank_name=home[5],
                bank_account=home[6],
                account_holder=home[7],
            )
            for _mid, _hid, person_id, relationship, joined_on, _reason in members_of[home[0]]:
                Membership.objects.create(
                    household=household, person=created[person_id], relationship=relationship, joined_on=joined_on
                )
    seconds = time.perf_counter() - started
    # Leave the bulk run an empty registry, as it would find on a fresh installation.
    Membership.objects.all().delete()
    Household.objects.update(head=None)
    Household.objects.all().delete()
    Person.objects.all().delete()
    return seconds, len(persons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--prefix", default="1307")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=500, help="households written through the ORM baseline")
    args = parser.parse_args()

    from scratch import in_scratch_database

    in_scratch_database("population", lambda _scratch: run(args))


def run(args) -> None:
    from django.db import connection

    from minzheng.demo.population import generate_population
    from minzheng.regions.importer import import_regions

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    regions = import_regions(args.prefix)
    print(f"regions {args.prefix}: {regions.rows_read} imported in {regions.seconds:.1f} s")

    baseline, baseline_persons = orm_baseline(args.prefix, args.sample, args.seed)
    per_household = baseline / args.sample
    print(
        f"ORM baseline: {args.sample} households ({baseline_persons} persons) in {baseline:.2f} s,"
        f" {per_household * 1000:.2f} ms per household"
    )

    cpu = time.process_time()

    def progress(done: int, total: int) -> None:
        if done % 200_000 == 0 or done == total:
            print(f"  {done:>9,} households  {time.perf_counter() - started:6.1f} s", flush=True)

    started = time.perf_counter()
    result = generate_population(args.prefix, args.households, args.seed, progress=progress)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    extrapolated = per_household * args.households
    print(
        f"generate_population: {result.households:,} households, {result.persons:,} persons"
        f" ({result.disabled:,} disabled) in {seconds:.1f} s"
        f" ({result.persons / seconds:,.0f} persons/s; this process used {cpu:.1f} s of CPU)"
    )
    print(
        f"ORM baseline extrapolated to {args.households:,} households: {extrapolated:,.0f} s"
        f" ({extrapolated / 3600:.1f} h); speed-up {extrapolated / seconds:,.0f}x"
    )


if __name__ == "__main__":
    main()

"""Benchmark of the printed documents (issue 15 §4): every notice kind and the check report downloaded through a real
threaded HTTP server, before and after the rendering thread, in one run.

    .venv/bin/python benchmarks/documents.py [--households 2000] [--requests 20] [--clients 1] [--prefix 1307]
    .venv/bin/python benchmarks/documents.py --requests 5                                   # smoke, a few minutes
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minzheng .venv/bin/python benchmarks/documents.py

Works on a fresh database of its own (a temporary SQLite file, or `<name>_bench_<pid>` next to the PostgreSQL
database DATABASE_URL names; dropped at the end), filled as `make demo` fills it: the divisions of `--prefix`, the
demo users, `generate_population` (`--households`), `generate_cases` (150 cases: 受理通知书, 批准通知书 and 不予批准
通知书) and `generate_check_data` (check results, so check reports); then a few applications of the demo clerk end in
a one-time notice of missing materials (一次性告知书) or a refusal to accept (不予受理通知书), so every kind exists.

servers — two child processes serve that database with the server `runserver` uses (Django's WSGIServer, a new
    thread per request), DEBUG off:
    before — `core.pdf.render` replaced by WeasyPrint on the request thread with a font configuration of its own
        (what every document did before the rendering thread), and every download audited (`audit.record`);
    after — the code as it is: documents rendered on the process's rendering thread with its one font
        configuration; a repeated download within `audit.REPEAT_SECONDS` is one export.
client — logs in to both as the demo county approver (every document of the county), downloads one document of each
    kind from each server first (the cold start, printed apart), then `--requests` downloads per kind from each
    server alternately (before, after, after, before, …), so that both see the same load on the machine, with
    `--clients` clients at once (1: one officer at a time). Printed per kind and server: p50, p95 and max of the
    download's wall time as the client sees it, and the server process's CPU seconds per download (all its threads,
    from /proc).
double click — two requests for the same notice by one officer (the demo clerk) at the same moment, on each server:
    the pair's wall time and the number of export entries the audit log gained.

Nothing is asserted: the figures are printed, with the machine's load average (other work on the machine skews them,
the alternation spreads the skew over both servers).
"""

import argparse
import http.cookiejar
import io
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minzheng.settings")

VARIANTS = ("before", "after")
KIND_LABELS = {
    "acceptance": "受理通知书",
    "missing": "一次性告知书",
    "not_accepted": "不予受理通知书",
    "approval": "批准通知书",
    "refusal": "不予批准通知书",
    "report": "核对报告",
}
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------- the servers


def serve(port: int, variant: str) -> None:
    """Child process: serve the database with runserver's threaded WSGI server; `before` restores the old path."""
    django.setup()
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    from minzheng.core import audit, pdf

    if variant == "before":

        def render_on_the_request_thread(html: str) -> bytes:
            return pdf.convert(html, pdf.stylesheet_directory())  # a new FontConfiguration for every document

        def record_every_download(action, *, user, obj, detail):
            return audit.record(action, user=user, obj=obj, detail=detail)

        pdf.render = render_on_the_request_thread
        audit.record_once = record_every_download

    run("127.0.0.1", port, get_wsgi_application(), threading=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(variant: str, database_url: str, scratch: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CHECKS_DATA_DIR": str(scratch / "checks"),
        "SECRET_KEY": "documents-benchmark-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(scratch),
    }
    log = open(scratch / f"server-{variant}.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--variant", variant], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the {variant} server did not start:\n{(scratch / f'server-{variant}.log').read_text()[-3000:]}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime of every thread


# ---------------------------------------------------------------------------------------------------- the client


class Officer:
    """A logged-in browser session (cookies, CSRF) on one server."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(base + "/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
        request = urllib.request.Request(
            base + "/accounts/login/", data=form.encode(), headers={"Referer": base + "/accounts/login/"}
        )
        if "/accounts/login/" in self.opener.open(request).geturl():
            raise SystemExit(f"login as {username} failed on {base}")

    def get(self, path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        with self.opener.open(self.base + path, timeout=300) as response:
            body = response.read()
        if not body.startswith(b"%PDF-"):
            raise SystemExit(f"{path}: not a PDF")
        return time.perf_counter() - started, body


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ------------------------------------------------------------------------------------------------------- the data


def build_data(args, scratch: Path) -> None:
    from django.core.management import call_command

    steps = [
        ("import_regions", ["--prefix", args.prefix]),
        ("create_demo_users", ["--prefix", args.prefix]),
        ("generate_population", ["--prefix", args.prefix, "--households", str(args.households), "--seed", "1"]),
        ("generate_cases", ["--cases", "150", "--seed", "1"]),
        ("generate_check_data", ["--prefix", args.prefix, "--seed", "1"]),
    ]
    for command, options in steps:
        started = time.perf_counter()
        call_command(command, *options, stdout=io.StringIO(), stderr=io.StringIO())
        print(f"  {command} {' '.join(options)}: {time.perf_counter() - started:.1f} s", flush=True)
    add_intake_notices(count=6)


def add_intake_notices(count: int) -> None:
    """The demo generates no one-time notice and no refusal to accept: the demo clerk writes `count` of each."""
    from minzheng.accounts.models import User
    from minzheng.cases import services
    from minzheng.cases.models import Case
    from minzheng.registry.models import Household

    clerk = User.objects.get(username="clerk")
    busy = Case.objects.values_list("household_id", flat=True)
    households = list(Household.objects.for_user(clerk).exclude(pk__in=busy).order_by("pk")[: 2 * count])
    for i, household in enumerate(households):
        case = services.open_application(
            clerk,
            household_id=household.pk,
            service_code="dibao",
            applicant_id=household.head_id,
            channel="window",
            received=["application"],
        )
        if i % 2:
            services.act(clerk, case.pk, "notify_missing")
        else:
            services.act(clerk, case.pk, "reject_intake", reasons="申请人户籍不在本乡镇，请向户籍所在地提出申请")


def documents_by_kind(username: str) -> dict[str, list[str]]:
    from django.urls import reverse

    from minzheng.accounts.models import User
    from minzheng.cases import documents
    from minzheng.cases.models import Case
    from minzheng.checks.models import CheckResult

    user = User.objects.get(username=username)
    found: dict[str, list[str]] = {kind: [] for kind in KIND_LABELS}
    for case in Case.objects.for_user(user).select_related("service").order_by("pk"):
        for kind, _ in documents.available(case):
            found[kind].append(reverse("cases:document", args=[case.pk, kind]))
    for pk in CheckResult.objects.visible().for_user(user).order_by("pk").values_list("pk", flat=True)[:200]:
        found["report"].append(reverse("checks:report_pdf", args=[pk]))
    return found


# -------------------------------------------------------------------------------------------------------- the run


def measure(args, servers: dict, paths: dict[str, list[str]]) -> None:
    from minzheng.accounts.models import User

    officers = {variant: Officer(base, "county", args.password) for variant, (_, base) in servers.items()}
    print(f"\ncold start (the first download of each kind after the server started), load {os.getloadavg()[0]:.2f}:")
    for kind, found in paths.items():
        if found:
            cold = {variant: officers[variant].get(found[0])[0] for variant in VARIANTS}
            print(f"  {KIND_LABELS[kind]:<8} before {cold['before']:.2f} s   after {cold['after']:.2f} s")

    loads = [os.getloadavg()[0]]
    print(
        f"\n{args.requests} downloads per kind and server, {args.clients} client(s) at once, alternating servers"
        f" (wall time as the client sees it; server CPU seconds per download):"
    )
    print(
        f"  {'document':<10}{'before p50':>11}{'p95':>7}{'max':>7}{'CPU':>7}   {'after p50':>10}{'p95':>7}"
        f"{'max':>7}{'CPU':>7}   p95 before/after"
    )
    for kind, found in paths.items():
        if not found:
            print(f"  {KIND_LABELS[kind]:<10} none in the data")
            continue
        times = {variant: [] for variant in VARIANTS}
        cpu = {variant: [] for variant in VARIANTS}
        for round_no in range(0, args.requests, args.clients):
            order = VARIANTS if round_no // args.clients % 2 == 0 else VARIANTS[::-1]
            batch = [found[(round_no + c) % len(found)] for c in range(min(args.clients, args.requests - round_no))]
            for variant in order:
                process, _ = servers[variant]
                before_cpu = cpu_seconds(process.pid)
                with ThreadPoolExecutor(len(batch)) as pool:
                    results = list(pool.map(officers[variant].get, batch))
                cpu[variant].append((cpu_seconds(process.pid) - before_cpu) / len(batch))
                times[variant].extend(seconds for seconds, _ in results)
        b, a = times["before"], times["after"]
        print(
            f"  {KIND_LABELS[kind]:<10}{statistics.median(b):>9.2f} s{percentile(b, 95):>7.2f}{max(b):>7.2f}"
            f"{statistics.median(cpu['before']):>7.2f}   {statistics.median(a):>8.2f} s{percentile(a, 95):>7.2f}"
            f"{max(a):>7.2f}{statistics.median(cpu['after']):>7.2f}   {percentile(b, 95) / percentile(a, 95):.1f}×",
            flush=True,
        )
        loads.append(os.getloadavg()[0])
    print(f"  load average (1 min) during the run: {min(loads):.2f}–{max(loads):.2f} on {os.cpu_count()} CPUs")

    print("\ndouble click (two requests for one notice by one officer at the same moment):")
    from minzheng.core.models import AuditEntry

    clerk = User.objects.get(username="clerk")
    notices = documents_by_kind("clerk")["acceptance"]
    for i, variant in enumerate(VARIANTS):
        officer = Officer(servers[variant][1], "clerk", args.password)
        path = notices[-1 - i]  # one notice per server: the after server must not see the before server's entries
        case_id = path.split("/")[2]
        exports = AuditEntry.objects.filter(action="export", user=clerk, object_type="case", object_id=case_id)
        count = exports.count()
        started = time.perf_counter()
        barrier = threading.Barrier(2)

        def click(path=path, officer=officer, barrier=barrier):
            barrier.wait()
            return officer.get(path)

        with ThreadPoolExecutor(2) as pool:
            pair = list(pool.map(lambda _: click(), range(2)))
        print(
            f"  {variant:<6} both answered in {time.perf_counter() - started:.2f} s"
            f" ({', '.join(f'{s:.2f}' for s, _ in pair)}); export entries written: {exports.count() - count}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20, help="downloads per document kind and server")
    parser.add_argument("--clients", type=int, default=1, help="downloads at once")
    parser.add_argument("--prefix", default="1307")
    parser.add_argument("--password", default="Minzheng@2026", help="the demo users' password")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and files (path printed)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.variant)
        return

    scratch = Path(tempfile.mkdtemp(prefix="minzheng-bench-documents-"))
    base_url = os.environ.get("DATABASE_URL", f"sqlite:///{scratch}/unused.sqlite3")
    os.environ["DATABASE_URL"] = base_url
    os.environ["CHECKS_DATA_DIR"] = str(scratch / "checks")
    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"{scratch}/bench.sqlite3"
    else:
        connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_{os.getpid()}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    database_url = (
        f"sqlite:///{name}"
        if connection.vendor == "sqlite"
        else urllib.parse.urlsplit(base_url)._replace(path="/" + name).geturl()
    )
    servers = {}
    try:
        print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        build_data(args, scratch)
        paths = documents_by_kind("county")
        print("  documents: " + ", ".join(f"{KIND_LABELS[k]} {len(v)}" for k, v in paths.items()))
        connection.close()
        for variant in VARIANTS:
            servers[variant] = start_server(variant, database_url, scratch)
        measure(args, servers, paths)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
        connection.close()
        if args.keep:
            print(f"kept: {scratch} (database {name})")
        else:
            connection.creation.destroy_test_db(name, verbosity=0)
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

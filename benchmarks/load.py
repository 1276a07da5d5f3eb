"""Load: the production server (gunicorn, `make serve`'s configuration) on a demo-sized database, N staff users at once.

    .venv/bin/python benchmarks/load.py                       # PostgreSQL: 200 users for 300 s; SQLite: 50, 100, 200
    .venv/bin/python benchmarks/load.py --users 200 --duration 120 --sqlite-users 50,200 --sqlite-duration 60
    .venv/bin/python benchmarks/load.py --only sqlite --sqlite-users 20 --sqlite-duration 30   # a quick look

Each engine gets its own database, filled once by the demo generators (`make demo`'s steps: 张家口's divisions, the
demo accounts, 20,000 households, cases, departmental and monitoring data) and reused by later runs. PostgreSQL:
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/minzheng_load, created if missing); SQLite: a file in
benchmarks/out/. gunicorn runs on a free loopback port with the production settings (DEBUG off, hashed static files,
the PostgreSQL pool; WEB_WORKERS/WEB_THREADS as in production: two processes per core, 2 threads each).

A user is a member of township staff (the four township demo accounts 张北镇/公会镇 clerk and reviewer, each user with
its own session: it logs in once through the real login page with its CSRF token) who, after a think time (uniform
0.5–1.5 × --think seconds, default 5 s), does one of: open the to-do queue, a household page, search by a resident's
name, take a case action (open the case, record a public-notice objection with the page's version, follow the
redirect), read through the API (a household or the API queue) or write through it (a monitoring home visit). Every
user writes to its own cases and warnings where there are enough of them. Reads are GETs, writes POSTs.

Errors: a failed connection, a 5xx, any other unexpected status, or a write the application refused. A refused write
because another user changed the same record first (the case's version, 409 through the API) is counted apart as a
conflict. Bounded: the clock (--duration) and a cap on requests (--max-requests); loopback only.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
BIN = Path(sys.executable).parent
MINZHENG = [str(BIN / "minzheng")] if (BIN / "minzheng").exists() else [sys.executable, "-m", "minzheng.manage"]
GUNICORN = str(BIN / "gunicorn")
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/minzheng_load"
ACCOUNTS = ["clerk", "reviewer", "clerk2", "reviewer2"]  # create_demo_users: the two townships' staff
PASSWORD = "Minzheng@2026"  # create_demo_users' demo password
PREFIX = "1307"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE: the date the application calls today
WEIGHTS = {"queue": 15, "household": 25, "search": 15, "case_action": 10, "api_read": 25, "api_write": 10}

# Run inside `minzheng shell`: what each account may see and act on, by the same scoped querysets as the pages.
TARGETS = """
import json
from minzheng.accounts.models import User
from minzheng.cases.models import Case
from minzheng.monitoring.models import Alert
from minzheng.registry.models import Household
out = {}
for user in User.objects.filter(username__in=%(accounts)r):
    households = list(Household.objects.for_user(user).filter(head__isnull=False)
                      .order_by("pk").values_list("pk", "head__name")[:3000])
    out[user.username] = {
        "households": [pk for pk, _ in households],
        "names": sorted({name for _, name in households})[:500],
        "cases": list(Case.objects.for_user(user).order_by("pk").values_list("pk", flat=True)),
        "notice_cases": list(Case.objects.for_user(user).filter(state="notice").order_by("pk")
                             .values_list("pk", flat=True)),
        "alerts": list(Alert.objects.for_user(user).filter(level="village").exclude(status="closed")
                       .order_by("pk").values_list("pk", flat=True)[:2000]),
    }
print("TARGETS" + json.dumps(out))
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the database and the server ---------------------------------------------------------------------------------


def engine_env(engine: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "CHECKS_DATA_DIR": str(OUT / f"load-checks-{engine}"),
        "STATIC_ROOT": str(OUT / "load-static"),
    }
    env.pop("DEBUG", None)
    if engine == "postgresql":
        given = os.environ.get("DATABASE_URL", "")
        env["DATABASE_URL"] = given if given.startswith("postgres") else PG_DEFAULT
    else:
        env["DATABASE_URL"] = f"sqlite:///{OUT / 'load.sqlite3'}"
    return env


def run(env: dict, *args: str, quiet: bool = True) -> str:
    result = subprocess.run([*MINZHENG, *args], env=env, cwd=OUT, capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise SystemExit(f"minzheng {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def create_postgres_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def analyze(url: str) -> None:
    """Planner statistics for the freshly generated tables. A deployment's autovacuum gathers them; a test machine may
    run PostgreSQL with autovacuum off (this one does), and without statistics the search's plan read every household
    and every region (15 ms a search instead of 7)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] != "on":
            log("PostgreSQL runs with autovacuum off: ANALYZE once, as autovacuum would have")
        conn.execute("ANALYZE")


def prepare(engine: str, households: int) -> dict:
    """The demo database (filled once: every generator is skipped when its data is there) and the users' targets."""
    env = engine_env(engine)
    if engine == "postgresql":
        create_postgres_database(env["DATABASE_URL"])
    started = time.monotonic()
    run(env, "migrate", "--noinput")
    run(env, "import_regions", "--prefix", PREFIX)
    run(env, "create_demo_users", "--prefix", PREFIX)
    run(env, "generate_population", "--prefix", PREFIX, "--households", str(households), "--seed", "1", "--if-empty")
    run(env, "generate_cases", "--cases", "150", "--seed", "1", "--if-empty")
    run(env, "generate_check_data", "--prefix", PREFIX, "--seed", "1", "--if-empty")
    run(env, "generate_monitoring_data", "--prefix", PREFIX, "--seed", "1", "--if-empty")
    # Earlier runs' lockouts and throttles do not carry over (there are none unless a run was broken off).
    run(env, "axes_reset")
    if engine == "postgresql":
        analyze(env["DATABASE_URL"])
    out = run(env, "shell", "-c", TARGETS % {"accounts": ACCOUNTS})
    targets = json.loads(out[out.index("TARGETS") + len("TARGETS") :])
    log(f"{engine}: demo database ready in {time.monotonic() - started:.0f} s")
    return targets


def cpu_seconds(root_pid: int, database: str) -> tuple[float, float]:
    """CPU time used so far by the web server (gunicorn's master and workers) and by the PostgreSQL backends serving
    `database`: what the requests cost, whatever else shares the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    web = db = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == root_pid or int(fields[1]) == root_pid:
            web += used
        elif database and cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            db += used
    return web, db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(engine: str):
    env = engine_env(engine) | {
        "MINZHENG_PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "WEB_ACCESS_LOG": "",
        "WEB_LOG_LEVEL": "warning",
    }
    if not (OUT / "load-static" / "staticfiles.json").exists():
        log("collecting the static files (once)")
        run(env, "collectstatic", "--noinput", "--verbosity", "0")
    port = free_port()
    env["WEB_BIND"] = f"127.0.0.1:{port}"
    errors = open(OUT / f"load-server-{engine}.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [GUNICORN, "-c", "python:minzheng.gunicorn_conf"],
        env=env,
        cwd=OUT,
        stdout=errors,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                body = json.loads(conn.getresponse().read())
                if body["checks"]["database"] == "ok":  # no worker in this benchmark: the mix needs none
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {errors.name}")
            time.sleep(0.5)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        errors.close()


# --- one user -------------------------------------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')


class Refused(Exception):
    """The application answered, but not with what the step expects."""


@dataclass
class Results:
    samples: list = field(default_factory=list)  # (kind, "read"|"write", seconds)
    errors: Counter = field(default_factory=Counter)
    conflicts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0

    def add(self, kind: str, rw: str, seconds: float) -> None:
        with self.lock:
            self.samples.append((kind, rw, seconds))


class User:
    def __init__(self, port: int, account: str, targets: dict, own: dict, results: Results, rng: random.Random):
        self.port, self.account, self.targets, self.own, self.results, self.rng = (
            port,
            account,
            targets,
            own,
            results,
            rng,
        )
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.measuring = False

    # The server closes idle keep-alive connections after 5 s (gunicorn_conf.keepalive): reconnect before that.
    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None or time.monotonic() - self.last_used > 4:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.conn

    def request(self, kind: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict, str]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = self._connection()
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            conn.close()
            self.conn = None
            raise
        finally:
            self.last_used = time.monotonic()
        seconds = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if self.measuring:
            self.results.add(kind, "read" if method == "GET" else "write", seconds)
            with self.results.lock:
                self.results.requests += 1
        if response.status >= 500:
            raise Refused(f"{kind}: HTTP {response.status}")
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), text

    def expect(self, kind: str, path: str, status: int = 200) -> str:
        code, headers, text = self.request(kind, "GET", path)
        if code != status:
            raise Refused(f"{kind}: HTTP {code} {headers.get('location', '')}")
        return text

    def login(self) -> None:
        page = self.expect("login", "/accounts/login/")
        token = CSRF_FIELD.search(page).group(1)
        code, _, _ = self.request(
            "login",
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": self.account, "password": PASSWORD},
            {"Referer": f"http://127.0.0.1:{self.port}/accounts/login/"},
        )
        if code != 302 or "sessionid" not in self.cookies:
            raise Refused(f"login of {self.account}: HTTP {code}")

    def api_headers(self) -> dict:
        return {"X-CSRFToken": self.cookies.get("csrftoken", ""), "Content-Type": "application/json"}

    # The steps -------------------------------------------------------------------------------------------------------

    def queue(self) -> None:
        self.expect("queue", "/cases/")

    def household(self) -> None:
        self.expect("household", f"/registry/households/{self.rng.choice(self.targets['households'])}/")

    def search(self) -> None:
        name = self.rng.choice(self.targets["names"])
        self.expect("search", "/registry/?" + urllib.parse.urlencode({"q": name}))

    def case_action(self) -> None:
        case = self.rng.choice(self.own["cases"])
        page = self.expect("case", f"/cases/{case}/")
        version = VERSION_FIELD.search(page)
        token = CSRF_FIELD.search(page)
        if not (version and token):
            raise Refused("case page without the action form")
        code, headers, _ = self.request(
            "case_action",
            "POST",
            f"/cases/{case}/act/record_objection/",
            {
                "csrfmiddlewaretoken": token.group(1),
                "version": version.group(1),
                "content": "群众反映家庭收入情况与申报不符（负载测试）",
                "raised_by": "",
                "note": "",
            },
            {"Referer": f"http://127.0.0.1:{self.port}/cases/{case}/"},
        )
        if code != 302:
            raise Refused(f"case_action: HTTP {code}")
        page = self.expect("case", urllib.parse.urlparse(headers["location"]).path)
        if "页面已过期" in page or "已被他人" in page:
            with self.results.lock:
                self.results.conflicts["case_action"] += 1
        elif "未办理" in page:
            raise Refused("case_action: refused by the application")

    def api_read(self) -> None:
        if self.rng.random() < 0.7:
            household = self.rng.choice(self.targets["households"])
            self.expect("api_household", f"/api/v1/registry/households/{household}")
        else:
            self.expect("api_queue", "/api/v1/cases/queue")

    def api_write(self) -> None:
        alert = self.rng.choice(self.own["alerts"])
        body = {
            "visited_on": datetime.datetime.now(SHANGHAI).date().isoformat(),
            "finding": "confirmed",
            "notes": "入户核实，情况属实（负载测试）",
        }
        code, _, text = self.request(
            "api_visit", "POST", f"/api/v1/monitoring/alerts/{alert}/visits", json.dumps(body), self.api_headers()
        )
        if code == 409:
            with self.results.lock:
                self.results.conflicts["api_visit"] += 1
        elif code != 201:
            raise Refused(f"api_visit: HTTP {code} {text[:120]}")

    def step(self) -> None:
        kinds = [
            k for k in WEIGHTS if (k != "case_action" or self.own["cases"]) and (k != "api_write" or self.own["alerts"])
        ]
        kind = self.rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        getattr(self, kind)()

    def run(self, think: float, start_at: float, deadline: float, cap: int) -> None:
        time.sleep(max(0.0, start_at - time.monotonic()) + self.rng.uniform(0, think))
        while time.monotonic() < deadline and self.results.requests < cap:
            try:
                self.step()
            except (Refused, OSError, http.client.HTTPException, AttributeError) as exc:
                with self.results.lock:
                    self.results.errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
            time.sleep(self.rng.uniform(0.5 * think, 1.5 * think))
        if self.conn:
            self.conn.close()


# --- one run --------------------------------------------------------------------------------------------------------


def share(items: list, n: int, i: int) -> list:
    """User i's own slice of `items` among n users (all of them when there are fewer items than users)."""
    if len(items) >= n:
        return items[i::n]
    return items


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def load(engine: str, targets: dict, users: int, duration: float, think: float, cap: int, seed: int) -> dict:
    results = Results()
    rng = random.Random(seed)
    load_before = os.getloadavg()[0]
    database = (
        urllib.parse.urlparse(engine_env(engine)["DATABASE_URL"]).path.lstrip("/") if engine == "postgresql" else ""
    )
    with server(engine) as (port, pid):
        per_account: dict[str, int] = defaultdict(int)
        crowd = []
        for i in range(users):
            account = ACCOUNTS[i % len(ACCOUNTS)]
            k, n = per_account[account], -(-users // len(ACCOUNTS))
            per_account[account] += 1
            t = targets[account]
            own = {"cases": share(t["notice_cases"], n, k), "alerts": share(t["alerts"], n, k)}
            crowd.append(User(port, account, t, own, results, random.Random(rng.random())))
        # Logging in is not measured: each user once, a few at a time (PBKDF2 is slow on purpose).
        started = time.monotonic()
        login_errors = []
        gate = threading.Semaphore(4)

        def login(user: User) -> None:
            with gate:
                try:
                    user.login()
                except Exception as exc:
                    login_errors.append(f"{user.account}: {exc}")

        threads = [threading.Thread(target=login, args=(u,)) for u in crowd]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if login_errors:
            raise SystemExit(f"{len(login_errors)} logins failed, e.g. {login_errors[:3]}")
        log(f"{engine}: {users} users logged in ({time.monotonic() - started:.0f} s); measuring for {duration:.0f} s")
        cpu_before = cpu_seconds(pid, database)
        client_before = time.process_time()
        for user in crowd:
            user.measuring = True
        start_at = time.monotonic() + 0.5
        deadline = start_at + duration
        threads = [threading.Thread(target=u.run, args=(think, start_at, deadline, cap)) for u in crowd]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.monotonic() + 90))
        elapsed = time.monotonic() - start_at
        load_after = os.getloadavg()[0]
        cpu = [after - before for after, before in zip(cpu_seconds(pid, database), cpu_before, strict=True)]
        cpu.append(time.process_time() - client_before)  # this process: the 200 users' threads
    return summarise(engine, users, elapsed, think, results, (load_before, load_after), cpu)


def summarise(
    engine: str, users: int, elapsed: float, think: float, results: Results, loadavg: tuple, cpu: list
) -> dict:
    by_kind = defaultdict(list)
    for kind, rw, seconds in results.samples:
        by_kind[(rw, kind)].append(seconds * 1000)
    reads = [s * 1000 for _, rw, s in results.samples if rw == "read"]
    writes = [s * 1000 for _, rw, s in results.samples if rw == "write"]
    summary = {
        "engine": engine,
        "users": users,
        "think_s": think,
        "seconds": round(elapsed, 1),
        "requests": len(results.samples),
        "throughput": round(len(results.samples) / elapsed, 1),
        # The machine's 1-minute load average before the logins and at the end (this run's server and users count
        # in the second): above the number of cores, other work shared the CPUs with the run.
        "loadavg": [round(x, 1) for x in loadavg],
        # CPU milliseconds a request cost the web server and PostgreSQL (measured window; the sessions' logins are
        # outside it), and the rate two dedicated cores would sustain at that cost.
        "cpu_ms_web": round(cpu[0] * 1000 / max(1, len(results.samples)), 1),
        "cpu_ms_db": round(cpu[1] * 1000 / max(1, len(results.samples)), 1),
        # ... and the client (this process), which shares the same cores when run on the server's machine.
        "cpu_ms_client": round(cpu[2] * 1000 / max(1, len(results.samples)), 1),
        "errors": sum(results.errors.values()),
        "error_kinds": dict(results.errors.most_common(10)),
        "conflicts": dict(results.conflicts),
        "read_p50": round(percentile(reads, 50), 1),
        "read_p95": round(percentile(reads, 95), 1),
        "read_p99": round(percentile(reads, 99), 1),
        "write_p50": round(percentile(writes, 50), 1),
        "write_p95": round(percentile(writes, 95), 1),
        "write_p99": round(percentile(writes, 99), 1),
        "kinds": {
            f"{kind} ({rw})": {
                "n": len(v),
                "p50": round(percentile(v, 50), 1),
                "p95": round(percentile(v, 95), 1),
                "mean": round(statistics.fmean(v), 1),
            }
            for (rw, kind), v in sorted(by_kind.items())
        },
    }
    print_summary(summary)
    return summary


def print_summary(s: dict) -> None:
    met = s["errors"] == 0 and s["read_p95"] <= 150 and s["write_p95"] <= 300
    print(
        f"\n== {s['engine']}: {s['users']} users (think {s['think_s']} s) for {s['seconds']} s — "
        f"{s['requests']} requests, {s['throughput']} req/s, {s['errors']} errors, conflicts {s['conflicts'] or 0}"
    )
    print(
        f"   reads  p50 {s['read_p50']} ms  p95 {s['read_p95']} ms  p99 {s['read_p99']} ms   (goal p95 ≤ 150 ms)\n"
        f"   writes p50 {s['write_p50']} ms  p95 {s['write_p95']} ms  p99 {s['write_p99']} ms   (goal p95 ≤ 300 ms)\n"
        f"   goal (0 errors, reads p95 ≤ 150 ms, writes p95 ≤ 300 ms): {'met' if met else 'NOT met'}"
    )
    print(f"   load average before / at the end: {s['loadavg'][0]} / {s['loadavg'][1]} on {os.cpu_count()} cores")
    per_request = s["cpu_ms_web"] + s["cpu_ms_db"]
    if per_request:
        print(
            f"   CPU a request: {s['cpu_ms_web']} ms web server + {s['cpu_ms_db']} ms PostgreSQL = {per_request:.1f} ms "
            f"-> {os.cpu_count()} dedicated cores would serve at most {os.cpu_count() * 1000 / per_request:.0f} req/s"
        )
        print(f"   CPU the client used a request (on the same cores): {s['cpu_ms_client']} ms")
    for kind, v in s["kinds"].items():
        print(f"   {kind:<26} n={v['n']:<6} p50 {v['p50']:>7} ms  p95 {v['p95']:>7} ms  mean {v['mean']:>7} ms")
    for error, n in s["error_kinds"].items():
        print(f"   error ×{n}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200, help="concurrent users on PostgreSQL (default 200)")
    parser.add_argument("--duration", type=float, default=300, help="seconds measured on PostgreSQL (default 300)")
    parser.add_argument("--sqlite-users", default="50,100,200", help="user counts tried on SQLite, one run each")
    parser.add_argument("--sqlite-duration", type=float, default=60, help="seconds of each SQLite run (default 60)")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time between a user's steps (s)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop a run after this many requests")
    parser.add_argument("--households", type=int, default=20000, help="demo households (first run only)")
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.users > 1000 or args.duration > 900 or args.sqlite_duration > 900:
        parser.error("bounded: at most 1000 users and 900 s a run")
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"load benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores (shared machine?)", flush=True)
    summaries = []
    if args.only != "sqlite":
        targets = prepare("postgresql", args.households)
        summaries.append(
            load("postgresql", targets, args.users, args.duration, args.think, args.max_requests, args.seed)
        )
    if args.only != "postgresql":
        targets = prepare("sqlite", args.households)
        for users in [int(n) for n in args.sqlite_users.split(",") if n.strip()]:
            summaries.append(
                load("sqlite", targets, users, args.sqlite_duration, args.think, args.max_requests, args.seed)
            )
    (OUT / "load.json").write_text(json.dumps(summaries, ensure_ascii=False, indent=1))
    print("\nengine       users  req/s  errors  reads p50/p95 ms   writes p50/p95 ms")
    for s in summaries:
        print(
            f"{s['engine']:<12} {s['users']:>5} {s['throughput']:>6} {s['errors']:>7}  "
            f"{s['read_p50']:>6} / {s['read_p95']:<8} {s['write_p50']:>6} / {s['write_p95']}"
        )


if __name__ == "__main__":
    main()

"""One settings module, configured from the environment.

DATABASE_URL   sqlite:///path or postgres://user@host:port/db   (default: SQLite file db.sqlite3 in the working dir)
MINZHENG_PRODUCTION "1" in production (`make serve`, deploy/minzheng.env): SECRET_KEY required, hashed static files
SECRET_KEY     required in production; elsewhere (tests, commands) a per-process key when not set
DEBUG          "1" for development (the demo); off by default
ALLOWED_HOSTS  comma-separated
SECURE_COOKIES "1" behind HTTPS (turns on Secure cookies and HSTS)
WEB_THREADS    threads of each web server process (gunicorn, minzheng/gunicorn_conf.py); sizes the PostgreSQL pool
DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE, DB_POOL_TIMEOUT   PostgreSQL connection pool of each web process (see below)
"""

import os
import sys
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


# Production mode: the web server and the worker started by `make serve` or the systemd units (deploy/). DEBUG stays
# off unless asked for, and the key that signs sessions, CSRF tokens and the queued tasks must be given: a made-up key
# would log everyone out at each restart and make the web server and the worker disagree.
PRODUCTION = _env_flag("MINZHENG_PRODUCTION")
DEBUG = _env_flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if PRODUCTION and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        (
            "生产模式（MINZHENG_PRODUCTION=1）必须设置 SECRET_KEY"
            if not SECRET_KEY
            else "SECRET_KEY 过短（至少32个字符）"
        )
        + "：请在环境变量或 deploy/minzheng.env 中设置一个随机密钥，例如 "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))' 的输出；Web 服务与后台任务进程须使用同一密钥。"
    )
SECRET_KEY = SECRET_KEY or ("insecure-development-key-only" if DEBUG else "")
if not SECRET_KEY:
    # The test runner and management commands run without DEBUG; give them a per-process key rather than
    # a fixed one, so a forgotten SECRET_KEY in production never means a publicly known key.
    import secrets

    SECRET_KEY = secrets.token_urlsafe(50)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost" + ("" if PRODUCTION else ",testserver")).split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "ninja",
    "minzheng.core",
    "minzheng.regions",
    "minzheng.accounts",
    "minzheng.registry",
    "minzheng.policy",
    "minzheng.exchange",
    "minzheng.cases",
    "minzheng.benefits",
    "minzheng.checks",
    "minzheng.monitoring",
    "minzheng.simulation",
    "minzheng.web",
    "minzheng.api",
    "minzheng.demo",
    "django_q",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "minzheng.accounts.sessions.SessionRenewalMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "minzheng.core.middleware.RequestContextMiddleware",
    "minzheng.core.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "minzheng.urls"
WSGI_APPLICATION = "minzheng.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minzheng.web.context_processors.capabilities",
            ],
            "builtins": ["minzheng.core.templatetags.masking", "minzheng.core.templatetags.dates"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{Path.cwd() / 'db.sqlite3'}"), conn_max_age=60
    )
}
# The web server's threads per process (gunicorn's gthread workers, minzheng/gunicorn_conf.py reads the same variable).
WEB_THREADS = int(os.environ.get("WEB_THREADS", "2"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The django-q2 worker forks its processes, and a pool's connections and threads do not survive a fork: it keeps
    # Django's per-process connections (a handful: the guard, its workers, the monitor and the pusher).
    if _env_flag("DB_POOL", default=sys.argv[1:2] != ["qcluster"]):
        # Web processes share psycopg's pool: at most DB_POOL_MAX_SIZE connections a process, whatever the number of
        # threads or clients (one per thread is enough: a request holds one connection); a request that finds the pool
        # busy waits up to DB_POOL_TIMEOUT seconds for one. PostgreSQL must allow web processes × max size + the
        # worker's (4 × 2 + ≈ 5 with the defaults on two cores; PostgreSQL's default max_connections is 100).
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django must not
        # A gunicorn process holds at most its WEB_THREADS connections (the pool opens one only when a thread waits);
        # the ceiling of 8 lets a server with more threads than that (runserver, the tests' live server) not wait.
        _pool_max = int(os.environ.get("DB_POOL_MAX_SIZE", str(max(WEB_THREADS, 8))))
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(int(os.environ.get("DB_POOL_MIN_SIZE", "2")), _pool_max),
            "max_size": _pool_max,
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so two writers
        # queue instead of one failing with "database is locked" half-way through a transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests use a file, not shared-cache memory: only then do WAL, IMMEDIATE transactions and busy_timeout serialise
    # concurrent writers as they do in a deployment (the concurrency tests depend on it).
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_NAME")
        or str(Path(tempfile.gettempdir()) / f"minzheng-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "minzheng.accounts.backends.RegionModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "minzheng.accounts.passwords.CharacterClassValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: 5 failures for one username from one address locks it for 30 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Sessions: short idle timeout, renewed on activity; cookies not readable by scripts.
SESSION_COOKIE_AGE = 30 * 60
# Renewed on activity at most once a minute (accounts.sessions), not rewritten on every request.
SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = _env_flag("SECURE_COOKIES")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every page: scripts, styles and images from this site only, no inline script
# or style (the pages' scripts are static files, minzheng/static/js; the vendored htmx, Bootstrap and ECharts are
# too), no plugins, no framing, forms posting only here. Bootstrap's icons are data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
# The only language: LocaleMiddleware would otherwise follow an English browser into the admin's English.
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", Path.cwd() / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In production whitenoise serves what `collectstatic` (run by `make serve` and the web unit) put in STATIC_ROOT:
# names carrying their content's hash, cached for a year by browsers, gzip- and Brotli-compressed in advance. Tests,
# the demo and commands serve the source files directly.
SERVE_COLLECTED_STATIC = PRODUCTION and not DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "minzheng.core.staticfiles.StaticStorage"
        if SERVE_COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not SERVE_COLLECTED_STATIC

FORM_RENDERER = "minzheng.core.forms.FormRenderer"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "axes": {"handlers": ["console"], "level": "WARNING"},
        # Server errors with their tracebacks on stderr (Django's default sends them only to ADMINS by mail).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# The platform's own settings.
MINZHENG_PAGE_SIZE = 50

# Departmental data snapshots (Parquet), import reject reports and batch results live here, outside the database.
CHECKS_DATA_DIR = Path(os.environ.get("CHECKS_DATA_DIR", Path.cwd() / "var" / "checks"))
# A batch re-check of a province runs the rules over this many households at a time (`checks.engine.stream`): a
# chunk's working set stays in memory instead of spilling to disk, and the results are streamed, never held whole.
CHECKS_BATCH_CHUNK_HOUSEHOLDS = int(os.environ.get("CHECKS_BATCH_CHUNK_HOUSEHOLDS", "1000000"))
# The engine of batch re-checks and monitoring sweeps started from the pages and schedules (the commands take
# --engine): "duckdb" on this machine, or "spark" on SPARK_MASTER (`local[2]`, `spark://host:7077`, `yarn`), reading
# the snapshots at SNAPSHOT_URI (empty: CHECKS_DATA_DIR itself, e.g. mounted at the same path on every worker; or
# `hdfs://…`/`s3a://…` holding a copy of CHECKS_DATA_DIR's files). See README, "A province on Spark".
CHECKS_ENGINE = os.environ.get("CHECKS_ENGINE", "duckdb")
SPARK_MASTER = os.environ.get("SPARK_MASTER", "local[2]")
SPARK_DRIVER_MEMORY = os.environ.get("SPARK_DRIVER_MEMORY", "4g")
SNAPSHOT_URI = os.environ.get("SNAPSHOT_URI", "")

# Limits per departmental data delivery (exchange app, issue 18 §3): a delivery over any of them is refused whole with
# a Chinese message, lands nothing and is audited. Files, pushes and the web upload (which streams to disk and is
# imported by the worker) are held to the same limits. Defaults fit a city's monthly deliveries; a province raises them.
_MIB = 1024 * 1024
# The delivered file as stored (CSV, xlsx, Parquet). 1 GiB holds a 10-million-row wage CSV.
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(1024 * _MIB)))
# Data rows of one delivery (an .xlsx sheet holds at most 1,048,575 below its header row, whatever this says).
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "10000000"))
# An .xlsx is a zip: its members' declared sizes are checked before it is opened (Python's zipfile never inflates a
# member beyond its declared size). Total of all members; each worksheet (streamed); each other part, which openpyxl
# reads whole into memory (shared strings — at about ten times their size in RAM —, styles, workbook).
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", str(1024 * _MIB)))
IMPORT_XLSX_MAX_SHEET_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_SHEET_BYTES", str(512 * _MIB)))
IMPORT_XLSX_MAX_PART_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_PART_BYTES", str(64 * _MIB)))
# Above this share of rejected rows (malformed, or duplicates) the delivery is refused whole and the one in force
# stays; the rejects report is still written so the department can correct its file. 1 turns the check off.
IMPORT_MAX_REJECTED_SHARE = float(os.environ.get("IMPORT_MAX_REJECTED_SHARE", "0.2"))
# A delivery with fewer valid rows than this share of what the delivery in force holds for the same region is refused
# unless the importer confirms it is complete (a 2-row file would otherwise become a county's data). 0 turns it off.
IMPORT_MIN_REPLACED_SHARE = float(os.environ.get("IMPORT_MIN_REPLACED_SHARE", "0.5"))
# One API push (`POST /api/v1/checks/sources/{source}/rows`): rows and request body.
IMPORT_MAX_PUSH_ROWS = int(os.environ.get("IMPORT_MAX_PUSH_ROWS", "50000"))
IMPORT_MAX_PUSH_BYTES = int(os.environ.get("IMPORT_MAX_PUSH_BYTES", str(64 * _MIB)))

# Background jobs (batch re-checks, nightly sweeps): django-q2 with the ORM broker, so SQLite and PostgreSQL
# deployments need no extra server. `minzheng qcluster` runs the worker; Q_SYNC=1 runs jobs inline (tests).
Q_CLUSTER = {
    "name": "minzheng",
    "orm": "default",
    "workers": int(os.environ.get("Q_WORKERS", "1")),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 1,
    "catch_up": False,
    "sync": _env_flag("Q_SYNC"),
    "label": "后台任务",
    # The ORM broker, plus the heartbeat `/healthz` reads (web.heartbeat).
    "broker_class": "minzheng.web.heartbeat.HeartbeatBroker",
}
# `/healthz` fails when the snapshot folder (CHECKS_DATA_DIR) has less free space than this.
HEALTHZ_MIN_FREE_DISK_MB = int(os.environ.get("HEALTHZ_MIN_FREE_DISK_MB", "1024"))

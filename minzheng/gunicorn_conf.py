"""gunicorn's configuration for the production web server: `gunicorn -c python:minzheng.gunicorn_conf` (`make serve`,
deploy/minzheng-web.service). Each value can be changed through the environment.

Processes and threads: two processes per core (WEB_WORKERS, default twice the number of cores), each with WEB_THREADS
threads (default 2; the `gthread` worker class). Python runs one thread at a time per process: the threads overlap the
time a request waits for the database, but the requests a process holds share its one core, so many threads a process
only stretch every request when the server is busy. On two cores under the 200-user load (benchmarks/load.py,
docs/benchmarks.md), at the same CPU a request, the reads' p95 was 140 ms with 4 processes × 2 threads, 162 ms with
6 × 2, 167 ms with 4 × 4, and far worse with the earlier 2 × 8. Idle keep-alive connections wait in the worker's
poller, not on a thread, so a process holds far more open clients than threads; a deployment whose staff download
many large exports at once can raise WEB_THREADS. Each process keeps a PostgreSQL pool of up to WEB_THREADS
connections (settings.py, DB_POOL_MAX_SIZE): 4 processes × 2 threads = 8 requests in progress at once and at most
8 database connections, plus the worker's few.
"""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS") or 2 * (os.cpu_count() or 1))
threads = int(os.environ.get("WEB_THREADS", "2"))
# A request still running after this is killed (with its process); batch work runs in the worker, never in a request.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Restart a process after this many requests (with jitter, so they do not all restart together): bounds any slow leak.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# No preloading: each process opens its own database pool after the fork.
preload_app = False
wsgi_app = "minzheng.wsgi:application"
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
proc_name = "minzheng-web"
# gunicorn's runtime control socket (`gunicornc`) is not used; without this every instance on a host would claim the
# same ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True
# Behind a reverse proxy on this machine (nginx terminating TLS): trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

"""gunicorn settings for production (README, "Production") and for bench/load.py.

    gunicorn -c gunicorn.conf.py wsgi:app

Every setting can be overridden from the environment, so one file serves every machine.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Processes do the work (Python runs one thread at a time per process); threads cover the time a
# request waits on PostgreSQL, Redis or SMTP. Two processes per core plus one is the usual start.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A request that takes longer is stuck (a lost database connection): the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows old.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
# Load the app once in the master and fork the workers from it: a recycled worker is ready in
# milliseconds instead of the two CPU-seconds an import of the app costs (on a busy day that is
# a worker every few seconds), and the workers share the loaded code's memory. The app drops
# database and Redis connections inherited over a fork (bbtraining.forget_connections_after_fork).
# A new release therefore needs a restart of gunicorn, not a HUP.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
# The reverse proxy on the same machine is the only one whose X-Forwarded-* gunicorn passes on;
# the app's ProxyFix (TRUST_PROXY_HOPS) then reads them.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None  # the proxy logs requests already
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")

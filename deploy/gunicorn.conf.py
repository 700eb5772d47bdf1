"""gunicorn settings; `make run` uses them, and so can a systemd unit in production.

Every value can be changed by environment variable (HOST, PORT, WEB_CONCURRENCY, GUNICORN_TIMEOUT).
"""

import gc
import multiprocessing
import os
import shutil
import threading
from pathlib import Path

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(4, multiprocessing.cpu_count() * 2))
# A gthread worker that takes a new connection only while it has a thread free (server/serving.py says why).
worker_class = "server.serving.BalancedThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# Photo uploads from a slow field connection can take a while; resumable PUTs keep each request short.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
graceful_timeout = 30
keepalive = 5
# The app logs every request itself (request id, client address behind nginx, duration; server/observability.py).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Forwarded headers are trusted only from the local reverse proxy (deploy/nginx.conf).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket sits at one path per user: two servers (tests, a second checkout) would fight
# over it, and nothing here uses it.
control_socket_disable = True

# Prometheus metrics from every worker: each writes its samples into this folder, /metrics adds them up. Set
# here, before any worker imports prometheus_client; one folder per server (instance), emptied on start.
prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(
    Path(os.environ.get("INSTANCE_PATH") or Path(__file__).resolve().parent.parent / "instance") / "prometheus"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = prometheus_dir


def on_starting(server):
    """Drop the samples of a previous run: counters start again with the server."""
    shutil.rmtree(prometheus_dir, ignore_errors=True)
    os.makedirs(prometheus_dir, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    """A worker that ended stops counting in the live gauges (its counters and histograms stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, prometheus_dir)


def _without_server_header():
    """gunicorn names itself (and so invites version-specific attacks) in a Server header: leave it out."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers

    def default_headers(self):
        return [line for line in original(self) if not line.lower().startswith("server:")]

    wsgi.Response.default_headers = default_headers


_without_server_header()


def post_worker_init(worker):
    """Freeze the loaded app out of the garbage collector's scans; warm the 清零 cache in the background, and
    freeze it too."""
    from server.caches import warm_and_freeze_caches

    # The app's own objects (models, schemas, routes) live as long as the worker: a full collection triggered by
    # a push's many allocations would walk them all (80-130 ms pauses were seen). Frozen, it walks the request's.
    gc.collect()
    gc.freeze()

    # The caches warmed next live as long as the worker too (a province's verdicts and layers: ~30,000 objects
    # the collector would otherwise walk at every full collection); server/caches.py says why freezing them is
    # safe.
    threading.Thread(
        target=warm_and_freeze_caches, args=(worker.wsgi,), name="warm-clearance", daemon=True
    ).start()

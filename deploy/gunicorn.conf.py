"""gunicorn for the portal, the API and the workplace (README "Production"; bench/portal.py runs with it).

    gunicorn famhp.wsgi:application --config deploy/gunicorn.conf.py

One worker process per core (the GIL lets one Python thread run at a time in a process) and a few threads per
worker to cover the time a request waits on PostgreSQL; kept-alive connections between requests. The
environment may change the counts and the address: GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_BIND.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(os.cpu_count() or 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
#: the proxy in front keeps its connections to gunicorn open between requests
keepalive = 30
#: Django and the project are imported once, in the master, before the workers fork (memory shared, quick start)
preload_app = True
#: a request that hangs is ended; a worker is replaced after many requests (slow leaks do not build up)
timeout = 60
max_requests = 20000
max_requests_jitter = 2000
#: no access log line per request in gunicorn: the proxy in front logs them
accesslog = None
loglevel = "warning"

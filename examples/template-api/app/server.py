"""template-api: a prediction API on PostgreSQL and Redis with Prometheus metrics.

Run (the deployment does): python3 server.py   (listens on $PORT, default 8092)
Environment: DATABASE_URL (postgres://…, a secret), REDIS_URL (redis://…, a secret), MODEL_VERSION.
  POST /predict {"features": [16 floats]} -> {"probability": p, "cached": bool, "id": row id, "version": V}
      The score of a logistic model with fixed weights; answers are cached in Redis by the features'
      hash (a second identical request is a cache hit) and every prediction is a row in PostgreSQL.
  GET /predictions/count                 -> {"count": rows in PostgreSQL}
  GET /metrics                            -> Prometheus text exposition (requests, cache hits, latency)
  GET /healthz                            -> 200 once PostgreSQL and Redis answer, else 503
Uses Debian's python3-psycopg2 and python3-redis; the exposition is written by hand (it is a few lines).
"""
import hashlib
import json
import math
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

VERSION = os.environ.get("MODEL_VERSION", "1")
WEIGHTS = [0.8, -0.4, 0.3, 0.2, -0.1, 0.5, 0.05, -0.3, 0.25, 0.1, -0.2, 0.15, 0.4, -0.05, 0.35, -0.25]
BIAS = -0.2
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]

cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=2)
_local = threading.local()
_lock = threading.Lock()
_metrics = {"requests": {}, "cache_hits": 0, "latency_count": 0, "latency_sum": 0.0, "buckets": [0] * len(BUCKETS)}


def db():
    """One connection per server thread (psycopg2 connections are not shared across threads)."""
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=3)
        connection.autocommit = True
        _local.connection = connection
    return connection


def migrate():
    with db().cursor() as cursor:
        cursor.execute(
            "create table if not exists template_api_predictions ("
            " id bigserial primary key, features_hash text not null, probability double precision not null,"
            " version text not null, created timestamptz not null default now())"
        )


def score(features):
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, features))
    return 1 / (1 + math.exp(-z))


def observe(route, status, seconds):
    with _lock:
        key = (route, status)
        _metrics["requests"][key] = _metrics["requests"].get(key, 0) + 1
        _metrics["latency_count"] += 1
        _metrics["latency_sum"] += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                _metrics["buckets"][i] += 1


def exposition():
    with _lock:
        lines = ["# HELP template_api_requests_total Requests by route and status.", "# TYPE template_api_requests_total counter"]
        for (route, status), n in sorted(_metrics["requests"].items()):
            lines.append(f'template_api_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += ["# HELP template_api_cache_hits_total Predictions answered from Redis.", "# TYPE template_api_cache_hits_total counter",
                  f"template_api_cache_hits_total {_metrics['cache_hits']}",
                  "# HELP template_api_request_seconds Request latency.", "# TYPE template_api_request_seconds histogram"]
        for bound, n in zip(BUCKETS, _metrics["buckets"]):
            lines.append(f'template_api_request_seconds_bucket{{le="{bound}"}} {n}')
        lines += [f'template_api_request_seconds_bucket{{le="+Inf"}} {_metrics["latency_count"]}',
                  f"template_api_request_seconds_sum {_metrics['latency_sum']}",
                  f"template_api_request_seconds_count {_metrics['latency_count']}"]
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        start = time.perf_counter()
        if self.path == "/healthz":
            try:
                cache.ping()
                with db().cursor() as cursor:
                    cursor.execute("select 1")
                self.answer(200, {"status": "ok"})
            except Exception as error:  # either store down: not ready
                self.answer(503, {"status": "unavailable", "error": type(error).__name__})
            return
        if self.path == "/metrics":
            return self.answer(200, exposition(), content_type="text/plain; version=0.0.4")
        if self.path == "/predictions/count":
            with db().cursor() as cursor:
                cursor.execute("select count(*) from template_api_predictions")
                count = cursor.fetchone()[0]
            return self.answer(200, {"count": count}, route="/predictions/count", start=start)
        self.answer(404, {"error": f"no route {self.path}"})

    def do_POST(self):
        start = time.perf_counter()
        if self.path != "/predict":
            return self.answer(404, {"error": f"no route {self.path}"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
            features = [float(x) for x in body["features"]]
            if len(features) != len(WEIGHTS):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self.answer(400, {"error": f"features: must be a list of {len(WEIGHTS)} numbers"}, route="/predict", start=start)
        key = "template-api:" + VERSION + ":" + hashlib.sha256(json.dumps(features).encode()).hexdigest()
        cached = cache.get(key)
        probability = float(cached) if cached is not None else score(features)
        if cached is None:
            cache.set(key, repr(probability), ex=3600)
        else:
            with _lock:
                _metrics["cache_hits"] += 1
        with db().cursor() as cursor:
            cursor.execute(
                "insert into template_api_predictions (features_hash, probability, version) values (%s, %s, %s) returning id",
                (key.rsplit(":", 1)[1], probability, VERSION),
            )
            row = cursor.fetchone()[0]
        self.answer(200, {"probability": probability, "cached": cached is not None, "id": row, "version": VERSION},
                    route="/predict", start=start)

    def answer(self, status, body, content_type="application/json", route=None, start=None):
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if route is not None:
            observe(route, status, time.perf_counter() - start)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    migrate()
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8092"))), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass

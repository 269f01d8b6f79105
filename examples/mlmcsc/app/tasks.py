"""The Celery side of mlmcsc: feature extraction of a numeric series, on Redis.

Run (the worker deployment does): python3 -m celery -A tasks worker -Q $QUEUE
Environment: REDIS_URL (broker and results, default redis://127.0.0.1:6379/0),
QUEUE (the Redis list the API pushes to and the autoscaler reads, default mlmcsc-extract).
"""
import math
import os

from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("QUEUE", "mlmcsc-extract")

app = Celery("mlmcsc", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    # One task at a time per replica, acknowledged when done: a worker stopped mid-task (SIGTERM
    # with a grace period, or a crash) leaves the task for another replica instead of losing it.
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
)


@app.task(name="mlmcsc.extract")
def extract(values):
    """Summary features of a series: count, mean, standard deviation, min, max, least-squares slope."""
    n = len(values)
    if n == 0:
        raise ValueError("values: must hold at least one number")
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    xs = range(n)
    x_mean = (n - 1) / 2
    denominator = sum((x - x_mean) ** 2 for x in xs)
    slope = 0.0 if denominator == 0 else sum((x - x_mean) * (v - mean) for x, v in zip(xs, values)) / denominator
    return {
        "count": n,
        "mean": round(mean, 6),
        "std": round(std, 6),
        "min": min(values),
        "max": max(values),
        "slope": round(slope, 6),
        "worker": os.getpid(),
    }

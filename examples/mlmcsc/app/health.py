"""The worker's health command: exit 0 when the broker answers, 1 otherwise (the worker process
itself is watched by Wharf; this adds "and it can reach its queue")."""
import os
import sys

import redis

try:
    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=2).ping()
except redis.RedisError as error:
    print(f"redis unreachable: {type(error).__name__}", file=sys.stderr)
    sys.exit(1)

"""The FastAPI side of mlmcsc: queues feature extraction for the Celery worker and answers with it.

Run (the API deployment does): python3 -m uvicorn api:app --port $PORT
  POST /extract {"values": [1, 2, 3]}           -> 202 {"task": ID, "version": V}
  POST /extract?wait=10 {"values": [...]}       -> 200 {"task": ID, "features": {...}, "version": V}
  GET  /tasks/ID                                -> {"task": ID, "state": "PENDING"|"SUCCESS"|..., "features"?: {...}}
  GET  /healthz                                 -> 200 once Redis answers (readiness), else 503
API_VERSION (env) is echoed in every answer, so a blue-green switch shows which side answered.
"""
import os

import redis
from celery.result import AsyncResult
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel

from tasks import REDIS_URL, app as celery_app, extract

VERSION = os.environ.get("API_VERSION", "1")
app = FastAPI(title="mlmcsc")
_redis = redis.Redis.from_url(REDIS_URL, socket_timeout=2)


class Series(BaseModel):
    values: list[float]


@app.get("/healthz")
def healthz(response: Response):
    try:
        _redis.ping()
    except redis.RedisError as error:
        response.status_code = 503
        return {"status": "redis unreachable", "error": type(error).__name__}
    return {"status": "ok", "version": VERSION}


@app.post("/extract", status_code=202)
def queue_extraction(series: Series, response: Response, wait: float = 0):
    if not series.values:
        raise HTTPException(status_code=400, detail="values: must hold at least one number")
    if wait < 0 or wait > 30:
        raise HTTPException(status_code=400, detail="wait: must be a number of seconds from 0 to 30")
    task = extract.delay(series.values)
    if wait == 0:
        return {"task": task.id, "version": VERSION}
    try:
        features = task.get(timeout=wait)
    except Exception as error:  # celery's TimeoutError, or the task's own failure
        response.status_code = 202
        return {"task": task.id, "state": task.state, "error": type(error).__name__, "version": VERSION}
    response.status_code = 200
    return {"task": task.id, "features": features, "version": VERSION}


@app.get("/tasks/{task_id}")
def task_state(task_id: str):
    result = AsyncResult(task_id, app=celery_app)
    answer = {"task": task_id, "state": result.state, "version": VERSION}
    if result.successful():
        answer["features"] = result.result
    return answer

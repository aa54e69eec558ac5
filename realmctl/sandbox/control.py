"""Sandbox control endpoints under `/sandbox/`: request counters, faults, latency.

`PUT /sandbox/faults` takes `{"rate": F, "seed": S}` and optionally `"slowMs"` (how long a "slow"
fault holds the answer, default 1000). Each Keycloak request draws from a `random.Random(seed)`:
with probability `rate` it becomes a 503, a dropped connection or a slow answer, so the same seed
and request order give the same faults.

They need a master admin token and are never counted, delayed or faulted, so a test can read the
counters without disturbing them.
"""

from __future__ import annotations

from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, Stats


def get_requests(req: Request) -> Response:
    app = req.app
    with app.stats_lock:
        stats = app.stats
        body = {
            "total": stats.total,
            "byMethod": dict(stats.by_method),
            "byPath": dict(stats.by_path),
            "log": list(stats.log),
        }
    return Response(200, body)


def reset_requests(req: Request) -> Response:
    with req.app.stats_lock:
        req.app.stats = Stats()
    return NO_CONTENT


def put_faults(req: Request) -> Response:
    body = req.json_object()
    try:
        rate = float(body.get("rate", 0.0))
        seed = int(body.get("seed", 0))
        slow_ms = int(body.get("slowMs", req.app.slow_ms))
    except (TypeError, ValueError):
        raise HttpError(400, {"error": "rate must be a number and seed an integer"}) from None
    if not 0.0 <= rate <= 1.0:
        raise HttpError(400, {"error": "rate must be between 0 and 1"})
    req.app.set_faults(rate, seed)
    req.app.slow_ms = max(slow_ms, 0)
    return NO_CONTENT


def put_latency(req: Request) -> Response:
    body = req.json_object()
    try:
        ms = int(body.get("ms", 0))
    except (TypeError, ValueError):
        raise HttpError(400, {"error": "ms must be an integer"}) from None
    if ms < 0:
        raise HttpError(400, {"error": "ms must not be negative"})
    req.app.latency_ms = ms
    return NO_CONTENT


def register(router: Router) -> None:
    router.add("GET", "/sandbox/requests", get_requests, auth="sandbox")
    router.add("POST", "/sandbox/requests/reset", reset_requests, auth="sandbox")
    router.add("PUT", "/sandbox/faults", put_faults, auth="sandbox")
    router.add("PUT", "/sandbox/latency", put_latency, auth="sandbox")

"""An `Api` that never opens a connection: GETs are answered from recorded reads, writes fail.

The core tests plan from these recordings in milliseconds; `RecordingApi` makes them from a real
run against the sandbox (see tests/core/record.py).
"""

import json
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from realmctl.keycloak.session import Api, NotFound, RetryPolicy, Settings
from realmctl.keycloak.transport import Clock

MISSING = {"__status__": 404}  # a recorded 404


def read_key(path: str, params: Mapping[str, Any] | None) -> str:
    """How a read is filed: the path and its query, in a stable order."""
    query = "&".join(f"{k}={params[k]}" for k in sorted(params or {}))
    return f"{path}?{query}" if query else path


class OfflineApi(Api):
    """Answers each GET from `reads`; any write is a test failure (plan must never write)."""

    def __init__(self, reads: dict[str, Any], url: str = "http://keycloak.invalid") -> None:
        # Api.__init__ is skipped on purpose: it builds TLS contexts and a connection pool (0.6 s),
        # and this Api never connects. These are the attributes the rest of Api reads.
        self.settings = Settings(url=url, user="admin", password="admin")
        self.parallelism = 4
        self.retry = RetryPolicy()
        self.clock = Clock()
        self.counts: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._serverinfo: dict[str, Any] | None = None
        self.reads = reads
        self.sent: list[tuple[str, str]] = []

    def login(self) -> None:  # nothing to log in to
        return None

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        self.sent.append((method, path))
        self.counts[method] += 1
        if method != "GET":
            raise AssertionError(f"{method} /{path}: a write, where no write may be sent")
        key = read_key(path, params)
        if key not in self.reads:
            raise AssertionError(f"GET /{key} was not recorded; re-record with `python -m tests.core.record`")
        answer = self.reads[key]
        if answer == MISSING:
            raise NotFound("GET", path, 404, None)
        return json.loads(json.dumps(answer))  # a fresh copy, as a server would send


class RecordingApi(Api):
    """A real Api that files every GET answer (404 too) under `read_key`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, parallelism=4)
        self.reads: dict[str, Any] = {}

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        try:
            answer = super()._send(method, path, body, params, idempotent)
        except NotFound:
            if method == "GET":
                self.reads[read_key(path, params)] = MISSING
            raise
        if method == "GET":
            self.reads[read_key(path, params)] = answer
        return answer

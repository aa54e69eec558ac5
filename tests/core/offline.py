"""An `Api` that never opens a connection: GETs are answered from recorded reads, writes fail.

The core tests plan from these recordings in milliseconds; `RecordingApi` makes them from a real
run against the sandbox (see tests/core/record.py). Both share realmctl's own machinery for saved
snapshots (`realmctl.saved`): the same filing of reads, only the recorded 404 is spelled apart.
"""

from collections.abc import Mapping
from typing import Any

from realmctl.keycloak.session import Api, NotFound, Settings
from realmctl.saved import ReadsApi, read_key

MISSING = {"__status__": 404}  # a recorded 404


class OfflineApi(ReadsApi):
    """Answers each GET from `reads`; any write is a test failure (plan must never write)."""

    missing = MISSING

    def __init__(self, reads: dict[str, Any], url: str = "http://keycloak.invalid") -> None:
        super().__init__(reads, url, parallelism=4)
        self.sent: list[tuple[str, str]] = []

    def refuse_write(self, method: str, path: str) -> Exception:
        return AssertionError(f"{method} /{path}: a write, where no write may be sent")

    def not_held(self, key: str) -> Exception:
        return AssertionError(f"GET /{key} was not recorded; re-record with `python -m tests.core.record`")

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
        return super()._send(method, path, body, params, idempotent)


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

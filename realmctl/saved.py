"""Saved snapshots: `realmctl plan --save-snapshot FILE` and, later, `plan --snapshot FILE` offline.

A snapshot file holds what gather read (every GET answer the plan needed, serverinfo included) and
the server it came from; planning from it answers those reads from the file, with no server and no
credentials, and gives the plan the server would have given then. No secret is written:

* a client's secret (Keycloak returns it in clear) is replaced by a `Sealed` marker holding a
  salted fingerprint of it, where the spec declares the secret (so the plan can still tell whether
  it changed), and the stored fingerprints it matched, where an exchange identity provider takes it
  from its source client; every other client's secret is left out;
* any other field named like a secret is left out unless it is Keycloak's mask (`**********`);
  the fingerprints realmctl keeps beside an identity provider's secret stay (the plan compares
  them, and anyone who may view the provider can read them anyway), and so does the realm's
  digest of them (`realmctl.fingerprint.idp-secrets`, realmctl/secrets_digest.py). It proves the
  per-IdP checks offline too, except in a realm where a sealed secret enters it (an exchange IdP
  taking its source client's secret): it cannot be recomputed without the value, so that realm's
  IdPs are checked one by one, and the plan is the same.
"""

import contextlib
import copy
import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from realmctl.errors import RealmctlError
from realmctl.fingerprint import Sealed, fingerprint, matches
from realmctl.gather import Snapshot
from realmctl.keycloak.session import Api, NotFound, RetryPolicy, Settings
from realmctl.keycloak.transport import Clock
from realmctl.spec.secrets import looks_secret

FORMAT = "realmctl.snapshot"
MISSING = {"$status": 404}
MASK = "**********"
FINGERPRINTS = "realmctl.fingerprint."


def read_key(path: str, params: Mapping[str, Any] | None) -> str:
    """How a read is filed: the path and its query, in a stable order."""
    query = "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    return f"{path}?{query}" if query else path


@contextlib.contextmanager
def recording(api: Api) -> Iterator[dict[str, Any]]:
    """Files every GET answer `api` receives meanwhile (404s too) under `read_key`."""
    reads: dict[str, Any] = {}
    send = api._send

    def noting(
        method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None, idempotent: bool = False
    ) -> Any:
        try:
            answer = send(method, path, body, params, idempotent)
        except NotFound:
            if method == "GET":
                reads[read_key(path, params)] = MISSING
            raise
        if method == "GET":
            reads[read_key(path, params)] = copy.deepcopy(answer)
        return answer

    api._send = noting  # type: ignore[method-assign]
    try:
        yield reads
    finally:
        del api._send


def _kept_secrets(snapshot: Snapshot) -> dict[tuple[str, str], set[str]]:
    """(realm, clientId) -> the IdP fingerprints its secret must be compared with, for the clients
    whose secret the plan compares: declared with one, or the source of an exchange IdP."""
    out: dict[tuple[str, str], set[str]] = {}
    for (realm, kind), wanted in snapshot.wanted.items():
        for resource in wanted:
            if kind == "client" and "secret" in resource.secrets:
                out.setdefault((realm, resource.key[0]), set())
            source = resource.data.get("secret_from") if kind == "identity-provider" else None
            if source:
                live = next((x for x in snapshot.live(realm, kind) if x.key == resource.key), None)
                stored = {v for v in (live.secrets.values() if live else ()) if v}
                out.setdefault((source[0], source[1]), set()).update(stored)
    return out


def _scrub(value: Any, realm: str | None, kept: dict[tuple[str, str], set[str]]) -> Any:
    if isinstance(value, list):
        return [_scrub(v, realm, kept) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "secret" and "clientId" in value and isinstance(item, str):
            prints = kept.get((realm or "", str(value["clientId"])))
            if prints is not None:
                matched = sorted(p for p in prints if matches(item, p))
                out[key] = {"$sealed": fingerprint(item), "matching": matched}
            continue
        if looks_secret(str(key)) and isinstance(item, str) and not str(key).startswith(FINGERPRINTS):
            if item == MASK:
                out[key] = item
            continue
        out[key] = _scrub(item, realm, kept)
    return out


def _realm_of(key: str) -> str | None:
    parts = key.split("?", 1)[0].split("/")
    return parts[2] if len(parts) > 2 and parts[:2] == ["admin", "realms"] else None


def save(path: str, reads: dict[str, Any], snapshot: Snapshot, server: str) -> None:
    """Writes the snapshot file (no secret values, see the module's doc)."""
    from urllib.parse import unquote

    kept = _kept_secrets(snapshot)
    body = {
        "format": FORMAT,
        "version": 1,
        "server": server,
        "reads": {k: _scrub(v, unquote(_realm_of(k) or ""), kept) for k, v in sorted(reads.items())},
    }
    Path(path).write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _unseal(value: Any) -> Any:
    if isinstance(value, list):
        return [_unseal(v) for v in value]
    if isinstance(value, dict):
        if "$sealed" in value:
            return Sealed(str(value["$sealed"]), frozenset(value.get("matching") or []))
        return {k: _unseal(v) for k, v in value.items()}
    return value


class ReadsApi(Api):
    """An Api that never opens a connection: each GET is answered from `reads` (filed by
    `read_key`; `missing` marks a recorded 404), and no write is ever sent. Planning from a saved
    snapshot uses it, and so do the core tests (from their recordings)."""

    missing: dict[str, Any] = MISSING

    def __init__(self, reads: dict[str, Any], url: str, parallelism: int = 1) -> None:
        # Api.__init__ is skipped on purpose: it builds TLS contexts and a connection pool (0.6 s),
        # and this Api never connects. These are the attributes the rest of Api reads.
        self.settings = Settings(url=url, user="", password="")
        self.parallelism = parallelism
        self.retry = RetryPolicy()
        self.clock = Clock()
        self.counts: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._serverinfo: dict[str, Any] | None = None
        self.reads = reads

    def login(self) -> None:
        return None

    def refuse_write(self, method: str, path: str) -> Exception:
        return RealmctlError(f"{method} /{path}: planning from a snapshot sends nothing")

    def not_held(self, key: str) -> Exception:
        return RealmctlError(f"GET /{key} was not saved")

    def answer(self, value: Any) -> Any:
        """A fresh copy of a filed answer, as a server would send."""
        return copy.deepcopy(value)

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        if method != "GET":
            raise self.refuse_write(method, path)
        key = read_key(path, params)
        if key not in self.reads:
            raise self.not_held(key)
        found = self.reads[key]
        if found == self.missing:
            raise NotFound("GET", path, 404, None)
        return self.answer(found)


class SnapshotApi(ReadsApi):
    """An Api over a saved snapshot: GETs are answered from the file, and nothing is ever sent.

    A read the file does not hold means the spec asks for more than was saved with: said in one
    sentence, with what to do."""

    def __init__(self, path: str) -> None:
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise RealmctlError(f"cannot read the snapshot {path}: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("reads"), dict):
            raise RealmctlError(f"{path} is not a realmctl snapshot (made by `realmctl plan --save-snapshot FILE`)")
        super().__init__(body["reads"], str(body.get("server") or ""))
        self.file = path

    def not_held(self, key: str) -> Exception:
        return RealmctlError(
            f"the snapshot {self.file} does not hold GET /{key}, which this spec needs: save it again "
            "with this spec (`realmctl plan SPEC --save-snapshot FILE`)"
        )

    def answer(self, value: Any) -> Any:
        return _unseal(copy.deepcopy(value))

"""Plan and apply: the spec and the live server in, ordered changes out, then executed.

`make_plan` gathers (realmctl.gather: every read, once), then diffs (realmctl.diff, pure and with
no connection: changes with their calls built from the snapshot, and each realm's ownership-record
write as a change of its own); it never writes. `apply_plan` sends exactly the planned calls in dependency waves,
resolving refs from earlier answers (realmctl.calls), and stops at the first failure with an
account of what was and was not applied.
"""

import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from realmctl import secrets_digest
from realmctl.calls import Answers, Call, DigestWrite, Find, RecordMerge, Unresolved, path_text
from realmctl.diff import Safety, diff, merge_record, spec_values
from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.fingerprint import fingerprint
from realmctl.gather import Snapshot, gather
from realmctl.keycloak.session import Api, ApiError, Transient
from realmctl.kinds import RealmState
from realmctl.kinds.record import RecordKind
from realmctl.live import LINKS_ATTRIBUTE, parse_links
from realmctl.plan import SENSITIVE, Change, Plan
from realmctl.spec.model import Spec


@dataclass
class Run:
    """A computed plan with the live readers it was made from."""

    plan: Plan
    states: dict[str, RealmState]
    snapshot: Snapshot | None = None  # what the plan was computed from (check reuses it)
    connection: Api | None = None  # where apply sends the calls (make_plan's Api)

    @property
    def api(self) -> Api:
        """The connection the executor sends the calls on: the one the snapshot was read through."""
        return self.connection if self.connection is not None else next(iter(self.states.values())).api


def make_plan(spec: Spec, api: Api, safety: Safety | None = None) -> Run:
    """Gathers the live realms the spec names, then diffs them against it. Sends no write.

    The reads happen in `gather` (each once, concurrently); everything after it is computed from
    the snapshot, which the run keeps so that `check` can reuse it.
    """
    safety = safety or Safety()
    snapshot = gather(spec, api, resend_secrets=safety.resend_secrets)
    run = plan_from(spec, snapshot, api.settings.url, safety)
    run.connection = api
    return run


def plan_from(spec: Spec, snapshot: Snapshot, server: str, safety: Safety | None = None) -> Run:
    """The plan of `spec` against a gathered snapshot (realmctl.diff: pure, no connection), with the
    snapshot's readers for the stages after it."""
    return Run(diff(spec, snapshot, server, safety), dict(snapshot.states), snapshot)


def waves(changes: list[Change]) -> list[list[Change]]:
    """Consecutive changes of the same kind and direction: independent of each other, so each wave
    runs in parallel while the waves keep the dependency order."""
    out: list[list[Change]] = []
    for change in changes:
        tag = (change.action == "delete", change.kind)
        if out and (out[-1][0].action == "delete", out[-1][0].kind) == tag:
            out[-1].append(change)
        else:
            out.append([change])
    return out


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    interrupted: bool = False
    connection_lost: bool = False  # a failure was the server going away or refusing us (exit 4)


def apply_plan(
    run: Run,
    progress: Callable[[int, int, Change], None] | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Sends the planned calls wave by wave, resolving refs from earlier answers; then each
    realm's record write (also after a failure: what was applied is recorded). After a failure,
    or once `stop` is set (SIGINT, SIGTERM), no new write starts; writes in flight finish and are
    reported."""
    result = ApplyResult()
    lock = threading.Lock()
    total = len(run.plan.changes)
    halt = threading.Event()
    api = run.api
    answers = Answers(fingerprint)
    locks: dict[str, threading.Lock] = {}

    def done(change: Change) -> None:
        with lock:
            result.applied.append(change)
            if progress:
                progress(len(result.applied), total, change)

    def failed(change: Change, exc: Exception) -> None:
        halt.set()
        with lock:
            if isinstance(exc, RealmctlError | LookupError):
                result.failed.append((change, str(exc)))
                result.connection_lost = result.connection_lost or isinstance(exc, ConnectionFailed | Transient)
            else:  # a defect: report it as one line, never as a traceback
                result.failed.append((change, f"internal error ({type(exc).__name__}); please report it"))

    def one(change: Change) -> None:
        if halt.is_set() or (stop is not None and stop.is_set()):
            with lock:
                result.skipped.append(change)
            return
        try:
            for call in change.calls:
                send(api, call, answers, locks, lock)
        except Exception as exc:
            failed(change, exc)
            return
        done(change)

    records = [c for c in run.plan.changes if c.kind == RecordKind.name]
    try:
        with ThreadPoolExecutor(max(1, api.parallelism)) as pool:
            for wave in waves([c for c in run.plan.changes if c.kind != RecordKind.name]):
                if halt.is_set() or (stop is not None and stop.is_set()):
                    result.skipped.extend(wave)
                    continue
                list(pool.map(one, wave))
    finally:
        applied = {c.id for c in result.applied}
        for change in records:
            if not any(c.realm == change.realm for c in result.applied):
                result.skipped.append(change)
                continue
            try:
                write_record(api, change.calls[0], answers, applied)
            except Exception as exc:
                failed(change, exc)
            else:
                done(change)
    result.interrupted = stop is not None and stop.is_set() and bool(result.skipped)
    return result


def send(api: Api, call: Call, answers: Answers, locks: dict[str, threading.Lock], guard: threading.Lock) -> None:
    """One call as built, with its refs resolved; files what it answers under `call.sets`."""
    path = path_text(call.path, answers)
    body = answers.resolve(call.body)
    with guard:
        held = locks.setdefault(call.lock, threading.Lock()) if call.lock else contextlib.nullcontext()
    with held:
        if call.method == "GET":
            answer = api.get(path, **answers.resolve(call.params))
        elif call.method == "POST" and call.find is not None:
            find = call.find
            answer = api.create(path, body, lambda: _find(api, find, answers))
        elif call.method == "POST":
            answer = api.post(path, body, idempotent=call.idempotent)
        elif call.method == "DELETE":
            answer = api.delete(path, body)
        else:
            try:
                answer = api.put(path, body)
            except ApiError as exc:
                if exc.status in call.ok:
                    answer = None
                elif exc.status == 409 and call.retry_conflict:
                    answer = api.put(path, body)
                else:
                    raise
    if call.sets is not None:
        answers.put(call.sets, answer)


def _find(api: Api, find: Find, answers: Answers) -> str | None:
    """The re-read before repeating a create: the created object's id, or None."""
    found = api.get_or_none(path_text(find.path, answers), **answers.resolve(find.params))
    if find.field is None:
        return str(found[find.id]) if isinstance(found, dict) and found.get(find.id) else None
    items = found if isinstance(found, list) else []
    return next((str(i[find.id]) for i in items if isinstance(i, dict) and i.get(find.field) == find.value), None)


def write_record(api: Api, call: Call, answers: Answers, applied: set[str], attempts: int = 3) -> None:
    """The record write of one realm: the entries of what was applied merged into the record as
    it is now. Another run may rewrite the record between our read and our write, so it is read
    again after writing and the merge repeated until it holds what this run did (bounded)."""
    merge: RecordMerge = call.body
    path = path_text(call.path, answers)
    added = {key: answers.entry(entry) for origin, key, entry in merge.add if origin is None or origin in applied}
    deleted = {key for origin, key in merge.remove if origin in applied}
    stale = set(merge.stale)
    digest = _digest(merge.digest, answers, applied)
    for _ in range(attempts):
        rep = api.get(path) or {}
        attributes = rep.get("attributes") or {}
        links = parse_links(attributes.get(LINKS_ATTRIBUTE))
        merged = merge_record(links, stale, deleted, added)
        wanted = dict(attributes)
        if merged != links:
            wanted[LINKS_ATTRIBUTE] = json.dumps(sorted(merged))
        if digest is not None:  # Keycloak 26.7.3 replaces a realm's attributes with those PUT
            name, value = digest
            if value is None:
                wanted.pop(name, None)
            else:
                wanted[name] = value
        if wanted == attributes:
            break
        api.put(path, {"realm": merge.realm, "attributes": wanted})


def _digest(write: DigestWrite | None, answers: Answers, applied: set[str]) -> tuple[str, str | None] | None:
    """(attribute, the realm's new secrets digest or None to remove it), computed over the
    fingerprints this run sent and those kept (realmctl.secrets_digest); None, leaving the digest as
    it is, when there is none to write or a change sending one of its secrets was not applied."""
    if write is None or any(i.origin is not None and i.origin not in applied for i in write.items):
        return None
    try:
        items = [(i.alias, i.key, str(answers.resolve(i.stored)), str(answers.resolve(i.value))) for i in write.items]
    except Unresolved:
        return None
    return write.attribute, (secrets_digest.make(items) if items else None)


__all__ = ["SENSITIVE", "ApplyResult", "Run", "Safety", "apply_plan", "make_plan", "plan_from", "spec_values"]

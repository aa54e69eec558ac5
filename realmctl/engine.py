"""Plan and apply: the spec and the live server in, ordered changes out, then executed.

`make_plan` gathers (realmctl.gather: every read, once), then diffs (`plan_from`, pure); it never
writes. `apply_plan`
performs exactly the planned changes in dependency order, records the links realmctl added, and
stops at the first failure with an account of what was and was not applied.
"""

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from realmctl import ownership
from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.gather import Snapshot, gather
from realmctl.keycloak.session import Api, Transient
from realmctl.kinds import BY_NAME, RANK
from realmctl.kinds.base import Kind
from realmctl.live import LINKS_ATTRIBUTE, RealmState, parse_record, record_entry
from realmctl.plan import SENSITIVE, Change, FieldChange, Live, Plan, Resource, created_fields
from realmctl.spec.model import Spec
from realmctl.spec.secrets import Secret, looks_secret


def spec_values(spec: Spec) -> set[str]:
    """The secret values of the spec, for recognising copies of them (a password pasted into an
    attribute, a live value equal to the declared secret). Values too plain to be a credential on
    their own (`true`, `42`, two letters) are left out: they are masked where they came from a
    secret, never because another field happens to equal them."""
    found: set[str] = set()
    for path in spec.sensitive:
        node: Any = {"realms": spec.realms}
        for part in path:
            node = (
                node.get(part)
                if isinstance(node, dict)
                else (node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
            )
        if isinstance(node, str) and len(node) >= 3 and node.lower() not in ("true", "false") and not node.isdigit():
            found.add(str(node))
    return found


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def mask_sensitive(changes: list[Change], values: set[str]) -> None:
    """Marks as sensitive every field change that holds a secret of the spec: a value that came
    from a secret field or a secret source (a `Secret`, wherever the spec put it: a misspelt key,
    an attribute named like a password, `${env:...}`), or a value equal to one. Equal, never
    "contains": a password `alice` must not hide `alice@example.com`. The kinds know the secret
    fields they manage; this catches everything else before anything is rendered or saved."""
    for change in changes:
        for f in change.fields:
            if f.sensitive:
                continue
            leaves = _leaves(f.old) + _leaves(f.new)
            if any(isinstance(v, Secret) or (isinstance(v, str) and v in values) for v in leaves):
                f.sensitive, f.old, f.new = True, None, None


def spec_digest(spec: Spec) -> str:
    """A digest of what the spec asks for. Secret values do not enter it at all (a hash of a
    secret in a plan file could be attacked offline); `apply PLANFILE` takes them from the
    environment at apply time, as the spec says."""

    def scrub(value: Any, path: tuple[Any, ...]) -> Any:
        if path in spec.sensitive:
            return "(sensitive)"
        if isinstance(value, dict):
            return {k: scrub(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v, (*path, i)) for i, v in enumerate(value)]
        return value

    body = json.dumps(scrub({"realms": spec.realms}, ()), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _scrub_secrets(value: Any) -> Any:
    """`value` with every field named like a secret replaced by a marker: a live client's secret
    (Keycloak returns it in clear) must not enter the plan file's digest, where a hash of it could
    be guessed offline. A secret changed on the server still changes the plan, which is digested."""
    if isinstance(value, dict):
        return {k: SENSITIVE if looks_secret(str(k)) else _scrub_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_secrets(v) for v in value]
    return value


def _live_digest(lives: list[tuple[str, str, Live]]) -> str:
    """sha256 of `json.dumps(sorted(body, key=str), sort_keys=True, default=str)`, where body holds
    (realm, kind, [key], scrubbed fields, owned) per live object, computed one object at a time:
    at 5x L the whole body, its sort keys and its JSON text were ~50 MB at once. The order is the
    same: (realm, kind, key) is unique, and reprs are prefix-free, so comparing their reprs orders
    as comparing the whole tuples' `str` does."""
    encoder = json.JSONEncoder(sort_keys=True, default=str)
    digest = hashlib.sha256(b"[")
    ordered = sorted(lives, key=lambda rkl: (repr(rkl[0]), repr(rkl[1]), repr(list(rkl[2].key))))
    for i, (realm, kind, live) in enumerate(ordered):
        item = (realm, kind, list(live.key), _scrub_secrets(live.fields), live.owned)
        digest.update(((", " if i else "") + encoder.encode(item)).encode())
    digest.update(b"]")
    return digest.hexdigest()


@dataclass
class Run:
    """A computed plan with the live readers it was made from (the executor uses their ids)."""

    plan: Plan
    states: dict[str, RealmState]
    snapshot: Snapshot | None = None  # what the plan was computed from (check reuses it)


@dataclass(frozen=True)
class Safety:
    """octoDNS-style limits: a plan that deletes or updates more than a share of the objects realmctl
    owns in a realm (once it owns at least `min_owned`) is refused unless the run allows it."""

    delete_pct: float = 30.0
    update_pct: float = 30.0
    min_owned: int = 10
    allow_mass_delete: bool = False
    allow_mass_update: bool = False
    resend_secrets: bool = False  # send masked secrets again whatever their fingerprints say


def protected(change: Change) -> bool:
    """Objects Keycloak itself needs (each kind knows its built-ins): never deleted, whatever the
    spec or a marker says."""
    return BY_NAME[change.kind].builtin(change.realm, change.key)


def builtin_client_warnings(changes: list[Change]) -> list[str]:
    """Changes to Keycloak's own clients are applied as declared, but rarely meant: disabling
    `broker` breaks every stored-token read, changing `admin-cli` can lock realmctl out."""
    out = []
    for change in changes:
        if change.kind == "client" and change.action != "delete" and protected(change):
            fields = ", ".join(f.path for f in change.fields) or "its fields"
            out.append(
                f"client {change.label} in realm {change.realm} is built into Keycloak; the plan changes "
                f"{fields}, which Keycloak itself relies on"
            )
    return out


def diff_unit(
    kind: Kind, spec: Spec, realm: str, wanted: tuple[Resource, ...], lives: tuple[Live, ...]
) -> list[Change]:
    """Desired vs live for one kind in one realm: pure, no server."""
    changes: list[Change] = []
    remaining = {live.key: live for live in lives}
    for resource in wanted:
        live = remaining.pop(resource.key, None)
        if live is None:
            secret = [FieldChange(kind.secret_path(n), None, None, sensitive=True) for n in resource.secrets]
            fields = created_fields(resource.fields) + secret
            changes.append(Change("create", realm, kind.name, resource.key, fields, resource=resource))
            continue
        diff = kind.compare(resource, live)
        if diff:
            changes.append(Change("update", realm, kind.name, resource.key, diff, resource=resource, live=live))
    for live in remaining.values():
        if live.owned:
            changes.append(Change("delete", realm, kind.name, live.key, live=live))
    return ownership.transfers(kind, spec, realm, changes, list(lives), list(wanted))


def make_plan(spec: Spec, api: Api, safety: Safety | None = None) -> Run:
    """Gathers the live realms the spec names, then diffs them against it. Sends no write.

    The reads happen in `gather` (each once, concurrently); everything after it is computed from
    the snapshot, which the run keeps so that `check` can reuse it.
    """
    safety = safety or Safety()
    snapshot = gather(spec, api, resend_secrets=safety.resend_secrets)
    return plan_from(spec, snapshot, api.settings.url, safety)


def plan_from(spec: Spec, snapshot: Snapshot, server: str, safety: Safety | None = None) -> Run:
    """The plan of `spec` against a gathered snapshot: pure (no server)."""
    safety = safety or Safety()
    changes = [
        c
        for (realm, name), wanted in snapshot.wanted.items()
        for c in diff_unit(BY_NAME[name], spec, realm, wanted, snapshot.live(realm, name))
    ]
    seen = snapshot.seen()
    notes: list[str] = list(snapshot.notes)
    kept = []
    for change in changes:
        if change.action == "delete" and protected(change):
            notes.append(f"{change.kind} {change.label} in realm {change.realm} is built in; realmctl never deletes it")
        else:
            kept.append(change)
    plan = Plan(order(kept), list(spec.realms), server, errors=list(snapshot.errors), notes=notes)
    plan.warnings = list(snapshot.warnings) + builtin_client_warnings(kept)
    plan.errors += _safety_errors(plan, seen, safety)
    plan.live_digest = _live_digest(seen)
    plan.spec_digest = spec_digest(spec)
    mask_sensitive(plan.changes, spec_values(spec))
    return Run(plan, dict(snapshot.states), snapshot)


def _safety_errors(plan: Plan, seen: list[tuple[str, str, Live]], safety: Safety) -> list[str]:
    out = []
    for realm in plan.realms:
        owned = sum(1 for r, _, live in seen if r == realm and live.owned)
        if owned < safety.min_owned:
            continue
        mine = [c for c in plan.changes if c.realm == realm]
        deletes = sum(1 for c in mine if c.action == "delete")
        updates = sum(1 for c in mine if c.action == "update" and c.live is not None and c.live.owned)
        if not safety.allow_mass_delete and deletes > owned * safety.delete_pct / 100:
            out.append(
                f"realm {realm}: the plan deletes {deletes} of the {owned} objects realmctl owns there, more than "
                f"{safety.delete_pct:g} %; if that is intended, run again with --allow-mass-delete"
            )
        if not safety.allow_mass_update and updates > owned * safety.update_pct / 100:
            out.append(
                f"realm {realm}: the plan updates {updates} of the {owned} objects realmctl owns there, more than "
                f"{safety.update_pct:g} %; if that is intended, run again with --allow-mass-update"
            )
    return out


def order(changes: list[Change]) -> list[Change]:
    """Deletes first, dependents before what they depend on; then creates and updates by dependency,
    across realms (a source realm's client exists before the target realm's IdP reads its secret)."""
    rank = RANK
    deletes = sorted((c for c in changes if c.action == "delete"), key=lambda c: (-rank[c.kind], c.realm, c.key))
    others = sorted((c for c in changes if c.action != "delete"), key=lambda c: (rank[c.kind], c.realm, c.key))
    return deletes + others


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
    """Performs the planned changes wave by wave. After a failure, or once `stop` is set (SIGINT,
    SIGTERM), no new write starts; writes in flight finish and are reported."""
    result = ApplyResult()
    lock = threading.Lock()
    total = len(run.plan.changes)
    halt = threading.Event()

    def one(change: Change) -> None:
        if halt.is_set() or (stop is not None and stop.is_set()):
            with lock:
                result.skipped.append(change)
            return
        try:
            if not ownership.owner_only(change):  # a change of owner is only a record write
                getattr(BY_NAME[change.kind], change.action)(run.states[change.realm], change)
        except (RealmctlError, LookupError) as exc:
            halt.set()
            with lock:
                result.failed.append((change, str(exc)))
                result.connection_lost = result.connection_lost or isinstance(exc, ConnectionFailed | Transient)
            return
        except Exception as exc:  # a defect: report it as one line, never as a traceback
            halt.set()
            with lock:
                result.failed.append((change, f"internal error ({type(exc).__name__}); please report it"))
            return
        with lock:
            result.applied.append(change)
            if progress:
                progress(len(result.applied), total, change)

    parallelism = max(1, next(iter(run.states.values())).api.parallelism) if run.states else 1
    try:
        with ThreadPoolExecutor(parallelism) as pool:
            for wave in waves(run.plan.changes):
                if halt.is_set() or (stop is not None and stop.is_set()):
                    result.skipped.extend(wave)
                    continue
                list(pool.map(one, wave))
    finally:
        _record_links(run, result.applied)
    result.interrupted = stop is not None and stop.is_set() and bool(result.skipped)
    return result


def _merge(
    links: set[str], stale: set[str], deleted: set[tuple[str, ...]], added: dict[tuple[str, ...], str]
) -> set[str]:
    """The record after this run: stale entries and deleted keys out, created (or upgraded) entries
    in, replacing any other entry for the same key; entries of other runs kept."""
    keep = set()
    for raw in links:
        parsed = parse_record(raw)
        key = parsed[0] if parsed else None
        if raw in stale or key in deleted or (key in added and raw != added[key]):
            continue
        keep.add(raw)
    return keep | set(added.values())


def _record_links(run: Run, applied: list[Change], attempts: int = 3) -> None:
    """Adds created links to, and removes deleted links from, each realm's record of its own, with
    the fixes the plan's reads found (entries of objects that are gone dropped, names-only entries
    upgraded to ids): those are written only with an apply that changed something in the realm.

    A concurrent run may rewrite the record between our read and our write, so the record is read
    again after writing and the merge repeated until it holds what this run did (bounded).
    """
    for realm, state in run.states.items():
        mine = [c for c in applied if c.realm == realm]
        if not mine:
            continue
        recorded = [c for c in mine if BY_NAME[c.kind].recorded]
        deleted = {BY_NAME[c.kind].record_key(c.key) for c in recorded if c.action == "delete"}
        added: dict[tuple[str, ...], str] = {}
        for entry in state.record_fixes.values():
            parsed = parse_record(entry) if entry is not None else None
            if entry is not None and parsed is not None and parsed[0] not in deleted:
                added[parsed[0]] = entry
        for c in recorded:
            if c.action == "create":
                key = BY_NAME[c.kind].record_key(c.key)
                added[key] = record_entry(key[0], key[1:], state.new_ids.get(key))
        ownership.bookkeeping(state, mine, deleted, added)
        stale = set(state.record_fixes)
        if not added and not deleted and not stale:
            continue
        for _ in range(attempts):
            state.forget("realm")
            links = state.links()
            merged = _merge(links, stale, deleted, added)
            if merged == links:
                break
            rep = state.realm_rep() or {}
            attributes = {**(rep.get("attributes") or {}), LINKS_ATTRIBUTE: json.dumps(sorted(merged))}
            state.api.put(state.base, {"realm": realm, "attributes": attributes})
        state.forget("realm", "records")


__all__ = ["SENSITIVE", "ApplyResult", "Run", "Safety", "apply_plan", "make_plan"]

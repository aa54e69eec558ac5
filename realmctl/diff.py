"""Diff: desired x snapshot -> plan, pure. Runs with no connection to the server.

`diff` compares what compile wanted with what gather read (realmctl.gather.Snapshot), per kind and
realm, builds every change's calls from the snapshot (ids of objects made in this run are refs the
executor resolves), appends each realm's ownership-record write as a visible change, and applies
the passes over the plan: protected built-ins, safety thresholds, ordering, masking, digests. The
snapshot's readers are detached meanwhile (`realmctl.gather.detached`): an answer gather did not
read raises instead of reaching the server. The executor is realmctl.engine; nothing here imports it.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from realmctl import ownership, secrets_digest
from realmctl.calls import Call, DigestWrite, Entry, RecordMerge
from realmctl.gather import Snapshot, detached
from realmctl.kinds import BY_NAME, RANK, RealmState
from realmctl.kinds.base import Build, Kind
from realmctl.kinds.record import RecordKind
from realmctl.live import parse_record
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
    mask = frozenset(values)
    for change in changes:
        for call in change.calls:  # the calls' JSON shows a value equal to a secret as `(sensitive)`
            call.mask = mask
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


_SETS = frozenset({"defaultClientScopes", "optionalClientScopes"})
_UNORDERED = _SETS | {"access"}


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
        fields = live.fields
        if isinstance(fields, dict) and _UNORDERED.intersection(fields):
            # `access` is the caller's rights, not the server's state, and a client's scope lists
            # are sets whose order Keycloak 26.7.3 gives differently in a listing and a partial
            # export: the `export` read strategy (realmctl/export_read.py) must digest the same.
            fields = {
                k: sorted(v, key=str) if k in _SETS and isinstance(v, list) else v
                for k, v in fields.items()
                if k != "access"
            }
        item = (realm, kind, list(live.key), _scrub_secrets(fields), live.owned)
        digest.update(((", " if i else "") + encoder.encode(item)).encode())
    digest.update(b"]")
    return digest.hexdigest()


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


def diff(spec: Spec, snapshot: Snapshot, server: str, safety: Safety | None = None) -> Plan:
    """The plan of `spec` against a gathered snapshot: pure (no server). The snapshot's readers are
    detached meanwhile, so a read gather did not make fails loudly instead of reaching the server."""
    with detached(snapshot.states):
        return _diff(spec, snapshot, server, safety)


def _diff(spec: Spec, snapshot: Snapshot, server: str, safety: Safety | None) -> Plan:
    safety = safety or Safety()
    idps = secrets_digest.KIND
    for realm, state in snapshot.states.items():  # one scrypt per realm proves the IdP secrets' checks
        secrets_digest.check(
            state.realm_rep(), spec.owner, snapshot.wanted.get((realm, idps), ()), snapshot.live(realm, idps)
        )
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
    planned = build_calls(
        order(kept),
        snapshot.states,
        lambda realm, mine: secrets_digest.write(
            snapshot.states[realm].realm_rep(),
            spec.owner,
            mine,
            snapshot.wanted.get((realm, idps), ()),
            snapshot.live(realm, idps),
        ),
    )
    plan = Plan(planned, list(spec.realms), server, errors=list(snapshot.errors), notes=notes)
    plan.warnings = list(snapshot.warnings) + builtin_client_warnings(kept)
    plan.errors += _safety_errors(plan, seen, safety)
    plan.digests_of = lambda: (_live_digest(snapshot.seen()), spec_digest(spec))
    mask_sensitive(plan.changes, spec_values(spec))
    return plan


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


#: The secrets digest a realm's changes write (realmctl.secrets_digest.write), by realm.
DigestOf = Callable[[str, list[Change]], DigestWrite | None]


def build_calls(
    changes: list[Change], states: Mapping[str, RealmState], digest_of: DigestOf | None = None
) -> list[Change]:
    """Gives every change its calls, built from the snapshot (pure: the readers' caches answer),
    and appends each realm's ownership-record write: bookkeeping as an ordinary, visible change."""
    b = Build(states, changes)
    for change in changes:
        change.calls = [] if ownership.owner_only(change) else BY_NAME[change.kind].calls(change, b)
    for change in changes:
        if change.kind == "realm" and change.action == "create":
            change.calls += b.resolving_reads(change.realm)
    return changes + record_changes(changes, states, b, digest_of)


def record_changes(
    changes: list[Change], states: Mapping[str, RealmState], b: Build, digest_of: DigestOf | None = None
) -> list[Change]:
    """The write of each realm's record (realmctl.kinds.record): entries of the links (and, for a
    named owner, the objects) the plan creates, keys of what it deletes, and the fixes the reads
    found; and, in the same PUT, the realm's secrets digest where the plan sends an IdP secret
    (`digest_of`). Fixes alone are written only with a plan that changes something in the realm."""
    out = []
    for realm, state in states.items():
        mine = [c for c in changes if c.realm == realm]
        if not mine:
            continue
        merge = RecordMerge(realm)
        for c in mine:
            kind = BY_NAME[c.kind]
            if kind.recorded and c.action == "delete":
                merge.remove.append((c.id, kind.record_key(c.key)))
        gone = {key for _, key in merge.remove}
        added: dict[tuple[str, ...], tuple[str | None, Any]] = {}
        for entry in state.record_fixes.values():
            parsed = parse_record(entry) if entry is not None else None
            if entry is not None and parsed is not None and parsed[0] not in gone:
                added[parsed[0]] = (None, entry)
        for c in mine:
            kind = BY_NAME[c.kind]
            if kind.recorded and c.action == "create":
                key = kind.record_key(c.key)
                rest = key[1:]
                rest = c.key if rest == c.key else rest  # the change's own key, not a copy per entry
                added[key] = (c.id, Entry(key[0], rest, kind.record_ids(c, b), state.owner))
        ownership.bookkeeping(state, mine, merge.remove, added)
        merge.add = [(origin, key, entry) for key, (origin, entry) in added.items()]
        merge.stale = sorted(state.record_fixes)
        merge.digest = digest_of(realm, mine) if digest_of is not None else None
        fields = []
        if merge.add or merge.remove or merge.stale:
            links = state.links()
            after = merge_record(
                links,
                set(merge.stale),
                {key for _, key in merge.remove},
                {key: entry if isinstance(entry, str) else f"(new) {key}" for _, key, entry in merge.add},
            )
            fields.append(FieldChange("entries", len(links), len(after)))
        if merge.digest is not None:  # a digest, never shown: the secrets it binds are in the calls
            fields.append(FieldChange(merge.digest.attribute, None, None, sensitive=True))
        if not fields:
            continue
        change = Change("update", realm, RecordKind.name, (realm,), fields)
        change.calls = [Call("PUT", (b.base(realm),), merge)]
        out.append(change)
    return out


def merge_record(
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


__all__ = [
    "Safety",
    "build_calls",
    "builtin_client_warnings",
    "diff",
    "diff_unit",
    "mask_sensitive",
    "merge_record",
    "order",
    "protected",
    "record_changes",
    "spec_digest",
    "spec_values",
]

"""The calls a planned change sends, built at diff time, and the values they can only learn later.

A `Change` carries its `Call`s: method, path and body, built from the snapshot when the plan is
made. Two kinds of values are not known then, and are written as explicit placeholders:

* `Ref`: something an earlier call of this run answers — the id of an object created in this run
  (the last segment of its create's `Location`), or a field of an earlier GET's answer (a role's id:
  Keycloak's Location names a role, not its id; the secret Keycloak generated for a new client).
  A call that produces one says so (`Call.sets`); the executor files the answer under it.
* `Fingerprint`: the salted fingerprint of a secret, computed when the call is sent (a random salt
  would make the plan differ on every run, and hashing costs ~60 ms: only what is sent pays it).

The executor (`realmctl.engine.apply_plan`) sends the calls as built and resolves placeholders from
the answers; it never reads the server to decide what to send. Its only reads are the ones the
calls spell out (`GET` calls that set a `Ref`), the documented re-read before repeating a create
(`Call.find`, see `Api.create`), and the re-read of the shared ownership record before merging
into it (`RecordMerge`: another run may have written it since the snapshot).
"""

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from realmctl.spec.secrets import Secret, looks_secret

SENSITIVE = "(sensitive)"

#: The query of a call without one: one shared read-only mapping, not an empty dict per call
#: (~80,000 calls in a plan from empty at 5x L).
NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Ref:
    """A value answered by an earlier call of this run: `of` names it, e.g. ("client", realm,
    clientId) for a new client's id; `pick` is the path into the answer ("id", or nested)."""

    of: tuple[str, ...]
    pick: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"ref": list(self.of), **({"pick": list(self.pick)} if self.pick else {})}

    def __str__(self) -> str:
        return "{" + "/".join(self.of) + ("." + ".".join(self.pick) if self.pick else "") + "}"


@dataclass(frozen=True)
class Fingerprint:
    """`realmctl.fingerprint.fingerprint(value)` computed when the call is sent; filed under `sets`
    (when given) for the realm's secrets digest, written after it over the fingerprints sent."""

    value: Any  # a secret, or a Ref to one
    sets: tuple[str, ...] | None = None


@dataclass(slots=True)
class Find:
    """The re-read before repeating a create (Api.create): GET `path` with `params`; the created
    object is the entry whose `field` equals `value` (or the answer itself with `field` None), and
    its id is under `id`."""

    path: tuple[Any, ...]
    params: dict[str, Any] = field(default_factory=dict)
    field: str | None = "name"
    value: str = ""
    id: str = "id"


@dataclass
class RecordMerge:
    """The write of realmctl's ownership record (realm attribute `realmctl.links`): entries added
    (each with the change that makes it), keys removed (each with the change that removes it), and
    stale entries the reads found. The executor re-reads the record, merges, and writes; entries of
    changes that were not applied (a failure, an interruption) are left out."""

    realm: str
    #: (origin change, record key, entry): the origin is `change_id` of the change that makes it
    #: (None: a fix of the record the reads found, written with any change of the realm).
    add: list[tuple[str | None, tuple[str, ...], Any]] = field(default_factory=list)
    remove: list[tuple[str | None, tuple[str, ...]]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    #: The realm's secrets digest to (re)write in the same PUT (realmctl.secrets_digest), or None.
    digest: "DigestWrite | None" = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "add": [to_json(entry) for _, _, entry in self.add],
            "remove": [list(key) for _, key in self.remove],
            "drop": sorted(self.stale),
        }
        if self.digest is not None:
            out["secretsDigest"] = self.digest.to_json()
        return out


@dataclass(frozen=True)
class DigestItem:
    """One secret the realm's digest binds: the IdP `alias` and config `key`, the fingerprint
    stored beside it after the apply (kept as read, or a `Ref` to the one sent), and the secret
    (a value, or a `Ref` to one); `origin` is the change that sends it (None: kept as it is)."""

    alias: str
    key: str
    stored: Any
    value: Any
    origin: str | None = None


@dataclass
class DigestWrite:
    """The realm attribute `attribute` set to the digest of `items` when the record is written
    (removed when there are none); left as it is when a change that sends one of them was not
    applied. Shown in plans without a value: the secrets it binds, by IdP and key."""

    attribute: str
    items: list[DigestItem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "secrets": sorted([i.alias, i.key] for i in self.items)}


@dataclass(frozen=True, slots=True)
class Entry:
    """A record entry whose ids may be refs: `record_entry(kind, key, ids)` wrapped for `owner`,
    written with names only when an id is not known (the create did not reveal it)."""

    kind: str
    key: tuple[str, ...]
    ids: tuple[Any, ...] | None
    owner: str

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": [self.kind, *self.key]}
        if self.ids is not None:
            out["ids"] = [to_json(i) for i in self.ids]
        if self.owner != "default":
            out["owner"] = self.owner
        return out


@dataclass(slots=True)
class Call:
    """One request a change sends.

    `path` is a tuple of segments joined by "/" (a `Ref` segment is resolved, then quoted);
    `sets` files the answer (or, for a create, the new id) under a ref name; `ok` lists statuses
    that mean "already so" (a PUT into a list the object is in); `retry_conflict` repeats a PUT
    once after a 409 (two enables of fine-grained permissions racing on one resource server);
    `lock` serialises calls sharing its value (that same resource server).
    """

    method: str
    path: tuple[Any, ...]
    body: Any = None
    params: Mapping[str, Any] = field(default_factory=lambda: NO_PARAMS)
    sets: tuple[str, ...] | None = None
    find: Find | None = None
    ok: tuple[int, ...] = ()
    retry_conflict: bool = False
    lock: str | None = None
    idempotent: bool = False  # a POST that may be repeated (a role mapping)
    #: Values shown as `(sensitive)` wherever they stand: the spec's secrets (set by masking).
    mask: frozenset[str] = frozenset()

    def template(self) -> str:
        return "/".join(str(p) for p in self.path)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.template()}
        if self.params:
            out["params"] = dict(self.params)
        if self.body is not None:
            out["body"] = to_json(self.body, mask=self.mask)
        if self.sets:
            out["sets"] = list(self.sets)
        return out


def to_json(value: Any, key: str = "", mask: frozenset[str] = frozenset()) -> Any:
    """`value` as plan JSON: refs as `{"ref": [...]}`, secrets (by origin, by a key named like one,
    or equal to one of `mask`) as `(sensitive)`."""
    if isinstance(value, Secret | Fingerprint) or (isinstance(value, str) and value in mask):
        return SENSITIVE
    if key and looks_secret(key) and value not in (None, ""):
        return SENSITIVE
    if isinstance(value, Ref | Entry | RecordMerge | DigestWrite):
        return value.to_json()
    if isinstance(value, dict):
        return {k: to_json(v, str(k), mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v, "", mask) for v in value]
    return value


def _pick(value: Any, parts: tuple[str, ...]) -> Any:
    """The part of an answer a ref names: keys of objects, indexes of lists, `*` for each item,
    `field=value` for the item of a list whose field has that value (a built-in in a listing)."""
    for i, part in enumerate(parts):
        if part == "*":
            return [_pick(v, parts[i + 1 :]) for v in value] if isinstance(value, list) else None
        if isinstance(value, list) and "=" in part:
            name, _, wanted = part.partition("=")
            value = next((v for v in value if isinstance(v, dict) and v.get(name) == wanted), None)
        elif isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


class Unresolved(LookupError):
    """A ref no earlier call answered: the object it names was not created (its create failed,
    was skipped, or was never planned) and is not on the server."""


class Answers:
    """What the run's calls answered, by ref name (shared by the waves' threads)."""

    def __init__(self, hash_secret: Callable[[str], str]) -> None:
        self._values: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._hash = hash_secret

    def put(self, name: tuple[str, ...], value: Any) -> None:
        with self._lock:
            self._values[name] = value

    def get(self, ref: Ref) -> Any:
        with self._lock:
            if ref.of not in self._values:
                raise Unresolved(f"{'/'.join(ref.of[:1])} {'/'.join(ref.of[2:])} does not exist in realm {ref.of[1]}")
            value = _pick(self._values[ref.of], ref.pick)
        if value is None:
            raise Unresolved(f"the answer for {ref} holds no {'.'.join(ref.pick)}")
        return value

    def known(self, ref: Ref) -> bool:
        try:
            self.get(ref)
        except Unresolved:
            return False
        return True

    def resolve(self, value: Any) -> Any:
        """`value` with every placeholder replaced; Secrets stay Secrets (masking still sees them)."""
        if isinstance(value, Ref):
            return self.get(value)
        if isinstance(value, Fingerprint):
            made = self._hash(str(self.resolve(value.value)))
            if value.sets is not None:
                self.put(value.sets, made)
            return made
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        return value

    def entry(self, entry: Any) -> str:
        """A record entry as written: a resolved `Entry`, names only where an id is unknown."""
        from realmctl.live import record_entry
        from realmctl.ownership import wrap

        if isinstance(entry, str):
            return entry
        ids = entry.ids
        if ids is not None:
            try:
                ids = tuple(str(self.resolve(i)) for i in ids)
            except Unresolved:
                ids = None
            if ids is not None and not all(ids):
                ids = None
        return wrap(record_entry(entry.kind, entry.key, ids), entry.owner)


def path_text(path: tuple[Any, ...], answers: Answers) -> str:
    from realmctl.keycloak.session import seg

    return "/".join(seg(str(answers.get(p))) if isinstance(p, Ref) else str(p) for p in path)


def dumps(value: Any) -> str:
    return json.dumps(to_json(value), sort_keys=True)

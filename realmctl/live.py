"""What every kind's reads share: one realm's reader machinery, and realmctl's record of its links.

Kinds never fetch an object on their own: each declares its bulk reads in its own file, as a
subclass of `Reader` (e.g. `ClientReads` in realmctl/kinds/client.py), and the registry composes
them into `RealmState`. `Reader` fetches each list once per run (single-flight, even across
threads), fans independent reads out in parallel, and holds the realm representation with the
record (LINKS_ATTRIBUTE) that ownership reads. Creates made during apply are recorded here, so
later changes find the new ids without another read.
Kinds never fetch an object on their own: they ask this reader, which fetches each list once per
run (clients, client scopes, roles, IdPs, ...) and answers ids from it. Only gather sends requests
through it; compile and diff consult its cache with the connection detached (`Reader.detached`:
a read gather did not make raises `UndeclaredRead`), and the executor never asks it anything.
"""

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from realmctl.errors import RealmctlError
from realmctl.keycloak.session import Api, seg
from realmctl.ownership import DEFAULT_OWNER, unwrap, wrap

T = TypeVar("T")
_MISSING = object()

#: Realm attribute holding the links (scope attachments, scope mappings, role grants) that
#: realmctl added; only those are removed when they leave the spec.
LINKS_ATTRIBUTE = "realmctl.links"
#: Marker on objects realmctl created (attribute, config key or role attribute, by kind).
OWNED_MARKER = "realmctl.managed"
#: Prefix of the config keys beside an IdP secret that hold its fingerprint (realmctl/kinds/idp.py).
FINGERPRINT = "realmctl.fingerprint."

#: Page size of user listings (users, role and group members). Keycloak 26.7.3 answers `max=2000`
#: on these in full (checked with 1,100 users), so 1,000 halves the pages of the former 500.
USER_PAGE = 1000

#: The server ids of an owned object, or of both ends of an owned link, as recorded.
Ids = tuple[str, ...]


def record_entry(kind: str, key: tuple[str, ...], ids: Ids | None) -> str:
    """One entry of LINKS_ATTRIBUTE: `{"key": [kind, *key], "ids": [...]}` as a JSON string.

    Ownership follows identity: the entry holds the ids realmctl created or linked, so that a
    namesake made by hand after a deletion is not taken for realmctl's. Versions before ids wrote
    `[kind, *key]`; they read this form as a kind named "key" and so ignore it (they own less,
    never more). Without ids (not known) the old form is written.
    """
    if ids is None:
        return json.dumps([kind, *key], separators=(",", ":"))
    return json.dumps({"key": [kind, *key], "ids": list(ids)}, separators=(",", ":"))


def parse_record(raw: str) -> tuple[tuple[str, ...], Ids | None] | None:
    """((kind, *key), ids or None for a names-only entry), or None for an entry not understood."""
    parsed = _parse_entry(raw)
    return None if parsed is None else parsed[:2]


def _parse_entry(raw: str, pool: dict[str, str] | None = None) -> tuple[tuple[str, ...], Ids | None, str] | None:
    """`parse_record` and the entry's owner (as `owner_of_entry`) from one `json.loads`: the record
    holds an entry per owned link, thousands in a large realm, and each was parsed twice. `pool`
    shares equal ids between the entries of one parse (a role's id is in each of its grants)."""
    try:
        outer = json.loads(raw)
    except (ValueError, TypeError):
        return None
    owner = DEFAULT_OWNER
    if isinstance(outer, dict) and isinstance(outer.get("owner"), str) and "of" in outer:
        owner = str(outer["owner"])
    parsed = unwrap(outer)  # an entry held by a named owner (realmctl.ownership)
    if isinstance(parsed, dict):
        key, ids = parsed.get("key"), parsed.get("ids")
        if isinstance(key, list) and key and isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            # Interned: kinds, containers and role names repeat in every entry (25,000 grants of
            # broker/read-token at 5x L), and the parsed record is held for the whole run.
            shared = tuple(ids) if pool is None else tuple(pool.setdefault(i, i) for i in ids)
            return tuple(sys.intern(str(k)) for k in key), shared, sys.intern(owner)
        return None
    if isinstance(parsed, list) and parsed and all(isinstance(k, str) for k in parsed):
        return tuple(parsed), None, owner
    return None


class _Entry:
    """One understood entry of the record: as written (`raw`), the ids it holds (None: names
    only), its owner, and whether the reads matched it to a live object or link (`owns`). Slotted,
    one per entry and no more: the record of 5x L holds 41,000 entries, whose parse was ~32 MB
    with a list, a tuple, an owner map entry and a matched-key tuple each."""

    __slots__ = ("ids", "matched", "owner", "raw")

    def __init__(self, raw: str, ids: Ids | None, owner: str) -> None:
        self.raw = raw
        self.ids = ids
        self.owner = owner
        self.matched = False


def parse_links(raw: Any) -> set[str]:
    """The entries of a LINKS_ATTRIBUTE value (a JSON list of strings; anything else: none)."""
    try:
        found = json.loads(raw) if raw else []
    except (ValueError, TypeError):
        found = []
    return {e for e in found if isinstance(e, str)} if isinstance(found, list) else set()


def _mapped(mappings: dict[str, Any], container: str) -> list[dict[str, Any]]:
    if container == "realm":
        roles: list[dict[str, Any]] = mappings.get("realmMappings") or []
    else:
        roles = ((mappings.get("clientMappings") or {}).get(container) or {}).get("mappings") or []
    return roles


def mapped_names(mappings: dict[str, Any], container: str) -> set[str]:
    """Role names of `container` ("realm" or a clientId) in a MappingsRepresentation."""
    return {r.get("name", "") for r in _mapped(mappings, container)}


def mapped_id(mappings: dict[str, Any], container: str, name: str) -> str | None:
    """The id of role `name` of `container` in a MappingsRepresentation, if it is mapped."""
    return next((r.get("id") for r in _mapped(mappings, container) if r.get("name") == name), None)


def _entries(found: "_Entry | tuple[_Entry, ...] | None") -> "tuple[_Entry, ...]":
    """The record's entries for one key, as `Reader._records` holds them (one, several, none)."""
    if found is None:
        return ()
    return found if isinstance(found, tuple) else (found,)


class UndeclaredRead(RealmctlError):
    """Compile or diff asked the server for something gather did not read: a defect of realmctl
    (the kind that needs the answer must read it in `Kind.prepare`, `Kind.read` or
    `Kind.read_for_calls`), never a user's error. A `RealmctlError` so that the CLI says it in one
    line (exit 1) with the read named, instead of a traceback."""

    def __init__(self, what: str) -> None:
        super().__init__(f"internal error: {what}; please report it")


class Detached:
    """What a reader holds instead of its connection while compile and diff run (`Reader.detached`,
    realmctl.gather.detached): those stages answer from what gather read, so any request is refused with
    the read that gather should have declared. It keeps nothing of the connection it replaces."""

    parallelism = 1

    def _refuse(self, path: str, params: dict[str, Any]) -> Any:
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        read = f"GET /{path}" + (f"?{query}" if query else "")
        raise UndeclaredRead(f"compile or diff asked the server for {read}; gather did not read it")

    def get(self, path: str, **params: Any) -> Any:
        return self._refuse(path, params)

    def get_or_none(self, path: str, **params: Any) -> Any:
        return self._refuse(path, params)

    def get_all(self, path: str, **params: Any) -> Any:
        return self._refuse(path, params)

    def __getattr__(self, name: str) -> Any:
        raise UndeclaredRead(f"compile or diff used the server connection ({name}); gather did not read for it")


class Reader:
    """What every kind's reads share: single-flight caching, parallel fan-out, the realm
    representation and realmctl's record in it. Each kind adds its own bulk reads in its file (a
    subclass of `Reader`), and the registry composes them into `RealmState` (realmctl/kinds)."""

    def __init__(self, api: Api, realm: str, owner: str = DEFAULT_OWNER) -> None:
        self.api = api
        self.realm = realm
        #: The spec's owner (the owner of each record entry the reads matched: `entry_owner`).
        self.owner = owner
        self.base = f"admin/realms/{seg(realm)}"
        self._cache: dict[Any, Any] = {}
        self._pending: dict[Any, threading.Event] = {}
        self._lock = threading.RLock()
        self._users_lock = threading.Lock()
        #: Record entries found stale or names-only while reading: entry -> replacement (None: drop).
        self.record_fixes: dict[str, str | None] = {}

    def _index(self, name: str, items: list[dict[str, Any]], field: str) -> dict[Any, dict[str, Any]]:
        """`items` by `field` (the first of namesakes, as a scan finds), rebuilt when the listing is
        replaced: kinds look clients up by clientId tens of thousands of times at 5x L, and a scan
        of the listing each time was the plan's largest CPU cost after the secrets' fingerprints."""
        cached = self._cache.get(("index", name))
        if cached is not None and cached[0] is items:
            index: dict[Any, dict[str, Any]] = cached[1]
            return index
        index = {}
        for item in items:
            index.setdefault(item.get(field), item)
        with self._lock:
            self._cache[("index", name)] = (items, index)
        return index

    def _once(self, key: Any, fetch: Callable[[], T]) -> T:
        """Fetches `key` at most once, even when several threads ask for it at the same time."""
        # A cached answer needs no lock (one dict read is atomic): at 5x L a plan asks ~200,000
        # times, mostly for the realm, and taking the lock each time cost seconds of CPU.
        found: T = self._cache.get(key, _MISSING)
        if found is not _MISSING:
            return found
        while True:
            with self._lock:
                if key in self._cache:
                    cached: T = self._cache[key]
                    return cached
                waiting = self._pending.get(key)
                if waiting is None:
                    self._pending[key] = threading.Event()
            if waiting is not None:
                waiting.wait()
                continue  # the fetching thread cached the value, or failed and we try ourselves
            try:
                value = fetch()
                with self._lock:
                    self._cache[key] = value
                return value
            finally:
                with self._lock:
                    self._pending.pop(key).set()

    def fanout(self, fetch: Callable[[Any], Any], items: Iterable[Any]) -> None:
        """Runs independent reads in parallel (bounded by the run's parallelism); results land in
        the cache through the reads' own `_once`."""
        todo = list(items)
        if len(todo) < 2 or self.api.parallelism < 2:
            for item in todo:
                fetch(item)
            return
        with ThreadPoolExecutor(min(self.api.parallelism, len(todo))) as pool:
            list(pool.map(fetch, todo))

    @contextlib.contextmanager
    def detached(self) -> Iterator[None]:
        """Meanwhile the reader answers only from its cache: a read it has not made raises
        `UndeclaredRead` instead of reaching the server (diff and the calls' build run so)."""
        api = self.api
        self.api = Detached()  # type: ignore[assignment]
        try:
            yield
        finally:
            self.api = api

    # -- realm ---------------------------------------------------------------------------------
    def realm_rep(self) -> dict[str, Any] | None:
        return self._once("realm", lambda: self.api.get_or_none(self.base))

    @property
    def exists(self) -> bool:
        return self.realm_rep() is not None

    def recorded(self, kind: str) -> list[tuple[str, ...]]:
        """Keys of `kind` in realmctl's record of what it owns here (see LINKS_ATTRIBUTE)."""
        return sorted({key[1:] for key in self._records() if key[0] == kind})

    def _records(self) -> dict[tuple[str, ...], _Entry | tuple[_Entry, ...]]:
        """The record by (kind, *key): its entry, or its entries where a key has several."""

        def parse() -> dict[tuple[str, ...], _Entry | tuple[_Entry, ...]]:
            out: dict[tuple[str, ...], _Entry | tuple[_Entry, ...]] = {}
            pool: dict[str, str] = {}
            for raw in self._links():
                parsed = _parse_entry(raw, pool)
                if parsed is not None:
                    entry = _Entry(raw, parsed[1], parsed[2])
                    found = out.get(parsed[0])
                    out[parsed[0]] = entry if found is None else (*_entries(found), entry)
            return out

        return self._once("records", parse)

    def _entries(self, full_key: tuple[str, ...]) -> tuple[_Entry, ...]:
        return _entries(self._records().get(full_key))

    def record_entries(self, full_key: tuple[str, ...]) -> list[tuple[str, Ids | None]]:
        """The record's entries for (kind, *key), as written, with their ids."""
        return [(entry.raw, entry.ids) for entry in self._entries(full_key)]

    def entry_owner(self, full_key: tuple[str, ...]) -> str | None:
        """The owner of the record's entry for (kind, *key) that `owns` matched to the live ids
        (the last, where several did), or None where it matched none."""
        matched = [entry.owner for entry in self._entries(full_key) if entry.matched]
        return matched[-1] if matched else None

    def owns(self, kind: str, key: tuple[str, ...], ids: Ids | None) -> bool:
        """Whether the record holds `key` for the live object (or link) whose ids are `ids`.

        `ids` is None when there is nothing live by that name. An entry whose ids differ belongs to
        an object that is gone (a namesake made by hand is not realmctl's), so it is dropped at the
        next write of the record; an entry with names only (written before ids were recorded) is
        trusted and upgraded to the live ids.
        """
        owned = False
        for entry in self._entries((kind, *key)):
            if ids is not None and entry.ids in (None, ids):
                owned = entry.matched = True
                if entry.ids is None:
                    self._fix(entry.raw, wrap(record_entry(kind, key, ids), entry.owner))
            else:
                self._fix(entry.raw, None)
        return owned

    def locate(self, kind: str, key: tuple[str, ...], ids: Ids | None) -> None:
        """For kinds owned through a marker on the object, where the record only says where to look:
        keeps the entry with the live ids while a marked object is there, else drops it."""
        for entry in self._entries((kind, *key)):
            if ids is None:
                self._fix(entry.raw, None)
            elif entry.ids != ids:
                self._fix(entry.raw, wrap(record_entry(kind, key, ids), entry.owner))

    def _fix(self, raw: str, entry: str | None) -> None:
        with self._lock:
            self.record_fixes[raw] = entry

    def links(self) -> set[str]:
        """The links realmctl recorded as its own in this realm."""
        return set(self._links())

    def _links(self) -> frozenset[str]:
        """`links`, parsed once per realm representation read (the record can hold thousands of
        entries, and every kind asks), and not copied for the record's own parse."""
        rep = self.realm_rep() or {}
        raw = (rep.get("attributes") or {}).get(LINKS_ATTRIBUTE)
        with self._lock:
            cached = self._cache.get("links")
            if cached is not None and cached[0] is raw:
                links: frozenset[str] = cached[1]
                return links
        links = frozenset(parse_links(raw))
        with self._lock:
            self._cache["links"] = (raw, links)
        return links

    # -- lists -----------------------------------------------------------------------------------
    def _list(self, key: str, path: str, **params: Any) -> list[dict[str, Any]]:
        if not self.exists or self.realm_rep() is None:
            return []
        return self._once(key, lambda: self.api.get(f"{self.base}/{path}", **params) or [])

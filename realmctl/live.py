"""Live state of one realm, read in bulk and cached, shared by every kind.

Kinds never fetch an object on their own: they ask this reader, which fetches each list once per
run (clients, client scopes, roles, IdPs, ...) and answers ids from it. Creates made during apply
are recorded here, so later changes find the new ids without another read.
"""

import json
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from realmctl.keycloak.session import Api, NotFound, seg
from realmctl.ownership import DEFAULT_OWNER, owner_of_entry, unwrap, wrap

T = TypeVar("T")
_MISSING = object()

#: Realm attribute holding the links (scope attachments, scope mappings, role grants) that
#: realmctl added; only those are removed when they leave the spec.
LINKS_ATTRIBUTE = "realmctl.links"
#: Marker on objects realmctl created (attribute, config key or role attribute, by kind).
OWNED_MARKER = "realmctl.managed"

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


def _parse_entry(raw: str) -> tuple[tuple[str, ...], Ids | None, str] | None:
    """`parse_record` and the entry's owner (as `owner_of_entry`) from one `json.loads`: the record
    holds an entry per owned link, thousands in a large realm, and each was parsed twice."""
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
            return tuple(sys.intern(str(k)) for k in key), tuple(ids), sys.intern(owner)
        return None
    if isinstance(parsed, list) and parsed and all(isinstance(k, str) for k in parsed):
        return tuple(parsed), None, owner
    return None


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


class RealmState:
    """Bulk reads of one realm, each made at most once, with the ids they reveal."""

    def __init__(self, api: Api, realm: str, owner: str = DEFAULT_OWNER) -> None:
        self.api = api
        self.realm = realm
        #: The spec's owner, and the owner of each record entry the reads matched (ownership.py).
        self.owner = owner
        self.entry_owners: dict[tuple[str, ...], str] = {}
        self.base = f"admin/realms/{seg(realm)}"
        self._cache: dict[Any, Any] = {}
        self._pending: dict[Any, threading.Event] = {}
        self._lock = threading.RLock()
        self._users_lock = threading.Lock()
        self.created_ids: dict[tuple[str, ...], str] = {}
        #: Ids of what this run created, by (kind, *key), for the record (see `record_entry`).
        self.new_ids: dict[tuple[str, ...], Ids] = {}
        #: Record entries found stale or names-only while reading: entry -> replacement (None: drop).
        self.record_fixes: dict[str, str | None] = {}
        self.locks: dict[Any, threading.Lock] = {}
        #: Owner of each record entry, from the record's one parse (`_records`).
        self._owners: dict[str, str] = {}

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

    def lock(self, key: Any) -> threading.Lock:
        """A lock per object, for read-modify-write sequences on it."""
        with self._lock:
            return self.locks.setdefault(key, threading.Lock())

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

    def remember(self, key: Any, value: Any) -> None:
        """Caches what a write answered (e.g. the permission reference PUT returns)."""
        with self._lock:
            self._cache[key] = value

    def forget(self, *keys: Any) -> None:
        """Drops cached reads (the executor does so after writes that change them)."""
        with self._lock:
            for key in keys:
                self._cache.pop(key, None)

    # -- realm ---------------------------------------------------------------------------------
    def realm_rep(self) -> dict[str, Any] | None:
        return self._once("realm", lambda: self.api.get_or_none(self.base))

    @property
    def exists(self) -> bool:
        return self.realm_rep() is not None or ("realm",) in self.created_ids

    def recorded(self, kind: str) -> list[tuple[str, ...]]:
        """Keys of `kind` in realmctl's record of what it owns here (see LINKS_ATTRIBUTE)."""
        return sorted({key[1:] for key in self._records() if key[0] == kind})

    def _records(self) -> dict[tuple[str, ...], list[tuple[str, Ids | None]]]:
        """The record by (kind, *key): each entry as written, with the ids it holds (None: names only)."""

        def parse() -> dict[tuple[str, ...], list[tuple[str, Ids | None]]]:
            out: dict[tuple[str, ...], list[tuple[str, Ids | None]]] = {}
            owners: dict[str, str] = {}
            for raw in self.links():
                parsed = _parse_entry(raw)
                if parsed is not None:
                    out.setdefault(parsed[0], []).append((raw, parsed[1]))
                    owners[raw] = parsed[2]
            with self._lock:
                self._owners = owners
            return out

        return self._once("records", parse)

    def record_entries(self, full_key: tuple[str, ...]) -> list[tuple[str, Ids | None]]:
        """The record's entries for (kind, *key), as written, with their ids."""
        return list(self._records().get(full_key, []))

    def owns(self, kind: str, key: tuple[str, ...], ids: Ids | None) -> bool:
        """Whether the record holds `key` for the live object (or link) whose ids are `ids`.

        `ids` is None when there is nothing live by that name. An entry whose ids differ belongs to
        an object that is gone (a namesake made by hand is not realmctl's), so it is dropped at the
        next write of the record; an entry with names only (written before ids were recorded) is
        trusted and upgraded to the live ids.
        """
        owned = False
        for raw, recorded in self._records().get((kind, *key), []):
            if ids is not None and recorded in (None, ids):
                owned = True
                with self._lock:
                    self.entry_owners[(kind, *key)] = self.owner_of(raw)
                if recorded is None:
                    self._fix(raw, wrap(record_entry(kind, key, ids), self.owner_of(raw)))
            else:
                self._fix(raw, None)
        return owned

    def locate(self, kind: str, key: tuple[str, ...], ids: Ids | None) -> None:
        """For kinds owned through a marker on the object, where the record only says where to look:
        keeps the entry with the live ids while a marked object is there, else drops it."""
        for raw, recorded in self._records().get((kind, *key), []):
            if ids is None:
                self._fix(raw, None)
            elif recorded != ids:
                self._fix(raw, wrap(record_entry(kind, key, ids), self.owner_of(raw)))

    def owner_of(self, raw: str) -> str:
        """The owner of record entry `raw`, as `owner_of_entry`, without parsing it again."""
        owner = self._owners.get(raw)
        return owner if owner is not None else owner_of_entry(raw)

    def note_ids(self, full_key: tuple[str, ...], ids: Ids) -> None:
        """Ids of an object or link this run created, keyed (kind, *key), for the record."""
        with self._lock:
            self.new_ids[full_key] = ids

    def _fix(self, raw: str, entry: str | None) -> None:
        with self._lock:
            self.record_fixes[raw] = entry

    def links(self) -> set[str]:
        """The links realmctl recorded as its own in this realm.

        Parsed once per realm representation read (the record can hold thousands of entries, and
        every kind asks), again only after the realm is re-read (`forget("realm")`).
        """
        rep = self.realm_rep() or {}
        raw = (rep.get("attributes") or {}).get(LINKS_ATTRIBUTE)
        with self._lock:
            cached = self._cache.get("links")
            if cached is not None and cached[0] is raw:
                return set(cached[1])
        try:
            found = json.loads(raw) if raw else []
        except ValueError:
            found = []
        links = frozenset(e for e in found if isinstance(e, str)) if isinstance(found, list) else frozenset()
        with self._lock:
            self._cache["links"] = (raw, links)
        return set(links)

    # -- lists -----------------------------------------------------------------------------------
    def _list(self, key: str, path: str, **params: Any) -> list[dict[str, Any]]:
        if not self.exists or self.realm_rep() is None:
            return []
        return self._once(key, lambda: self.api.get(f"{self.base}/{path}", **params) or [])

    def clients(self) -> list[dict[str, Any]]:
        return self._list("clients", "clients")

    def client_scopes(self) -> list[dict[str, Any]]:
        return self._list("client-scopes", "client-scopes")

    def realm_default_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-default", "default-default-client-scopes")

    def realm_optional_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-optional", "default-optional-client-scopes")

    def realm_roles(self) -> list[dict[str, Any]]:
        return self._list("roles", "roles", briefRepresentation="false")

    def groups(self) -> list[dict[str, Any]]:
        return self._list("groups", "groups", briefRepresentation="false")

    def idps(self) -> list[dict[str, Any]]:
        if self.realm_rep() is None:
            return []
        return self._once("idps", lambda: self.api.get_all(f"{self.base}/identity-provider/instances"))

    # -- by object ---------------------------------------------------------------------------
    def remember_client(self, client: dict[str, Any]) -> None:
        """Adds a client created during apply to the cached listing."""
        with self._lock:
            clients = [c for c in self.clients() if c.get("clientId") != client.get("clientId")]
            self._cache["clients"] = [*clients, client]

    def client(self, client_id: str) -> dict[str, Any] | None:
        return self._index("clients", self.clients(), "clientId").get(client_id)

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

    def client_uuid(self, client_id: str) -> str | None:
        found = self.client(client_id)
        return found["id"] if found else self.created_ids.get(("client", client_id))

    def scope(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.client_scopes() if s.get("name") == name), None)

    def scope_id(self, name: str) -> str | None:
        found = self.scope(name)
        return found["id"] if found else self.created_ids.get(("client-scope", name))

    def idp(self, alias: str) -> dict[str, Any] | None:
        return next((i for i in self.idps() if i.get("alias") == alias), None)

    def group(self, name: str) -> dict[str, Any] | None:
        return next((g for g in self.groups() if g.get("name") == name), None)

    def group_id(self, name: str) -> str | None:
        found = self.group(name)
        return found["id"] if found else self.created_ids.get(("group", name))

    def client_roles(self, client_id: str) -> list[dict[str, Any]]:
        uuid = self.client_uuid(client_id)
        if uuid is None or ("client", client_id) in self.created_ids:
            return []
        return self._once(
            ("client-roles", client_id),
            lambda: self.api.get(f"{self.base}/clients/{uuid}/roles", briefRepresentation="false") or [],
        )

    def role(self, container: str, name: str) -> dict[str, Any] | None:
        """A realm role (container "realm") or a client role (container = clientId)."""
        if container != "realm" and ("client-roles", container) not in self._cache:
            noted: dict[str, Any] | None = self._cache.get(("role-ref", container, name))
            if noted is not None:  # seen mapped in a read made anyway: no listing of the client's roles
                return noted
        roles = self.realm_roles() if container == "realm" else self.client_roles(container)
        found = next((r for r in roles if r.get("name") == name), None)
        if found is None and ("role", container, name) in self.created_ids:
            return {"id": self.created_ids[("role", container, name)], "name": name}
        return found

    def note_role(self, container: str, name: str, ref: dict[str, Any]) -> None:
        """The id of a client role seen in another read (a role scope's mappings), for `role`."""
        self.remember(("role-ref", container, name), ref)

    def role_members(self, container: str, name: str, keep: bool = True) -> list[dict[str, Any]]:
        """Users holding a role directly (one paged listing per role, not one read per user).

        `keep=False` (for `role_member_ids`, which is kept instead) reads a listing not read yet
        without keeping it: at 5x L the members of broker/read-token alone are 12,500 users."""
        role = self.role(container, name)
        if role is None or ("role", container, name) in self.created_ids:
            return []
        if container == "realm":
            path = f"{self.base}/roles/{seg(name)}/users"
        else:
            path = f"{self.base}/clients/{self.client_uuid(container)}/roles/{seg(name)}/users"
        key = ("members", container, name)
        if not keep and key not in self._cache:
            return self.api.get_all(path, page=USER_PAGE, briefRepresentation="true")
        return self._once(key, lambda: self.api.get_all(path, page=USER_PAGE, briefRepresentation="true"))

    def role_member_ids(self, container: str, name: str) -> dict[str, str]:
        """Lower-cased username -> user id of a role's direct members: grants test membership by
        name often, and an owned grant's recorded identity by id."""
        return self._once(
            ("member-ids", container, name),
            lambda: {m["username"].lower(): m["id"] for m in self.role_members(container, name, keep=False)},
        )

    def group_member_ids(self, name: str) -> dict[str, str]:
        """Lower-cased username -> user id of a group's direct members."""
        return self._once(
            ("group-member-ids", name), lambda: {m["username"].lower(): m["id"] for m in self.group_members(name)}
        )

    def scope_mappings(self, owner: str, name: str) -> dict[str, Any]:
        """Role scope mappings of a client scope (owner "scope") or a client (owner "client")."""
        oid = self.scope_id(name) if owner == "scope" else self.client_uuid(name)
        if oid is None or (("client-scope" if owner == "scope" else "client"), name) in self.created_ids:
            return {}
        what = "client-scopes" if owner == "scope" else "clients"
        return self._once(
            ("scope-mappings", owner, name),
            lambda: self.api.get(f"{self.base}/{what}/{oid}/scope-mappings") or {},
        )

    def map_role(self, owner: str, container: str, role: str, add: bool) -> str:
        """Adds or removes one role on a role-mapping or scope-mapping endpoint.

        `owner` is the endpoint without its `/realm` or `/clients/{uuid}` tail, e.g.
        `users/{id}/role-mappings` or `client-scopes/{id}/scope-mappings`. Keycloak needs both the
        role's id and name; adding a role that is already mapped is harmless, so it may be retried.
        Returns the role's id (the link's identity is recorded with it).
        """
        found = self.role(container, role)
        if found is None:
            raise LookupError(f"role {container}/{role} does not exist in realm {self.realm}")
        tail = "realm" if container == "realm" else f"clients/{self.client_uuid(container)}"
        path = f"{self.base}/{owner}/{tail}"
        body = [{"id": found["id"], "name": role}]
        if add:
            self.api.post(path, body, idempotent=True)
        else:
            self.api.delete(path, body)
        return str(found["id"])

    def idp_mappers(self, alias: str) -> list[dict[str, Any]]:
        if self.idp(alias) is None:
            return []
        path = f"{self.base}/identity-provider/instances/{seg(alias)}/mappers"
        return self._once(("idp-mappers", alias), lambda: self.api.get(path) or [])

    def group_role_names(self, name: str, container: str) -> set[str]:
        """Role names of `container` ("realm" or a clientId) granted to group `name`.

        Keycloak 26.7.3 lists them in the group listing (`briefRepresentation=false`: `realmRoles`,
        `clientRoles` by clientId, present and empty when nothing is mapped), which is read anyway;
        only a listing without them (another server) costs the group's role-mappings read.
        """
        if ("group", name) in self.created_ids:
            return set()
        found = self.group(name)
        if found is not None and "realmRoles" in found and "clientRoles" in found:
            names = found["realmRoles"] if container == "realm" else (found["clientRoles"] or {}).get(container)
            return set(names or [])
        return mapped_names(self.group_role_mappings(name), container)

    def group_role_mappings(self, name: str) -> dict[str, Any]:
        gid = self.group_id(name)
        if gid is None or ("group", name) in self.created_ids:
            return {}
        path = f"{self.base}/groups/{gid}/role-mappings"
        return self._once(("group-roles", name), lambda: self.api.get(path) or {})

    def group_members(self, name: str) -> list[dict[str, Any]]:
        gid = self.group_id(name)
        if gid is None or ("group", name) in self.created_ids:
            return []
        path = f"{self.base}/groups/{gid}/members"
        return self._once(
            ("group-members", name), lambda: self.api.get_all(path, page=USER_PAGE, briefRepresentation="true")
        )

    def linked_users(self, alias: str) -> list[dict[str, Any]]:
        """Users with a federated identity link to IdP `alias`."""
        if self.idp(alias) is None:
            return []
        path = f"{self.base}/users"
        return self._once(
            ("linked", alias),
            lambda: self.api.get_all(path, page=USER_PAGE, idpAlias=alias, briefRepresentation="true"),
        )

    def service_account_user(self, client_id: str) -> dict[str, Any] | None:
        uuid = self.client_uuid(client_id)
        if uuid is None or ("client", client_id) in self.created_ids:
            return None

        def fetch() -> dict[str, Any] | None:
            try:
                result: dict[str, Any] | None = self.api.get(f"{self.base}/clients/{uuid}/service-account-user")
                return result
            except NotFound:
                return None

        return self._once(("service-account", client_id), fetch)

    # -- fine-grained permissions (v1) and the realm-management authorization API ----------------
    def management_client(self) -> str:
        """The client whose resource server holds FGAP v1 objects (master: `master-realm`)."""
        return "master-realm" if self.realm == "master" else "realm-management"

    def authz(self) -> str:
        return f"{self.base}/clients/{self.client_uuid(self.management_client())}/authz/resource-server"

    def fgap_path(self, target: str, name: str) -> str:
        if target == "idp":
            return f"{self.base}/identity-provider/instances/{seg(name)}/management/permissions"
        if target == "client":
            return f"{self.base}/clients/{self.client_uuid(name)}/management/permissions"
        return f"{self.base}/users-management-permissions"

    def fgap_ref(self, target: str, name: str) -> dict[str, Any]:
        """The ManagementPermissionReference of an IdP, a client or the realm's users."""
        with self._lock:
            if ("fgap", target, name) in self._cache:  # enabled during this apply
                cached: dict[str, Any] = self._cache[("fgap", target, name)]
                return cached
        exists = {"idp": lambda: self.idp(name), "client": lambda: self.client(name)}.get(target, lambda: True)()
        if not exists or self.realm_rep() is None or (target == "client" and ("client", name) in self.created_ids):
            return {"enabled": False}
        return self._once(("fgap", target, name), lambda: self.api.get(self.fgap_path(target, name)) or {})

    def policies(self) -> list[dict[str, Any]]:
        """realmctl's client policies on the realm-management resource server (one listing)."""
        management = self.client(self.management_client())
        if management is None or not management.get("authorizationServicesEnabled"):
            # No resource server yet (Keycloak 26.7.3 lists the field only once fine-grained
            # permissions made one): no policy can exist, so there is nothing to list.
            return []
        return self._once(
            "policies",
            lambda: (
                self.api.get_or_none(f"{self.authz()}/policy", name="realmctl-", type="client", first=0, max=1000) or []
            ),
        )

    def associated(self, permission_id: str) -> list[dict[str, Any]]:
        path = f"{self.authz()}/policy/{permission_id}/associatedPolicies"
        return self._once(("associated", permission_id), lambda: self.api.get(path) or [])

    # -- users -------------------------------------------------------------------------------
    def users(self, usernames: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Users by (lower-cased) username, for the names asked: one listing when the realm is
        small compared with the names asked, else one exact search per name."""
        wanted = sorted({u.lower() for u in usernames})
        if not wanted or self.realm_rep() is None:
            return {}
        with self._users_lock:
            return self._users(wanted)

    def _users(self, wanted: list[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            known: dict[str, dict[str, Any]] = self._cache.setdefault("users", {})
            missing = [u for u in wanted if u not in known and ("user-miss", u) not in self._cache]
        if missing:
            # Listing costs one request per page; searching, one per name. Take the cheaper, but never
            # list a realm so large that holding it would be the problem. A first page that comes
            # back short is the whole realm: no count needed (one request where count + page were two).
            listing = self._list_users(len(missing)) if len(missing) > 1 else None
            if listing is not None:
                for user in listing:
                    known[user["username"].lower()] = user
                for name in missing:
                    self._cache.setdefault(("user-miss", name), True)
            else:

                def search(name: str) -> None:
                    found = self.api.get(f"{self.base}/users", username=name, exact="true")
                    with self._lock:
                        if found:
                            known[name] = found[0]
                        else:
                            self._cache[("user-miss", name)] = True

                self.fanout(search, missing)
        return {u: known[u] for u in wanted if u in known}

    def _list_users(self, missing: int) -> list[dict[str, Any]] | None:
        """Every user of the realm (cached as "all-users"), or None where searching the `missing`
        names one by one is cheaper: the realm fills more pages than there are names to find, or
        holds more than 50,000 users (holding it would be the problem)."""
        path = f"{self.base}/users"
        first: list[dict[str, Any]] = self._once(
            "users-page-0", lambda: self.api.get(path, first=0, max=USER_PAGE) or []
        )
        if len(first) < USER_PAGE:
            return self._once("all-users", lambda: first)
        total = self._once("users-count", lambda: int(self.api.get(f"{path}/count") or 0))
        if total // USER_PAGE + 1 >= missing or total > 50_000:
            return None

        def rest() -> list[dict[str, Any]]:
            users, offset = list(first), USER_PAGE
            while True:
                batch = self.api.get(path, first=offset, max=USER_PAGE) or []
                users.extend(batch)
                if len(batch) < USER_PAGE:
                    return users
                offset += USER_PAGE

        return self._once("all-users", rest)

    def owned_users(self) -> list[dict[str, Any]]:
        """Users carrying realmctl's marker (one attribute search), so that owned users who left
        the spec can be found without listing the realm."""
        if self.realm_rep() is None:
            return []
        with self._lock:
            listed = self._cache.get("all-users")
        if listed is not None:  # the whole realm was listed already: filter it, do not ask again
            return [u for u in listed if "true" in ((u.get("attributes") or {}).get(OWNED_MARKER) or [])]
        path = f"{self.base}/users"
        return self._once("owned-users", lambda: self.api.get_all(path, page=USER_PAGE, q=f"{OWNED_MARKER}:true"))

    def user_id(self, username: str) -> str | None:
        name = username.lower()
        if ("user", name) in self.created_ids:  # created in this run: no need to ask the server
            return self.created_ids[("user", name)]
        found = self.users([name]).get(name)
        return found["id"] if found else None

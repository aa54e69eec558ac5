"""The sandbox's in-memory model of Keycloak: realms and everything inside them.

Objects keep their Keycloak representation fields in plain dicts (`rep`) so that what a client
sends is what it reads back; relations (role composites, mappings, scope links) are kept as id sets
because Keycloak resolves them by id and exposes them through several endpoints. One `RLock` guards
the whole store; the HTTP layer holds it for the duration of each request.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


def as_text(value: Any) -> str:
    """A JSON scalar as Jackson coerces it into a `Map<String, String>` value: booleans become
    `"true"`/`"false"` (Python's `str()` would store `"True"`, which a re-applying tool sees as a change)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def new_id() -> str:
    """A random UUID string, the shape Keycloak uses for every internal id."""
    return str(uuid.uuid4())


@dataclass
class Role:
    """A realm role (`client_id` None) or a client role; composites are role ids."""

    id: str
    name: str
    realm_id: str
    client_id: str | None = None
    description: str | None = None
    composites: set[str] = field(default_factory=set)
    attributes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def container_id(self) -> str:
        return self.client_id or self.realm_id


@dataclass
class Client:
    """A client: its stored fields, its own mappers, scope links and role scope mappings.

    `scopes` maps client-scope id to True (default scope) or False (optional scope), in the order
    the links were made.
    """

    id: str
    rep: dict[str, Any]
    mappers: list[dict[str, Any]] = field(default_factory=list)
    scopes: dict[str, bool] = field(default_factory=dict)
    scope_role_ids: set[str] = field(default_factory=set)

    @property
    def client_id(self) -> str:
        return str(self.rep["clientId"])


@dataclass
class ClientScope:
    """A client scope with its protocol mappers and role scope mappings."""

    id: str
    name: str
    protocol: str | None
    description: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    mappers: list[dict[str, Any]] = field(default_factory=list)
    scope_role_ids: set[str] = field(default_factory=set)


@dataclass
class FederatedIdentity:
    """A user's link to an identity provider; `token` is the stored upstream token response."""

    identity_provider: str
    user_id: str
    user_name: str
    token: str | None = None


@dataclass
class User:
    """A user: representation fields, password, direct role mappings, groups and IdP links."""

    id: str
    rep: dict[str, Any]
    password: str | None = None
    #: an imported hashed password (credentials.hashed), checked when `password` is None
    password_hash: dict[str, Any] | None = None
    role_ids: set[str] = field(default_factory=set)
    group_ids: set[str] = field(default_factory=set)
    federated: dict[str, FederatedIdentity] = field(default_factory=dict)

    @property
    def username(self) -> str:
        return str(self.rep["username"])


@dataclass
class Group:
    """A group; subgroups point to their parent. Role mappings are role ids."""

    id: str
    name: str
    parent_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    role_ids: set[str] = field(default_factory=set)


@dataclass
class IdentityProvider:
    """An identity provider (`rep` holds alias, internalId, config …) and its mappers by id."""

    rep: dict[str, Any]
    mappers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def alias(self) -> str:
        return str(self.rep["alias"])

    @property
    def internal_id(self) -> str:
        return str(self.rep["internalId"])


@dataclass
class Policy:
    """An authorization policy or permission; relations are ids of the same resource server."""

    id: str
    rep: dict[str, Any]
    policy_ids: list[str] = field(default_factory=list)
    resource_ids: list[str] = field(default_factory=list)
    scope_ids: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.rep["name"])


@dataclass
class ResourceServer:
    """Authorization services of one client: resources, scopes and policies keyed by id."""

    client_id: str
    settings: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)

    def scope_by_name(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.scopes.values() if s["name"] == name), None)

    def resource_by_name(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.resources.values() if r["name"] == name), None)

    def policy_by_name(self, name: str) -> Policy | None:
        return next((p for p in self.policies.values() if p.name == name), None)


@dataclass
class Realm:
    """One realm and all it contains."""

    id: str
    name: str
    settings: dict[str, Any]
    roles: dict[str, Role] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    client_scopes: dict[str, ClientScope] = field(default_factory=dict)
    default_scopes: dict[str, bool] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    idps: dict[str, IdentityProvider] = field(default_factory=dict)
    resource_servers: dict[str, ResourceServer] = field(default_factory=dict)
    default_role_id: str | None = None
    #: Parts of an imported realm the sandbox keeps without acting on them (components, flows,
    #: required actions, client policies): returned on GET and in partial export as imported.
    kept: dict[str, Any] = field(default_factory=dict)
    signing_key: Any = None
    key_id: str = field(default_factory=new_id)
    #: "u:<username>" and "e:<lower-cased e-mail>" -> ids of the users that had them, in creation order.
    #: Kept by `index_user` (on create and on update) and checked on every read, so that a lookup by
    #: name or e-mail does not scan every user (a create did: quadratic over a large apply).
    user_keys: dict[str, dict[str, None]] = field(default_factory=dict, repr=False)
    #: User sessions: `sid` -> user id. Keycloak finds a token's user through its session, since
    #: lightweight access tokens (admin-cli's) and their refresh tokens carry no `sub`.
    sessions: dict[str, str] = field(default_factory=dict, repr=False)

    # --- lookups -------------------------------------------------------------------------------
    def client_by_client_id(self, client_id: str) -> Client | None:
        return next((c for c in self.clients.values() if c.client_id == client_id), None)

    def realm_roles(self) -> Iterator[Role]:
        return (r for r in self.roles.values() if r.client_id is None)

    def client_roles(self, client_uuid: str) -> Iterator[Role]:
        return (r for r in self.roles.values() if r.client_id == client_uuid)

    def realm_role(self, name: str) -> Role | None:
        return next((r for r in self.realm_roles() if r.name == name), None)

    def client_role(self, client_uuid: str, name: str) -> Role | None:
        return next((r for r in self.client_roles(client_uuid) if r.name == name), None)

    def scope_by_name(self, name: str) -> ClientScope | None:
        return next((s for s in self.client_scopes.values() if s.name == name), None)

    def index_user(self, user: User) -> None:
        """Records the user's username and e-mail for `user_by_username` and `user_by_email`."""
        self.user_keys.setdefault("u:" + user.username, {})[user.id] = None
        email = str(user.rep.get("email") or "").lower()
        if email:
            self.user_keys.setdefault("e:" + email, {})[user.id] = None

    def _indexed(self, key: str, matches: Callable[[User], bool]) -> User | None:
        """The first user recorded under `key` that still exists and still matches; stale ids are dropped."""
        ids = self.user_keys.get(key, {})
        for uid in list(ids):
            user = self.users.get(uid)
            if user is not None and matches(user):
                return user
            del ids[uid]  # deleted, or renamed since
        return None

    def user_by_username(self, username: str) -> User | None:
        wanted = username.lower()
        return self._indexed("u:" + wanted, lambda u: u.username == wanted)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.lower()
        return self._indexed("e:" + wanted, lambda u: str(u.rep.get("email") or "").lower() == wanted)

    def token_user(self, claims: dict[str, Any]) -> User | None:
        """The user a token of this realm speaks for: its session's (by `sid`), else its `sub`
        (tokens without a session, such as client credentials)."""
        user_id = self.sessions.get(str(claims.get("sid") or ""))
        if user_id is None:
            user_id = str(claims.get("sub") or "")
        return self.users.get(user_id)

    def service_account_user(self, client_uuid: str) -> User | None:
        client = self.clients.get(client_uuid)
        if client is None:
            return None
        return next(
            (u for u in self.users.values() if u.rep.get("serviceAccountClientId") == client.client_id),
            None,
        )

    # --- role resolution -----------------------------------------------------------------------
    def expand(self, role_ids: Iterable[str]) -> set[str]:
        """All role ids reachable from `role_ids` through composites (including themselves)."""
        seen: set[str] = set()
        stack = list(role_ids)
        while stack:
            rid = stack.pop()
            if rid in seen or rid not in self.roles:
                continue
            seen.add(rid)
            stack.extend(self.roles[rid].composites)
        return seen

    def group_chain(self, group_id: str) -> list[Group]:
        """The group and its ancestors: members of a subgroup inherit the parents' roles."""
        chain: list[Group] = []
        current = self.groups.get(group_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.groups.get(current.parent_id) if current.parent_id else None
        return chain

    def user_effective_role_ids(self, user: User) -> set[str]:
        """Direct mappings + mappings of all groups (and their parents), composites expanded."""
        ids = set(user.role_ids)
        for gid in user.group_ids:
            for group in self.group_chain(gid):
                ids |= group.role_ids
        return self.expand(ids)


class Store:
    """All realms of one sandbox, with the lock every request holds."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.realms: dict[str, Realm] = {}

    def realm(self, name: str) -> Realm | None:
        return self.realms.get(name)

    def realm_by_id(self, realm_id: str) -> Realm | None:
        return next((r for r in self.realms.values() if r.id == realm_id), None)

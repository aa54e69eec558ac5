"""Role mappings of users and groups, and scope mappings of clients and client scopes.

Keycloak serves both with the same shape (RoleMapperResource / ScopeMappedResource): a holder with
a set of directly mapped roles, readable as direct, effective (`composite`) or `available`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from realmctl.sandbox import ops, reps
from realmctl.sandbox.errors import error
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router
from realmctl.sandbox.store import Realm, Role


@dataclass
class Holder:
    """Something roles are mapped to: its direct role ids and how to compute its effective ones."""

    realm: Realm
    role_ids: set[str]
    effective: Callable[[], set[str]]


def _user(req: Request, write: bool) -> Holder:
    realm = req.realm("manage-users" if write else "view-users")
    user = realm.users.get(req.params["owner"])
    if user is None:
        raise error(404, "User not found")
    return Holder(realm, user.role_ids, lambda: realm.user_effective_role_ids(user))


def _group(req: Request, write: bool) -> Holder:
    realm = req.realm("manage-users" if write else "view-users", *(() if write else ("query-groups",)))
    group = realm.groups.get(req.params["owner"])
    if group is None:
        raise error(404, "Could not find group by id")

    def effective() -> set[str]:
        ids: set[str] = set()
        for g in realm.group_chain(group.id):
            ids |= g.role_ids
        return realm.expand(ids)

    return Holder(realm, group.role_ids, effective)


def _client_scope_holder(req: Request, write: bool) -> Holder:
    realm = req.realm("manage-clients" if write else "view-clients")
    client = realm.clients.get(req.params["owner"])
    if client is None:
        raise error(404, "Could not find client")

    def effective() -> set[str]:
        if client.rep.get("fullScopeAllowed"):
            return set(realm.roles)
        return realm.expand(client.scope_role_ids)

    return Holder(realm, client.scope_role_ids, effective)


def _scope_scope_holder(req: Request, write: bool) -> Holder:
    realm = req.realm("manage-clients" if write else "view-clients")
    scope = realm.client_scopes.get(req.params["owner"])
    if scope is None:
        raise error(404, "Could not find client scope")
    return Holder(realm, scope.scope_role_ids, lambda: realm.expand(scope.scope_role_ids))


HOLDERS: dict[str, tuple[str, Callable[[Request, bool], Holder]]] = {
    "users": ("role-mappings", _user),
    "groups": ("role-mappings", _group),
    "clients": ("scope-mappings", _client_scope_holder),
    "client-scopes": ("scope-mappings", _scope_scope_holder),
}


def _target_client(req: Request, realm: Realm, missing: str = "Client not found") -> str | None:
    client_uuid = req.params.get("client")
    if client_uuid is not None and client_uuid not in realm.clients:
        raise error(404, missing)
    return client_uuid


def _roles_of(realm: Realm, ids: set[str], client_uuid: str | None) -> list[Role]:
    roles = [realm.roles[i] for i in ids if i in realm.roles and realm.roles[i].client_id == client_uuid]
    return sorted(roles, key=lambda r: r.name)


def _brief(realm: Realm, roles: list[Role], brief: bool = True) -> list[dict[str, Any]]:
    return [reps.role_rep(realm, r, brief=brief) for r in roles]


def make_handlers(kind: str) -> dict[str, Callable[[Request], Response]]:
    """GET/POST/DELETE direct, GET composite, GET available — for realm (no `{client}`) or a client."""
    # Keycloak words a missing client differently under scope mappings (26.7.3: "Could not find client").
    segment, resolve = HOLDERS[kind]
    missing = "Could not find client" if segment == "scope-mappings" else "Client not found"

    def all_mappings(req: Request) -> Response:
        holder = resolve(req, False)
        realm = holder.realm
        body: dict[str, Any] = {}
        realm_roles = _roles_of(realm, holder.role_ids, None)
        if realm_roles:
            body["realmMappings"] = _brief(realm, realm_roles)
        client_mappings: dict[str, Any] = {}
        for client in sorted(realm.clients.values(), key=lambda c: c.client_id):
            roles = _roles_of(realm, holder.role_ids, client.id)
            if roles:
                client_mappings[client.client_id] = {
                    "id": client.id,
                    "client": client.client_id,
                    "mappings": _brief(realm, roles),
                }
        if client_mappings:
            body["clientMappings"] = client_mappings
        return Response(200, body)

    def direct(req: Request) -> Response:
        holder = resolve(req, False)
        client_uuid = _target_client(req, holder.realm, missing)
        return Response(200, _brief(holder.realm, _roles_of(holder.realm, holder.role_ids, client_uuid)))

    def composite(req: Request) -> Response:
        holder = resolve(req, False)
        client_uuid = _target_client(req, holder.realm, missing)
        brief = bool(req.bool_arg("briefRepresentation", True))
        return Response(200, _brief(holder.realm, _roles_of(holder.realm, holder.effective(), client_uuid), brief))

    def available(req: Request) -> Response:
        holder = resolve(req, False)
        realm = holder.realm
        client_uuid = _target_client(req, realm, missing)
        pool = {r.id for r in realm.roles.values() if r.client_id == client_uuid}
        return Response(200, _brief(realm, _roles_of(realm, pool - holder.role_ids, client_uuid)))

    def add(req: Request) -> Response:
        holder = resolve(req, True)
        client_uuid = _target_client(req, holder.realm, missing)
        for role in ops.resolve_roles(holder.realm, req.json(), client_uuid=client_uuid):
            holder.role_ids.add(role.id)
        return NO_CONTENT

    def remove(req: Request) -> Response:
        holder = resolve(req, True)
        realm = holder.realm
        client_uuid = _target_client(req, realm, missing)
        body = req.json()
        if body is None:
            holder.role_ids -= {r.id for r in _roles_of(realm, holder.role_ids, client_uuid)}
            return NO_CONTENT
        for role in ops.resolve_roles(realm, body, client_uuid=client_uuid):
            holder.role_ids.discard(role.id)
        return NO_CONTENT

    return {
        "all": all_mappings,
        "direct": direct,
        "composite": composite,
        "available": available,
        "add": add,
        "remove": remove,
    }


def register(router: Router) -> None:
    for kind, (segment, _) in HOLDERS.items():
        handlers = make_handlers(kind)
        base = f"/admin/realms/{{realm}}/{kind}/{{owner}}/{segment}"
        router.add("GET", base, handlers["all"])
        for sub in (base + "/realm", base + "/clients/{client}"):
            router.add("GET", sub, handlers["direct"])
            router.add("POST", sub, handlers["add"])
            router.add("DELETE", sub, handlers["remove"])
            router.add("GET", sub + "/composite", handlers["composite"])
            router.add("GET", sub + "/available", handlers["available"])

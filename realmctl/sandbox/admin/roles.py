"""Realm roles (`/roles`) and client roles (`/clients/{id}/roles`): CRUD, composites, members.

Both containers share Keycloak's `RoleContainerResource`, so one set of handlers serves both;
`{id}` present in the path means a client container.
"""

from __future__ import annotations

from typing import Any

from realmctl.sandbox import ops, reps
from realmctl.sandbox.errors import error, exists
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created, seg
from realmctl.sandbox.store import Realm, Role

DEFAULT_MAX = 100


def container(req: Request, *roles: str) -> tuple[Realm, str | None]:
    """The realm and client uuid (None for realm roles) the path refers to."""
    realm = req.realm(*roles)
    client_uuid = req.params.get("id")
    if client_uuid is not None and client_uuid not in realm.clients:
        raise error(404, "Could not find client")
    return realm, client_uuid


def find_role(realm: Realm, client_uuid: str | None, name: str) -> Role:
    role = realm.client_role(client_uuid, name) if client_uuid else realm.realm_role(name)
    if role is None:
        raise error(404, "Could not find role")
    return role


def _role_rep_full(realm: Realm, role: Role) -> dict[str, Any]:
    return reps.role_rep(realm, role)


def list_roles(req: Request) -> Response:
    realm, client_uuid = container(req, "view-realm", "view-clients", "view-users", "query-clients")
    roles = list(realm.client_roles(client_uuid) if client_uuid else realm.realm_roles())
    search = (req.arg("search") or "").lower()
    if search:
        roles = [r for r in roles if search in r.name.lower() or search in (r.description or "").lower()]
    roles.sort(key=lambda r: r.name)
    if req.arg("first") is not None and req.arg("max") is not None:  # Keycloak pages only with both
        roles = req.page(roles)
    brief = req.bool_arg("briefRepresentation", True)
    return Response(200, [reps.role_rep(realm, r, brief=bool(brief)) for r in roles])


def create_role(req: Request) -> Response:
    realm, client_uuid = container(req, "manage-realm" if "id" not in req.params else "manage-clients")
    body = req.json_object()
    name = body.get("name")
    if not name:
        raise error(400, "unknown_error")  # UNCONFIRMED
    existing = realm.client_role(client_uuid, name) if client_uuid else realm.realm_role(name)
    if existing is not None:
        raise exists(f"Role with name {name} already exists")
    role = ops.add_role(
        realm,
        name,
        client_id=client_uuid,
        description=body.get("description"),
        attributes=body.get("attributes"),
    )
    _apply_composites(realm, role, body.get("composites"))
    return created(f"{req.base_url}{req.path}/{seg(role.name)}")


def _apply_composites(realm: Realm, role: Role, composites: Any) -> None:
    if not isinstance(composites, dict):
        return
    from realmctl.sandbox.defaults import set_composites

    set_composites(realm, role.id, composites)


def get_role(req: Request) -> Response:
    realm, client_uuid = container(req, "view-realm", "view-clients", "view-users", "query-clients")
    return Response(200, _role_rep_full(realm, find_role(realm, client_uuid, req.params["role"])))


def target_role(req: Request, *, write: bool) -> tuple[Realm, Role]:
    """The role a path names: `/roles-by-id/{role_id}…` or `…/roles/{role}` in its container."""
    if "role_id" in req.params:
        realm, role = by_id(req)
        if write and not req.may(realm, "manage-realm", "manage-clients"):
            raise error(403, "HTTP 403 Forbidden")
        return realm, role
    if write:
        realm, client_uuid = container(req, "manage-realm" if "id" not in req.params else "manage-clients")
    else:
        realm, client_uuid = container(req, "view-realm", "view-clients", "view-users")
    return realm, find_role(realm, client_uuid, req.params["role"])


def update_role(req: Request) -> Response:
    realm, role = target_role(req, write=True)
    client_uuid = role.client_id
    body = req.json_object()
    new_name = body.get("name")
    if new_name and new_name != role.name:
        clash = realm.client_role(client_uuid, new_name) if client_uuid else realm.realm_role(new_name)
        if clash is not None:
            raise exists(f"Role with name {new_name} already exists")
        role.name = new_name
    if "description" in body:
        role.description = body["description"]
    if body.get("attributes") is not None:
        role.attributes = dict(body["attributes"])
    return NO_CONTENT


def delete_role(req: Request) -> Response:
    realm, client_uuid = container(req, "manage-realm" if "id" not in req.params else "manage-clients")
    role = find_role(realm, client_uuid, req.params["role"])
    if role.id == realm.default_role_id:
        raise error(400, "unknown_error")  # UNCONFIRMED: Keycloak refuses to delete the default role
    remove_role(realm, role)
    return NO_CONTENT


def remove_role(realm: Realm, role: Role) -> None:
    """Delete a role and every reference to it (composites, mappings, scope mappings)."""
    realm.roles.pop(role.id, None)
    for other in realm.roles.values():
        other.composites.discard(role.id)
    for user in realm.users.values():
        user.role_ids.discard(role.id)
    for group in realm.groups.values():
        group.role_ids.discard(role.id)
    for client in realm.clients.values():
        client.scope_role_ids.discard(role.id)
    for scope in realm.client_scopes.values():
        scope.scope_role_ids.discard(role.id)


def get_composites(req: Request) -> Response:
    """All composites, or with `/realm` only the realm roles, with `/clients/{client}` only that
    client's roles (brief representations, as Keycloak lists them)."""
    realm, role = target_role(req, write=False)
    children = sorted((realm.roles[i] for i in role.composites), key=lambda r: r.name)
    if req.path.endswith("/composites/realm"):
        children = [r for r in children if r.client_id is None]
    elif "client" in req.params:
        if req.params["client"] not in realm.clients:
            raise error(404, "Could not find client")
        children = [r for r in children if r.client_id == req.params["client"]]
    return Response(200, [reps.role_rep(realm, r, brief=True) for r in children])


def add_composites(req: Request) -> Response:
    realm, role = target_role(req, write=True)
    for entry in req.json() or []:
        child = realm.roles.get(str((entry or {}).get("id")))
        if child is None:
            raise error(404, "Could not find composite role")
        role.composites.add(child.id)
    return NO_CONTENT


def remove_composites(req: Request) -> Response:
    _, role = target_role(req, write=True)
    for entry in req.json() or []:
        role.composites.discard(str((entry or {}).get("id")))
    return NO_CONTENT


def role_users(req: Request) -> Response:
    """Users with a **direct** mapping to the role, sorted by username, paged (default max 100)."""
    realm, client_uuid = container(req, "query-users", "view-users")
    role = find_role(realm, client_uuid, req.params["role"])
    members = sorted((u for u in realm.users.values() if role.id in u.role_ids), key=lambda u: u.username)
    brief = bool(req.bool_arg("briefRepresentation", False))
    return Response(200, [reps.user_rep(realm, u, brief=brief) for u in req.page(members, DEFAULT_MAX)])


def role_groups(req: Request) -> Response:
    realm, client_uuid = container(req, "query-groups", "view-users")
    role = find_role(realm, client_uuid, req.params["role"])
    groups = [g for g in realm.groups.values() if role.id in g.role_ids]
    return Response(200, [reps.group_rep(realm, g, ops.group_path(realm, g)) for g in groups])


def by_id(req: Request) -> tuple[Realm, Role]:
    realm = req.realm("view-realm", "view-clients", "view-users")
    role = realm.roles.get(req.params["role_id"])
    if role is None:
        raise error(404, "Could not find role with id")
    return realm, role


def get_role_by_id(req: Request) -> Response:
    realm, role = by_id(req)
    return Response(200, reps.role_rep(realm, role))


def delete_role_by_id(req: Request) -> Response:
    realm, role = by_id(req)
    if not req.may(realm, "manage-realm", "manage-clients"):
        raise error(403, "HTTP 403 Forbidden")
    remove_role(realm, role)
    return NO_CONTENT


def register(router: Router) -> None:
    for base in ("/admin/realms/{realm}/roles", "/admin/realms/{realm}/clients/{id}/roles"):
        router.add("GET", base, list_roles)
        router.add("POST", base, create_role)
        router.add("GET", base + "/{role}", get_role)
        router.add("PUT", base + "/{role}", update_role)
        router.add("DELETE", base + "/{role}", delete_role)
        router.add("GET", base + "/{role}/composites", get_composites)
        router.add("POST", base + "/{role}/composites", add_composites)
        router.add("DELETE", base + "/{role}/composites", remove_composites)
        router.add("GET", base + "/{role}/users", role_users)
        router.add("GET", base + "/{role}/groups", role_groups)
    for base in (
        "/admin/realms/{realm}/roles/{role}",
        "/admin/realms/{realm}/clients/{id}/roles/{role}",
        "/admin/realms/{realm}/roles-by-id/{role_id}",
    ):
        router.add("GET", base + "/composites/realm", get_composites)
        router.add("GET", base + "/composites/clients/{client}", get_composites)
    by_id_base = "/admin/realms/{realm}/roles-by-id/{role_id}"
    router.add("GET", by_id_base, get_role_by_id)
    router.add("PUT", by_id_base, update_role)
    router.add("DELETE", by_id_base, delete_role_by_id)
    router.add("GET", by_id_base + "/composites", get_composites)
    router.add("POST", by_id_base + "/composites", add_composites)
    router.add("DELETE", by_id_base + "/composites", remove_composites)

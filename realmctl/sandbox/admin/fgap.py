"""Fine-grained admin permissions v1: `management/permissions` (SEMANTICS §7.1).

Enabling creates, on `realm-management` (`master-realm` in master), the resource server, the
authz scopes, one resource and one empty scope permission per scope, named exactly as Keycloak
names them. With FGAP v2 active (the 26.2+ default profile) every endpoint answers 501.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realmctl.sandbox.admin.authz import add_policy, add_resource, add_scope, ensure_resource_server
from realmctl.sandbox.errors import HttpError, error
from realmctl.sandbox.http import Request, Response, Router
from realmctl.sandbox.store import Realm, ResourceServer

NOT_ENABLED = HttpError(
    501,
    {"error": "Feature not enabled", "error_description": "For more on this error consult the server log."},
)
CLIENT_SCOPES = [
    "view",
    "manage",
    "configure",
    "map-roles",
    "map-roles-client-scope",
    "map-roles-composite",
    "token-exchange",
]
USER_SCOPES = ["manage", "view", "map-roles", "impersonate", "manage-group-membership", "user-impersonated"]
USER_PERMISSION_NAMES = {
    "view": "view.permission.users",
    "manage": "manage.permission.users",
    "map-roles": "map-roles.permission.users",
    "manage-group-membership": "manage-group-membership.permission.users",
    "impersonate": "admin-impersonating.permission.users",
    "user-impersonated": "user-impersonated.permission.users",
}


@dataclass
class Target:
    """What a permission set protects: resource name/type, scopes and permission names per scope."""

    resource: str
    rtype: str | None
    permissions: dict[str, str]
    realm_default_scopes: bool = True  # IdentityProviderPermissions creates only `token-exchange`


def realm_server(realm: Realm) -> ResourceServer:
    """The resource server on `realm-management` (`master-realm` in master), created on demand."""
    client = realm.client_by_client_id("master-realm" if realm.name == "master" else "realm-management")
    if client is None:
        raise error(500, "unknown_error")
    return ensure_resource_server(realm, client)


def reference(realm: Realm, target: Target) -> dict[str, Any]:
    """`ManagementPermissionReference`: `{"enabled": false}` until the resource exists."""
    server = realm_server_if_any(realm)
    resource = server.resource_by_name(target.resource) if server else None
    if server is None or resource is None:
        return {"enabled": False}
    permissions = {}
    for scope, name in target.permissions.items():
        policy = server.policy_by_name(name)
        if policy is not None:
            permissions[scope] = policy.id
    return {"enabled": True, "resource": resource["_id"], "scopePermissions": permissions}


def realm_server_if_any(realm: Realm) -> ResourceServer | None:
    client = realm.client_by_client_id("master-realm" if realm.name == "master" else "realm-management")
    return realm.resource_servers.get(client.id) if client else None


def enable(realm: Realm, target: Target) -> None:
    server = realm_server(realm)
    if target.realm_default_scopes:  # MgmtPermissions.initializeRealmDefaultScopes
        for default_scope in ("manage", "view"):
            add_scope(server, default_scope)
    scope_ids = [add_scope(server, s)["id"] for s in target.permissions]
    resource = server.resource_by_name(target.resource) or add_resource(
        server, target.resource, target.rtype, scope_ids
    )
    for scope, name in target.permissions.items():
        if server.policy_by_name(name) is None:
            policy = add_policy(
                server,
                {
                    "name": name,
                    "type": "scope",
                    "logic": "POSITIVE",
                    "decisionStrategy": "UNANIMOUS",
                    "config": {},
                },
            )
            policy.resource_ids = [resource["_id"]]
            policy.scope_ids = [add_scope(server, scope)["id"]]


def disable(realm: Realm, target: Target) -> None:
    server = realm_server_if_any(realm)
    if server is None:
        return
    for name in target.permissions.values():
        policy = server.policy_by_name(name)
        if policy is not None:
            del server.policies[policy.id]
    resource = server.resource_by_name(target.resource)
    if resource is not None:
        del server.resources[resource["_id"]]


def _handle(req: Request, realm: Realm, target: Target, write: bool) -> Response:
    if write:
        body = req.json_object()
        value = body.get("enabled")
        # Jackson takes a boolean, a number, null or "true"/"false"; anything else fails to parse (26.7.3)
        if isinstance(value, (list, dict)) or (isinstance(value, str) and value.lower() not in ("true", "false")):
            raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"})
        if value is True or (isinstance(value, str) and value.lower() == "true") or (type(value) is int and value):
            enable(realm, target)
        else:
            disable(realm, target)
    return Response(200, reference(realm, target))


def _guard(req: Request, read_role: str, write_role: str) -> tuple[Realm, bool]:
    write = req.method == "PUT"
    realm = req.realm(write_role if write else read_role)
    if not req.app.profile.fgap_v1:
        raise NOT_ENABLED
    return realm, write


def idp_permissions(req: Request) -> Response:
    realm, write = _guard(req, "view-identity-providers", "manage-identity-providers")
    idp = realm.idps.get(req.params["alias"])
    if idp is None:
        raise error(404, "HTTP 404 Not Found")
    target = Target(
        f"idp.resource.{idp.internal_id}",
        "IdentityProvider",
        {"token-exchange": f"token-exchange.permission.idp.{idp.internal_id}"},
        realm_default_scopes=False,
    )
    return _handle(req, realm, target, write)


def client_permissions(req: Request) -> Response:
    realm, write = _guard(req, "view-clients", "manage-clients")
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    target = Target(
        f"client.resource.{client.id}",
        "Client",
        {s: f"{s}.permission.client.{client.id}" for s in CLIENT_SCOPES},
    )
    return _handle(req, realm, target, write)


GROUP_SCOPES = ["view", "manage", "view-members", "manage-members", "manage-membership"]
ROLE_SCOPES = ["map-role", "map-role-client-scope", "map-role-composite"]


def group_permissions(req: Request) -> Response:
    realm, write = _guard(req, "view-users", "manage-users")
    group = realm.groups.get(req.params["id"])
    if group is None:
        raise error(404, "Could not find group by id")
    # GroupPermissions names its permissions with dots: `manage.members.permission.group.<id>`
    names = {s: f"{s.replace('-', '.')}.permission.group.{group.id}" for s in GROUP_SCOPES}
    target = Target(f"group.resource.{group.id}", "Group", names)
    return _handle(req, realm, target, write)


def role_permissions(req: Request) -> Response:
    realm, write = _guard(req, "view-realm", "manage-realm")
    role = realm.roles.get(req.params["role_id"])
    if role is None:
        raise error(404, "Could not find role")
    target = Target(f"role.resource.{role.id}", "Role", {s: f"{s}.permission.{role.id}" for s in ROLE_SCOPES})
    return _handle(req, realm, target, write)


def users_permissions(req: Request) -> Response:
    realm, write = _guard(req, "view-realm", "manage-realm")
    return _handle(req, realm, Target("Users", None, dict(USER_PERMISSION_NAMES)), write)


def register(router: Router) -> None:
    r = "/admin/realms/{realm}"
    for method in ("GET", "PUT"):
        router.add(method, r + "/identity-provider/instances/{alias}/management/permissions", idp_permissions)
        router.add(method, r + "/clients/{id}/management/permissions", client_permissions)
        router.add(method, r + "/users-management-permissions", users_permissions)
        router.add(method, r + "/groups/{id}/management/permissions", group_permissions)
        router.add(method, r + "/roles-by-id/{role_id}/management/permissions", role_permissions)

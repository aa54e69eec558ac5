"""Authorization services of a client (SEMANTICS §7.2): resources, scopes, policies, permissions.

Enabling them creates the resource server only: 26.7.3 makes no Default Resource, Default Policy
or Default Permission through the admin API (client create, client update or realm import).

Quirks kept on purpose: policy/permission create answers 201 *with* the JSON body, update answers
201 with an *empty* body, name clashes answer 409 in the OAuth2 error shape, and unknown ids 404
with no body. Relations (`policies`, `resources`, `scopes`) accept ids or names on input.
"""

from __future__ import annotations

import json
from typing import Any

from realmctl.sandbox.errors import NOT_FOUND, HttpError, error
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router
from realmctl.sandbox.store import Client, Policy, Realm, ResourceServer, as_text, new_id

DEFAULT_MAX = 100
SERVER_ERROR = {
    "error": "unknown_error",
    "error_description": "For more on this error consult the server log.",
}
PERMISSION_TYPES = {"scope", "resource"}
POLICY_TYPES = {
    "client",
    "scope",
    "resource",
    "role",
    "user",
    "group",
    "time",
    "aggregate",
    "client-scope",
    "regex",
    "js",
}


def ensure_resource_server(realm: Realm, client: Client, *, default_objects: bool = False) -> ResourceServer:
    """The client's resource server, created on first use with Keycloak's default settings."""
    server = realm.resource_servers.get(client.id)
    if server is None:
        server = ResourceServer(
            client_id=client.id,
            settings={
                "allowRemoteResourceManagement": True,
                "policyEnforcementMode": "ENFORCING",
                "decisionStrategy": "UNANIMOUS",
            },
        )
        realm.resource_servers[client.id] = server
    return server


def add_scope(server: ResourceServer, name: str) -> dict[str, Any]:
    scope = server.scope_by_name(name)
    if scope is None:
        scope = {"id": new_id(), "name": name}
        server.scopes[scope["id"]] = scope
    return scope


def add_resource(server: ResourceServer, name: str, rtype: str | None, scope_ids: list[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "_id": new_id(),
        "name": name,
        "scope_ids": scope_ids,
        "owner_id": server.client_id,
    }
    if rtype:
        resource["type"] = rtype
    server.resources[resource["_id"]] = resource
    return resource


def add_policy(server: ResourceServer, rep: dict[str, Any]) -> Policy:
    policy = Policy(id=new_id(), rep=rep)
    server.policies[policy.id] = policy
    return policy


# --- representations -----------------------------------------------------------------------------
def resource_rep(realm: Realm, server: ResourceServer, resource: dict[str, Any]) -> dict[str, Any]:
    owner = realm.clients.get(resource.get("owner_id") or server.client_id)
    rep: dict[str, Any] = {"name": resource["name"]}
    if resource.get("type"):
        rep["type"] = resource["type"]
    rep["owner"] = {"id": owner.id, "name": owner.client_id} if owner else {"id": server.client_id}
    rep["ownerManagedAccess"] = bool(resource.get("ownerManagedAccess", False))
    rep["attributes"] = dict(resource.get("attributes") or {})
    rep["_id"] = resource["_id"]
    rep["uris"] = list(resource.get("uris") or [])
    rep["scopes"] = [dict(server.scopes[s]) for s in resource.get("scope_ids", []) if s in server.scopes]
    return rep


def generic_rep(policy: Policy) -> dict[str, Any]:
    """The generic PolicyRepresentation: `config` carries type-specific data as strings."""
    rep: dict[str, Any] = {"id": policy.id, "name": policy.name}
    if policy.rep.get("description") is not None:
        rep["description"] = policy.rep["description"]
    rep["type"] = policy.rep["type"]
    rep["logic"] = policy.rep.get("logic", "POSITIVE")
    rep["decisionStrategy"] = policy.rep.get("decisionStrategy", "UNANIMOUS")
    rep["config"] = dict(policy.rep.get("config") or {})
    return rep


def typed_rep(policy: Policy) -> dict[str, Any]:
    """The typed representation (`/policy/client/{id}`, `/permission/scope/{id}`)."""
    rep = generic_rep(policy)
    config = rep.pop("config")
    if policy.rep.get("resourceType"):
        rep["resourceType"] = policy.rep["resourceType"]
    if policy.rep["type"] == "client":
        rep["clients"] = json.loads(config.get("clients", "[]"))
    if policy.rep["type"] == "role":
        rep["roles"] = json.loads(config.get("roles", "[]"))
    return rep


# --- lookups -------------------------------------------------------------------------------------
def find_server(req: Request, write: bool) -> tuple[Realm, Client, ResourceServer]:
    realm = req.realm("manage-authorization" if write else "view-authorization", *(() if write else ("view-clients",)))
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    server = realm.resource_servers.get(client.id)
    if server is None:
        raise error(404, NOT_FOUND)
    return realm, client, server


def find_policy(server: ResourceServer, policy_id: str, ptype: str | None = None) -> Policy:
    policy = server.policies.get(policy_id)
    if policy is None or (ptype is not None and policy.rep["type"] != ptype):
        raise HttpError(404, None)
    return policy


def _resolve(objects: dict[str, dict[str, Any]], values: list[Any], key: str = "id") -> list[str]:
    ids: list[str] = []
    for value in values:
        if value in objects:
            ids.append(value)
            continue
        match = next((oid for oid, obj in objects.items() if obj["name"] == value), None)
        if match is None:
            raise HttpError(500, SERVER_ERROR)  # Keycloak fails deep in the model: UNCONFIRMED status
        ids.append(match)
    return ids


def _resolve_policies(server: ResourceServer, values: list[Any]) -> list[str]:
    return _resolve({p.id: {"name": p.name} for p in server.policies.values()}, values)


def _resolve_clients(realm: Realm, values: list[Any]) -> list[str]:
    uuids = []
    for value in values:
        client = realm.clients.get(value) or realm.client_by_client_id(str(value))
        if client is None:
            raise HttpError(500, SERVER_ERROR)  # UNCONFIRMED
        uuids.append(client.id)
    return uuids


def _resolve_roles(realm: Realm, roles: list[Any]) -> list[dict[str, Any]]:
    """Role policy roles as 26.7.3 stores them: by role id (a realm role name is taken, as is
    `clientId/role`), each with `required` (false unless given)."""
    out = []
    for entry in roles:
        wanted = str((entry or {}).get("id") if isinstance(entry, dict) else entry)
        role = realm.roles.get(wanted) or realm.realm_role(wanted)
        if role is None and "/" in wanted:
            client_id, _, name = wanted.partition("/")
            client = realm.client_by_client_id(client_id)
            role = realm.client_role(client.id, name) if client else None
        if role is None:
            raise HttpError(500, SERVER_ERROR)  # UNCONFIRMED
        required = bool(entry.get("required")) if isinstance(entry, dict) else False
        out.append({"id": role.id, "required": required})
    return out


def _apply(realm: Realm, server: ResourceServer, policy: Policy, body: dict[str, Any], ptype: str) -> None:
    """RepresentationToModel.toModel: overwrite scalars; relations null ⇒ unchanged, [] ⇒ cleared."""
    rep = policy.rep
    rep["name"] = body.get("name")
    rep["description"] = body.get("description")
    rep["type"] = ptype
    rep["logic"] = body.get("logic") or "POSITIVE"
    rep["decisionStrategy"] = body.get("decisionStrategy") or "UNANIMOUS"
    if body.get("resourceType"):
        rep["resourceType"] = body["resourceType"]
    else:
        rep.pop("resourceType", None)
    config = dict(rep.get("config") or {})
    if ptype == "client":
        clients = body.get("clients")
        if clients is None and isinstance(body.get("config"), dict) and "clients" in body["config"]:
            clients = json.loads(body["config"]["clients"])
        if not clients:
            raise HttpError(500, SERVER_ERROR)  # "No client provided." is a RuntimeException: UNCONFIRMED
        config["clients"] = json.dumps(_resolve_clients(realm, clients))
    elif ptype == "role" and body.get("roles") is not None:
        config["roles"] = json.dumps(_resolve_roles(realm, body["roles"]), separators=(",", ":"))
    elif ptype not in PERMISSION_TYPES and isinstance(body.get("config"), dict):
        config.update({k: as_text(v) for k, v in body["config"].items()})
    rep["config"] = config
    if body.get("policies") is not None:
        policy.policy_ids = _resolve_policies(server, list(body["policies"]))
    if body.get("resources") is not None:
        policy.resource_ids = _resolve(server.resources, list(body["resources"]))
    if body.get("scopes") is not None:
        policy.scope_ids = _resolve(server.scopes, list(body["scopes"]))


def _check_name(server: ResourceServer, name: Any, own: Policy | None = None) -> None:
    clash = server.policy_by_name(str(name)) if name else None
    if clash is not None and clash is not own:
        raise HttpError(
            409,
            {"error": f"Policy with name [{name}] already exists", "error_description": "Conflicting policy"},
        )


# --- handlers ------------------------------------------------------------------------------------
def get_settings(req: Request) -> Response:
    _, client, server = find_server(req, False)
    body = {"id": client.id, "clientId": client.id, "name": client.client_id, **server.settings}
    # 26.7.3 writes the relations here empty (they are read through their own endpoints)
    body.update(resources=[], policies=[], scopes=[], decisionStrategy=server.settings.get("decisionStrategy"))
    return Response(200, body)


def update_settings(req: Request) -> Response:
    """`PUT /authz/resource-server`: the three settings, as given (26.7.3 answers 204)."""
    _, _, server = find_server(req, True)
    body = req.json_object()
    for key in ("allowRemoteResourceManagement", "policyEnforcementMode", "decisionStrategy"):
        if body.get(key) is not None:
            server.settings[key] = body[key]
    return NO_CONTENT


def export_settings(req: Request) -> Response:
    """`GET /authz/resource-server/settings`: the export form, relations by name and no ids."""
    from realmctl.sandbox.admin.export import policy_export

    realm, _, server = find_server(req, False)
    policies = []
    for policy in sorted(server.policies.values(), key=lambda p: p.name):
        rep = {k: v for k, v in policy_export(server, policy).items() if k not in ("id", "description") or v}
        rep.pop("id", None)
        if rep.get("type") == "role" and rep.get("config", {}).get("roles"):
            roles = json.loads(rep["config"]["roles"])
            for entry in roles:
                role = realm.roles.get(entry.get("id"))
                if role is not None:
                    entry["id"] = (
                        role.name
                        if role.client_id is None
                        else f"{realm.clients[role.client_id].client_id}/{role.name}"
                    )
            rep["config"]["roles"] = json.dumps(roles, separators=(",", ":"))
        if rep.get("type") == "client" and rep.get("config", {}).get("clients"):
            ids = json.loads(rep["config"]["clients"])
            rep["config"]["clients"] = json.dumps(
                [realm.clients[i].client_id if i in realm.clients else i for i in ids]
            )
        for key in ("clients", "resources", "scopes", "applyPolicies"):  # Jackson's compact lists
            if isinstance(rep.get("config", {}).get(key), str):
                names = json.loads(rep["config"][key])
                if key == "applyPolicies":  # a set in Keycloak's model, in no promised order: sorted here
                    names = sorted(names)
                rep["config"][key] = json.dumps(names, separators=(",", ":"))
        policies.append(rep)
    body = {
        "allowRemoteResourceManagement": server.settings.get("allowRemoteResourceManagement", True),
        "policyEnforcementMode": server.settings.get("policyEnforcementMode", "ENFORCING"),
        "resources": [
            {
                "name": r["name"],
                **({"type": r["type"]} if r.get("type") else {}),
                "ownerManagedAccess": bool(r.get("ownerManagedAccess", False)),
                "attributes": dict(r.get("attributes") or {}),
                "uris": sorted(r.get("uris") or []),
                "scopes": [{"name": server.scopes[i]["name"]} for i in r.get("scope_ids", []) if i in server.scopes],
            }
            for r in server.resources.values()
        ],
        "policies": policies,
        "scopes": [{k: v for k, v in s.items() if k != "id"} for s in server.scopes.values()],
        "decisionStrategy": server.settings.get("decisionStrategy", "UNANIMOUS"),
    }
    return Response(200, body)


def _short(policy: Policy) -> dict[str, Any]:
    """A policy as `dependentPolicies` and `resource/{id}/permissions` list it (config empty)."""
    rep = generic_rep(policy)
    rep["config"] = {}
    return rep


def dependent_policies(req: Request) -> Response:
    """The policies and permissions that apply this one."""
    _, _, server = find_server(req, False)
    policy = server.policies.get(req.params["pid"])
    if policy is None:
        raise error(404, NOT_FOUND)
    return Response(200, [_short(p) for p in server.policies.values() if policy.id in p.policy_ids])


def resource_permissions(req: Request) -> Response:
    _, _, server = find_server(req, False)
    resource = server.resources.get(req.params["rid"])
    if resource is None:
        raise HttpError(404, None)
    return Response(200, [_short(p) for p in server.policies.values() if resource["_id"] in p.resource_ids])


def update_resource(req: Request) -> Response:
    """`PUT /resource/{id}`: name, type, URIs, attributes and scopes replaced (26.7.3 answers 204)."""
    _, _, server = find_server(req, True)
    resource = server.resources.get(req.params["rid"])
    if resource is None:
        raise HttpError(404, None)
    body = req.json_object()
    if body.get("name"):
        resource["name"] = str(body["name"])
    if body.get("type"):
        resource["type"] = body["type"]
    resource["uris"] = list(body.get("uris") or [])
    resource["attributes"] = dict(body.get("attributes") or {})
    resource["scope_ids"] = [
        add_scope(server, s["name"] if isinstance(s, dict) else str(s))["id"] for s in body.get("scopes") or []
    ]
    return NO_CONTENT


def delete_resource(req: Request) -> Response:
    """The resource, and the permissions left with no resource (26.7.3 deletes them too)."""
    _, _, server = find_server(req, True)
    resource = server.resources.pop(req.params["rid"], None)
    if resource is None:
        raise error(404, NOT_FOUND)
    for policy in list(server.policies.values()):
        if resource["_id"] in policy.resource_ids:
            policy.resource_ids.remove(resource["_id"])
            if not policy.resource_ids and policy.rep["type"] in PERMISSION_TYPES:
                del server.policies[policy.id]
    return NO_CONTENT


def update_scope(req: Request) -> Response:
    _, _, server = find_server(req, True)
    scope = server.scopes.get(req.params["sid"])
    if scope is None:
        raise HttpError(404, None)
    body = req.json_object()
    if body.get("name"):
        scope["name"] = str(body["name"])
    for key in ("displayName", "iconUri"):
        if body.get(key) is not None:
            scope[key] = body[key]
        else:
            scope.pop(key, None)
    return NO_CONTENT


def delete_scope(req: Request) -> Response:
    _, _, server = find_server(req, True)
    scope = server.scopes.pop(req.params["sid"], None)
    if scope is None:
        raise error(404, NOT_FOUND)
    for resource in server.resources.values():
        if scope["id"] in resource.get("scope_ids", []):
            resource["scope_ids"].remove(scope["id"])
    for policy in server.policies.values():
        if scope["id"] in policy.scope_ids:
            policy.scope_ids.remove(scope["id"])
    return NO_CONTENT


def create_typed(req: Request) -> Response:
    realm, _, server = find_server(req, True)
    ptype = req.params["type"]
    if ptype not in POLICY_TYPES:
        raise HttpError(404, None)
    body = req.json_object()
    _check_name(server, body.get("name"))
    policy = Policy(id=new_id(), rep={"config": {}})
    _apply(realm, server, policy, body, ptype)
    server.policies[policy.id] = policy
    answer = {**body, "id": policy.id, "type": ptype}
    if ptype == "role" and body.get("roles") is not None:  # answered resolved, as stored
        answer["roles"] = json.loads(policy.rep["config"]["roles"])
    answer.setdefault("logic", "POSITIVE")
    answer.setdefault("decisionStrategy", "UNANIMOUS")
    return Response(201, answer)


def get_typed(req: Request) -> Response:
    _, _, server = find_server(req, False)
    return Response(200, typed_rep(find_policy(server, req.params["pid"], req.params["type"])))


def update_typed(req: Request) -> Response:
    """Update answers **201 Created with an empty body** (PolicyResourceService quirk)."""
    realm, _, server = find_server(req, True)
    policy = find_policy(server, req.params["pid"], req.params["type"])
    body = req.json_object()
    _check_name(server, body.get("name"), policy)
    _apply(realm, server, policy, body, policy.rep["type"])
    return Response(201)


def update_generic(req: Request) -> Response:
    realm, _, server = find_server(req, True)
    policy = find_policy(server, req.params["pid"])
    body = req.json_object()
    _check_name(server, body.get("name"), policy)
    _apply(realm, server, policy, body, policy.rep["type"])
    return Response(201)


def delete_policy(req: Request) -> Response:
    _, _, server = find_server(req, True)
    policy = find_policy(server, req.params["pid"])
    del server.policies[policy.id]
    for other in server.policies.values():
        if policy.id in other.policy_ids:
            other.policy_ids.remove(policy.id)
    return NO_CONTENT


def _listing(req: Request, permissions_only: bool) -> Response:
    _, _, server = find_server(req, False)
    policies = list(server.policies.values())
    name = req.arg("name")
    if name:
        policies = [p for p in policies if name.lower() in p.name.lower()]
    ptype = req.arg("type")
    if ptype:
        policies = [p for p in policies if p.rep["type"] == ptype]
    permission = True if permissions_only else req.bool_arg("permission")
    if permission is not None:
        policies = [p for p in policies if (p.rep["type"] in PERMISSION_TYPES) == permission]
    body = [generic_rep(p) for p in req.page(policies, DEFAULT_MAX)]
    if permissions_only:  # 26.7.3 leaves an empty `config` out of `/permission` (not of `/policy`)
        body = [{k: v for k, v in rep.items() if k != "config" or v} for rep in body]
    return Response(200, body)


def list_policies(req: Request) -> Response:
    return _listing(req, False)


def list_permissions(req: Request) -> Response:
    return _listing(req, True)


def search_policy(req: Request) -> Response:
    _, _, server = find_server(req, False)
    policy = server.policy_by_name(req.arg("name") or "")
    return Response(200, generic_rep(policy)) if policy else Response(204)


#: `GET /policy/providers` and `/permission/providers` on 26.7.3 (the same list on all three profiles).
PROVIDERS = [
    {"type": t, "name": n, "group": g}
    for t, n, g in (
        ("regex", "Regex", "Identity Based"),
        ("role", "Role", "Identity Based"),
        ("resource", "Resource-Based", "Permission"),
        ("scope", "Scope-Based", "Permission"),
        ("client", "Client", "Identity Based"),
        ("time", "Time", "Time Based"),
        ("user", "User", "Identity Based"),
        ("client-scope", "Client Scope", "Identity Based"),
        ("group", "Group", "Identity Based"),
        ("aggregate", "Aggregated", "Others"),
    )
]


def providers(req: Request) -> Response:
    find_server(req, False)
    return Response(200, [dict(p) for p in PROVIDERS])


def get_generic(req: Request) -> Response:
    """A policy by id, or (`/policy/client`, `/permission/scope` ...) the listing of one type in
    its typed representation, as 26.7.3 answers a type name in the id's place."""
    _, _, server = find_server(req, False)
    pid = req.params["pid"]
    if pid in POLICY_TYPES | PERMISSION_TYPES and pid not in server.policies:
        typed = [typed_rep(p) for p in server.policies.values() if p.rep["type"] == pid]
        return Response(200, req.page(typed, DEFAULT_MAX))
    return Response(200, generic_rep(find_policy(server, pid)))


def associated_policies(req: Request) -> Response:
    _, _, server = find_server(req, False)
    policy = find_policy(server, req.params["pid"])
    body: list[dict[str, Any]] = []
    for pid in policy.policy_ids:
        rep = generic_rep(server.policies[pid])
        body.append({k: rep[k] for k in ("id", "name", "description", "type", "logic", "decisionStrategy") if k in rep})
        body[-1]["config"] = {}
    return Response(200, body)


def policy_resources(req: Request) -> Response:
    _, _, server = find_server(req, False)
    policy = find_policy(server, req.params["pid"])
    return Response(200, [{"_id": r, "name": server.resources[r]["name"]} for r in policy.resource_ids])


def policy_scopes(req: Request) -> Response:
    _, _, server = find_server(req, False)
    policy = find_policy(server, req.params["pid"])
    return Response(200, [{"id": s, "name": server.scopes[s]["name"]} for s in policy.scope_ids])


def list_resources(req: Request) -> Response:
    realm, _, server = find_server(req, False)
    resources = list(server.resources.values())
    name = req.arg("name")
    if name:
        exact = bool(req.bool_arg("exactName", False))
        resources = [r for r in resources if (r["name"] == name if exact else name.lower() in r["name"].lower())]
    return Response(200, [resource_rep(realm, server, r) for r in resources])


def get_resource(req: Request) -> Response:
    realm, _, server = find_server(req, False)
    resource = server.resources.get(req.params["rid"])
    if resource is None:
        raise HttpError(404, None)
    return Response(200, resource_rep(realm, server, resource))


def search_resource(req: Request) -> Response:
    realm, _, server = find_server(req, False)
    resource = server.resource_by_name(req.arg("name") or "")
    return Response(200, resource_rep(realm, server, resource)) if resource else Response(204)


def create_resource(req: Request) -> Response:
    realm, _, server = find_server(req, True)
    body = req.json_object()
    if server.resource_by_name(str(body.get("name"))) is not None:
        raise HttpError(
            409,
            {
                "error": "invalid_request",
                "error_description": f"Resource with name [{body.get('name')}] already exists.",
            },
        )
    scope_ids = [
        add_scope(server, s["name"] if isinstance(s, dict) else str(s))["id"] for s in body.get("scopes") or []
    ]
    resource = add_resource(server, str(body.get("name")), body.get("type"), scope_ids)
    resource["uris"] = list(body.get("uris") or [])
    resource["attributes"] = dict(body.get("attributes") or {})
    answer = resource_rep(realm, server, resource)
    answer["scopes"] = [{"id": s["id"], "name": s["name"]} for s in answer["scopes"]]  # as named in the body
    return Response(201, answer)


def list_scopes(req: Request) -> Response:
    _, _, server = find_server(req, False)
    scopes = list(server.scopes.values())
    name = req.arg("name")
    if name:
        scopes = [s for s in scopes if name.lower() in s["name"].lower()]
    return Response(200, [dict(s) for s in scopes])


def get_scope(req: Request) -> Response:
    _, _, server = find_server(req, False)
    scope = server.scopes.get(req.params["sid"])
    if scope is None:
        raise HttpError(404, None)
    return Response(200, dict(scope))


def search_scope(req: Request) -> Response:
    _, _, server = find_server(req, False)
    scope = server.scope_by_name(req.arg("name") or "")
    return Response(200, dict(scope)) if scope else Response(204)


def create_scope(req: Request) -> Response:
    _, _, server = find_server(req, True)
    body = req.json_object()
    existing = server.scope_by_name(str(body.get("name")))
    if existing is not None:  # 26.7.3 answers 201 with the scope already there
        return Response(201, dict(existing))
    scope = add_scope(server, str(body.get("name")))
    for key in ("displayName", "iconUri"):
        if body.get(key) is not None:
            scope[key] = body[key]
    return Response(201, dict(scope))


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/clients/{id}/authz/resource-server"
    router.add("GET", base, get_settings)
    router.add("PUT", base, update_settings)
    router.add("GET", base + "/settings", export_settings)
    router.add("GET", base + "/policy/providers", providers)
    router.add("GET", base + "/permission/providers", providers)
    router.add("GET", base + "/policy/{pid}/dependentPolicies", dependent_policies)
    router.add("GET", base + "/permission/{pid}/dependentPolicies", dependent_policies)
    router.add("GET", base + "/resource/{rid}/permissions", resource_permissions)
    router.add("PUT", base + "/resource/{rid}", update_resource)
    router.add("DELETE", base + "/resource/{rid}", delete_resource)
    router.add("PUT", base + "/scope/{sid}", update_scope)
    router.add("DELETE", base + "/scope/{sid}", delete_scope)
    router.add("GET", base + "/policy", list_policies)
    router.add("GET", base + "/permission", list_permissions)
    router.add("GET", base + "/policy/search", search_policy)
    router.add("GET", base + "/permission/search", search_policy)
    for kind in ("policy", "permission"):
        # suffix routes first: `/policy/{pid}/scopes` would otherwise match `/policy/{type}/{pid}`
        router.add("GET", base + f"/{kind}/{{pid}}/associatedPolicies", associated_policies)
        router.add("GET", base + f"/{kind}/{{pid}}/resources", policy_resources)
        router.add("GET", base + f"/{kind}/{{pid}}/scopes", policy_scopes)
        router.add("POST", base + f"/{kind}/{{type}}", create_typed)
        router.add("GET", base + f"/{kind}/{{type}}/{{pid}}", get_typed)
        router.add("PUT", base + f"/{kind}/{{type}}/{{pid}}", update_typed)
        router.add("DELETE", base + f"/{kind}/{{type}}/{{pid}}", delete_policy)
        router.add("GET", base + f"/{kind}/{{pid}}", get_generic)
        router.add("PUT", base + f"/{kind}/{{pid}}", update_generic)
        router.add("DELETE", base + f"/{kind}/{{pid}}", delete_policy)
    router.add("GET", base + "/resource", list_resources)
    router.add("POST", base + "/resource", create_resource)
    router.add("GET", base + "/resource/search", search_resource)
    router.add("GET", base + "/resource/{rid}", get_resource)
    router.add("GET", base + "/scope", list_scopes)
    router.add("POST", base + "/scope", create_scope)
    router.add("GET", base + "/scope/search", search_scope)
    router.add("GET", base + "/scope/{sid}", get_scope)

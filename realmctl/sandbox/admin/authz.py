"""Authorization services of a client (SEMANTICS §7.2): resources, scopes, policies, permissions.

Quirks kept on purpose: policy/permission create answers 201 *with* the JSON body, update answers
201 with an *empty* body, name clashes answer 409 in the OAuth2 error shape, and unknown ids 404
with no body. Relations (`policies`, `resources`, `scopes`) accept ids or names on input.
"""

from __future__ import annotations

import json
from typing import Any

from realmctl.sandbox.errors import HttpError, error
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
                "allowRemoteResourceManagement": False,
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
    return rep


# --- lookups -------------------------------------------------------------------------------------
def find_server(req: Request, write: bool) -> tuple[Realm, Client, ResourceServer]:
    realm = req.realm("manage-authorization" if write else "view-authorization", *(() if write else ("view-clients",)))
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    server = realm.resource_servers.get(client.id)
    if server is None:
        raise HttpError(404, None)
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
    return Response(200, body)


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


def get_generic(req: Request) -> Response:
    _, _, server = find_server(req, False)
    return Response(200, generic_rep(find_policy(server, req.params["pid"])))


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
        raise HttpError(409, {"error": f"Resource with name [{body.get('name')}] already exists."})
    scope_ids = [
        add_scope(server, s["name"] if isinstance(s, dict) else str(s))["id"] for s in body.get("scopes") or []
    ]
    resource = add_resource(server, str(body.get("name")), body.get("type"), scope_ids)
    resource["uris"] = list(body.get("uris") or [])
    resource["attributes"] = dict(body.get("attributes") or {})
    return Response(201, resource_rep(realm, server, resource))


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
    if server.scope_by_name(str(body.get("name"))) is not None:
        raise HttpError(409, {"error": f"Scope with name [{body.get('name')}] already exists."})
    return Response(201, dict(add_scope(server, str(body.get("name")))))


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/clients/{id}/authz/resource-server"
    router.add("GET", base, get_settings)
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

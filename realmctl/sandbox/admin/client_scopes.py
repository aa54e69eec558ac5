"""Client scopes, protocol mappers, realm and client default/optional scopes (SEMANTICS §2)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from realmctl.sandbox import ops, reps
from realmctl.sandbox.defaults import create_scope
from realmctl.sandbox.errors import HttpError, error, error_message, exists
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created
from realmctl.sandbox.store import Client, ClientScope, Realm, as_text

NAME_PATTERN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
PROTOCOLS = {"openid-connect", "saml"}
SERVER_ERROR = {
    "error": "unknown_error",
    "error_description": "For more on this error consult the server log.",
}

#: Mapper types the sandbox knows (ProtocolMapper provider ids of a default 26.x server).
OIDC_MAPPERS = {
    "oidc-usermodel-attribute-mapper",
    "oidc-usermodel-property-mapper",
    "oidc-usermodel-realm-role-mapper",
    "oidc-usermodel-client-role-mapper",
    "oidc-audience-mapper",
    "oidc-audience-resolve-mapper",
    "oidc-allowed-origins-mapper",
    "oidc-full-name-mapper",
    "oidc-address-mapper",
    "oidc-hardcoded-claim-mapper",
    "oidc-hardcoded-role-mapper",
    "oidc-role-name-mapper",
    "oidc-group-membership-mapper",
    "oidc-sub-mapper",
    "oidc-acr-mapper",
    "oidc-amr-mapper",
    "oidc-usersessionmodel-note-mapper",
    "oidc-organization-membership-mapper",
    "oidc-claims-param-token-mapper",
    "oidc-nonce-backwards-compatible-mapper",
    "oidc-usermodel-service-account-mapper",
}
SAML_MAPPERS = {
    "saml-role-list-mapper",
    "saml-user-property-mapper",
    "saml-user-attribute-mapper",
    "saml-hardcode-attribute-mapper",
    "saml-hardcode-role-mapper",
    "saml-role-name-mapper",
    "saml-group-membership-mapper",
    "saml-audience-mapper",
    "saml-audience-resolve-mapper",
    "saml-user-session-note-mapper",
    "saml-organization-membership-mapper",
}
ALWAYS_ACCESS = {"oidc-audience-resolve-mapper", "oidc-allowed-origins-mapper"}


def effective_mapper(mapper: dict[str, Any]) -> dict[str, Any]:
    """`AbstractOIDCProtocolMapper.getEffectiveModel`: fill userinfo/introspection flags (§2.4)."""
    rep = reps.mapper_rep(mapper)
    kind = str(mapper.get("protocolMapper"))
    if kind not in OIDC_MAPPERS:
        return rep
    config = dict(rep.get("config") or {})
    if kind in ALWAYS_ACCESS:
        config.setdefault("access.token.claim", "true")
    if "id.token.claim" in config:
        config.setdefault("userinfo.token.claim", config["id.token.claim"])
    if "access.token.claim" in config:
        config.setdefault("introspection.token.claim", config["access.token.claim"])
    rep["config"] = config
    return rep


# --- client scopes -------------------------------------------------------------------------------
def find_scope(req: Request, *roles: str) -> tuple[Realm, ClientScope]:
    realm = req.realm(*roles)
    scope = realm.client_scopes.get(req.params["scope"])
    if scope is None:
        raise error(404, "Could not find client scope")
    return realm, scope


def _validate(body: dict[str, Any], *, creating: bool) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise error_message(400, f'Unexpected name "{name}" for ClientScope')
    protocol = body.get("protocol")
    if (creating or protocol is not None) and protocol not in PROTOCOLS:
        raise error_message(400, "Unexpected protocol")


def list_scopes(req: Request) -> Response:
    realm = req.realm("view-clients", "query-clients", "manage-clients")
    return Response(200, [reps.scope_rep(s) for s in realm.client_scopes.values()])


def post_scope(req: Request) -> Response:
    realm = req.realm("manage-clients")
    body = req.json_object()
    _validate(body, creating=True)
    if realm.scope_by_name(body["name"]) is not None:
        raise exists(f"Client Scope {body['name']} already exists")
    for mapper in body.get("protocolMappers") or []:
        _check_mapper_type(mapper)
    scope = create_scope(realm, body, keep_ids=True)
    return created(req.admin_url(realm, "client-scopes", scope.id))


def get_scope(req: Request) -> Response:
    _, scope = find_scope(req, "view-clients", "query-clients", "manage-clients")
    return Response(200, reps.scope_rep(scope))


def put_scope(req: Request) -> Response:
    """Non-null name/description/protocol applied, attributes merged, mappers ignored."""
    realm, scope = find_scope(req, "manage-clients")
    body = req.json_object()
    _validate(body, creating=False)
    clash = realm.scope_by_name(body["name"])
    if clash is not None and clash is not scope:
        raise exists(f"Client Scope {body['name']} already exists")
    scope.name = body["name"]
    if body.get("description") is not None:
        scope.description = body["description"]
    if body.get("protocol") is not None:
        scope.protocol = body["protocol"]
    for key, value in (body.get("attributes") or {}).items():
        if value is not None:
            scope.attributes[key] = as_text(value)
    return NO_CONTENT


def delete_scope(req: Request) -> Response:
    realm, scope = find_scope(req, "manage-clients")
    if len(realm.client_scopes) == 1:
        raise error_message(403, "You are not allowed to delete all the client scopes.")
    del realm.client_scopes[scope.id]
    realm.default_scopes.pop(scope.id, None)
    for client in realm.clients.values():
        client.scopes.pop(scope.id, None)
    return NO_CONTENT


# --- protocol mappers of scopes and clients ------------------------------------------------------
def _mapper_holder(req: Request, write: bool) -> tuple[Realm, list[dict[str, Any]]]:
    roles = ("manage-clients",) if write else ("view-clients", "query-clients", "manage-clients")
    if "scope" in req.params:
        realm, scope = find_scope(req, *roles)
        return realm, scope.mappers
    realm = req.realm(*roles)
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    return realm, client.mappers


def _check_mapper_type(body: dict[str, Any]) -> None:
    if body.get("protocolMapper") not in OIDC_MAPPERS | SAML_MAPPERS:
        raise error(404, "ProtocolMapper provider not found")


def _add_mapper(mappers: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    _check_mapper_type(body)
    if any(m["name"] == body.get("name") for m in mappers):
        raise exists("Protocol mapper exists with same name")
    mapper = ops.clean_mapper(body, keep_id=True)
    mappers.append(mapper)
    return mapper


def list_mappers(req: Request) -> Response:
    _, mappers = _mapper_holder(req, False)
    return Response(200, [effective_mapper(m) for m in mappers])


def mappers_by_protocol(req: Request) -> Response:
    _, mappers = _mapper_holder(req, False)
    protocol = req.params["protocol"]
    return Response(200, [effective_mapper(m) for m in mappers if m.get("protocol") == protocol])


def post_mapper(req: Request) -> Response:
    _, mappers = _mapper_holder(req, True)
    mapper = _add_mapper(mappers, req.json_object())
    return created(f"{req.base_url}{req.path}/{mapper['id']}")


def add_models(req: Request) -> Response:
    _, mappers = _mapper_holder(req, True)
    body = req.json()
    if not isinstance(body, list):
        raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"})
    for entry in body:
        _add_mapper(mappers, entry)
    return NO_CONTENT


def _find_mapper(mappers: list[dict[str, Any]], mapper_id: str) -> dict[str, Any]:
    mapper = next((m for m in mappers if m["id"] == mapper_id), None)
    if mapper is None:
        raise error(404, "Model not found")
    return mapper


def get_mapper(req: Request) -> Response:
    _, mappers = _mapper_holder(req, False)
    return Response(200, effective_mapper(_find_mapper(mappers, req.params["mapper"])))


def put_mapper(req: Request) -> Response:
    """The model is rebuilt from the body, id included: without a matching `id` the update fails."""
    _, mappers = _mapper_holder(req, True)
    _find_mapper(mappers, req.params["mapper"])
    body = req.json_object()
    target = next((m for m in mappers if m["id"] == body.get("id")), None)
    if target is None:
        raise HttpError(500, SERVER_ERROR)
    _check_mapper_type(body)
    rebuilt = ops.clean_mapper(body, keep_id=True)
    mappers[mappers.index(target)] = rebuilt
    return NO_CONTENT


def delete_mapper(req: Request) -> Response:
    _, mappers = _mapper_holder(req, True)
    mappers.remove(_find_mapper(mappers, req.params["mapper"]))
    return NO_CONTENT


# --- realm default / optional scopes -------------------------------------------------------------
def _realm_list(req: Request, default: bool) -> Response:
    realm = req.realm("view-clients")  # requireViewClientScopes
    body = []
    for scope_id, is_default in realm.default_scopes.items():
        scope = realm.client_scopes.get(scope_id)
        if scope is not None and is_default == default:
            entry = {"id": scope.id, "name": scope.name}
            if scope.protocol:
                entry["protocol"] = scope.protocol
            body.append(entry)
    return Response(200, body)


def _realm_scope(req: Request) -> tuple[Realm, ClientScope]:
    realm = req.realm("manage-clients")  # requireManageClientScopes
    scope = realm.client_scopes.get(req.params["scope"])
    if scope is None:
        raise error(404, "Client scope not found")
    return realm, scope


def _realm_add(req: Request, default: bool) -> Response:
    realm, scope = _realm_scope(req)
    if scope.id in realm.default_scopes:
        # the JPA insert hits the unique constraint: ModelDuplicateException → 409 (body UNCONFIRMED)
        raise HttpError(409, {"error": "conflict", "error_description": "Duplicate resource error"})
    realm.default_scopes[scope.id] = default
    return NO_CONTENT


def realm_remove(req: Request) -> Response:
    """Both DELETE endpoints share one implementation: the mapping goes whatever its kind."""
    realm, scope = _realm_scope(req)
    realm.default_scopes.pop(scope.id, None)
    return NO_CONTENT


# --- client default / optional scopes ------------------------------------------------------------
def _client(req: Request, write: bool) -> tuple[Realm, Client]:
    realm = req.realm("manage-clients" if write else "view-clients")
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    return realm, client


def _client_list(req: Request, default: bool) -> Response:
    realm, client = _client(req, False)
    scopes = [realm.client_scopes[s] for s, d in client.scopes.items() if d == default and s in realm.client_scopes]
    return Response(200, [{"id": s.id, "name": s.name} for s in scopes])


def _client_scope(req: Request) -> tuple[Realm, Client, ClientScope]:
    realm, client = _client(req, True)
    scope = realm.client_scopes.get(req.params["scope"])
    if scope is None:
        raise error(404, "Client scope not found")
    return realm, client, scope


def _client_add(req: Request, default: bool) -> Response:
    realm, client, scope = _client_scope(req)
    ops.link_scope(realm, client, scope, default)
    return NO_CONTENT


def client_remove(req: Request) -> Response:
    _, client, scope = _client_scope(req)
    client.scopes.pop(scope.id, None)
    return NO_CONTENT


def register(router: Router) -> None:
    r = "/admin/realms/{realm}"
    router.add("GET", r + "/client-scopes", list_scopes)
    router.add("POST", r + "/client-scopes", post_scope)
    router.add("GET", r + "/client-scopes/{scope}", get_scope)
    router.add("PUT", r + "/client-scopes/{scope}", put_scope)
    router.add("DELETE", r + "/client-scopes/{scope}", delete_scope)
    for base in (r + "/client-scopes/{scope}/protocol-mappers", r + "/clients/{id}/protocol-mappers"):
        router.add("GET", base + "/models", list_mappers)
        router.add("POST", base + "/models", post_mapper)
        router.add("POST", base + "/add-models", add_models)
        router.add("GET", base + "/models/{mapper}", get_mapper)
        router.add("PUT", base + "/models/{mapper}", put_mapper)
        router.add("DELETE", base + "/models/{mapper}", delete_mapper)
        router.add("GET", base + "/protocol/{protocol}", mappers_by_protocol)
    for kind, default in (("default", True), ("optional", False)):
        realm_base = f"{r}/default-{kind}-client-scopes"
        router.add("GET", realm_base, partial(_realm_list, default=default))
        router.add("PUT", realm_base + "/{scope}", partial(_realm_add, default=default))
        router.add("DELETE", realm_base + "/{scope}", realm_remove)
        client_base = f"{r}/clients/{{id}}/{kind}-client-scopes"
        router.add("GET", client_base, partial(_client_list, default=default))
        router.add("PUT", client_base + "/{scope}", partial(_client_add, default=default))
        router.add("DELETE", client_base + "/{scope}", client_remove)

"""Client endpoints: CRUD, search by clientId, secret, service-account user (SEMANTICS §1.2, §12)."""

from __future__ import annotations

import copy
import time
from typing import Any

from realmctl.sandbox import fields, ops, reps
from realmctl.sandbox.admin.roles import remove_role
from realmctl.sandbox.errors import HttpError, error
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created
from realmctl.sandbox.store import Client, Realm, as_text


def find_client(req: Request, *roles: str) -> tuple[Realm, Client]:
    """The path's realm and client (`{id}` is the internal id); 404 "Could not find client"."""
    realm = req.realm(*roles)
    client = realm.clients.get(req.params["id"])
    if client is None:
        raise error(404, "Could not find client")
    return realm, client


def realm_names(req: Request) -> set[str]:
    return set(req.app.store.realms)


def list_clients(req: Request) -> Response:
    realm = req.realm("view-clients", "query-clients")
    wanted = req.arg("clientId")
    search = bool(req.bool_arg("search", False))
    clients = list(realm.clients.values())
    if wanted is not None:
        if search:
            clients = [c for c in clients if wanted.lower() in c.client_id.lower()]
        else:
            clients = [c for c in clients if c.client_id == wanted]
    clients.sort(key=lambda c: c.client_id)
    clients = req.page(clients)
    names = realm_names(req)
    return Response(200, [reps.client_rep(realm, c, names) for c in clients])


def create_client(req: Request) -> Response:
    realm = req.realm("manage-clients", "create-client")
    body = req.json_object()
    fields.refuse_unknown(req.body, fields.CLIENT_FIELDS, "ClientRepresentation")
    if isinstance(body.get("clientId"), str) and not body["clientId"].strip():  # 26.7.3, `" "` too
        raise HttpError(400, {"error": "invalid_input", "error_description": "Client ID cannot be blank"})
    if body.get("authorizationServicesEnabled") and body.get("publicClient"):
        from realmctl.sandbox.admin.authz import SERVER_ERROR

        raise HttpError(500, SERVER_ERROR)  # 26.7.3: a public client cannot be a resource server; nothing is made
    client = ops.create_client(realm, body)
    if body.get("authorizationServicesEnabled"):
        from realmctl.sandbox.admin.authz import ensure_resource_server

        ensure_resource_server(realm, client, default_objects=True)
    return created(req.admin_url(realm, "clients", client.id))


def get_client(req: Request) -> Response:
    realm, client = find_client(req, "view-clients", "query-clients")
    return Response(200, reps.client_rep(realm, client, realm_names(req)))


def update_client(req: Request) -> Response:
    """PUT merges: null fields keep their value, attributes merge key by key, mappers are ignored."""
    realm, client = find_client(req, "manage-clients")
    body = req.json_object()
    fields.refuse_unknown(req.body, fields.CLIENT_FIELDS, "ClientRepresentation")
    new_client_id = body.get("clientId")
    taken = new_client_id and new_client_id != client.client_id and realm.client_by_client_id(new_client_id)
    if taken:
        # a rename onto a taken clientId hits the database constraint, not the create-time check
        raise HttpError(409, {"error": "conflict", "error_description": "Duplicate resource error"})
    stored = client.rep
    for key, value in body.items():
        if key in ops.CLIENT_COMPUTED or value is None:
            continue
        if key == "attributes":
            for attr, attr_value in value.items():
                if attr == "realm_client":
                    continue
                if attr_value in (None, ""):
                    stored["attributes"].pop(attr, None)
                else:
                    stored["attributes"][attr] = as_text(attr_value)
        else:
            stored[key] = copy.deepcopy(value)
    if stored.get("publicClient"):  # 26.7.3: a confidential bearer-only client keeps its secret
        stored.pop("secret", None)
    elif not stored.get("secret"):
        stored["secret"] = ops.generate_secret()
    if stored.get("serviceAccountsEnabled"):
        ops.enable_service_account(realm, client)
    if body.get("authorizationServicesEnabled") is True:
        from realmctl.sandbox.admin.authz import ensure_resource_server

        ensure_resource_server(realm, client, default_objects=True)
    elif body.get("authorizationServicesEnabled") is False:
        realm.resource_servers.pop(client.id, None)
    return NO_CONTENT


def delete_client(req: Request) -> Response:
    realm, client = find_client(req, "manage-clients")
    delete_client_model(realm, client)
    return NO_CONTENT


def delete_client_model(realm: Realm, client: Client) -> None:
    """Remove a client with its roles, service-account user and authorization data."""
    for role in list(realm.client_roles(client.id)):
        remove_role(realm, role)
    sa_user = realm.service_account_user(client.id)
    if sa_user is not None:
        del realm.users[sa_user.id]
    realm.resource_servers.pop(client.id, None)
    del realm.clients[client.id]


def get_secret(req: Request) -> Response:
    _, client = find_client(req, "view-clients")
    body: dict[str, Any] = {"type": "secret"}
    if client.rep.get("secret"):
        body["value"] = client.rep["secret"]
    return Response(200, body)


def regenerate_secret(req: Request) -> Response:
    _, client = find_client(req, "manage-clients")
    client.rep["secret"] = ops.generate_secret()
    client.rep.setdefault("attributes", {})["client.secret.creation.time"] = str(int(time.time()))
    return Response(200, {"type": "secret", "value": client.rep["secret"]})


def service_account_user(req: Request) -> Response:
    realm, client = find_client(req, "view-clients")
    user = realm.service_account_user(client.id)
    if user is None:  # ClientResource: an existing user is returned even if the flag was turned off
        if not client.rep.get("serviceAccountsEnabled"):
            raise error(400, f"Service account not enabled for the client '{client.client_id}'")
        user = ops.enable_service_account(realm, client)
    return Response(200, reps.user_rep(realm, user))


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/clients"
    router.add("GET", base, list_clients)
    router.add("POST", base, create_client)
    router.add("GET", base + "/{id}", get_client)
    router.add("PUT", base + "/{id}", update_client)
    router.add("DELETE", base + "/{id}", delete_client)
    router.add("GET", base + "/{id}/client-secret", get_secret)
    router.add("POST", base + "/{id}/client-secret", regenerate_secret)
    router.add("GET", base + "/{id}/service-account-user", service_account_user)

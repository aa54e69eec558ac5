"""`POST /partialImport` (SEMANTICS §10.2), after Keycloak's `org.keycloak.partialimport` handlers.

All existence checks run before anything changes (Keycloak's `prepare` phase, one transaction),
so FAIL answers 409 with nothing imported. OVERWRITE deletes and re-creates: clients get new
internal ids and IdPs new `internalId`s. Internal clients are dropped silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realmctl.sandbox import ops
from realmctl.sandbox.admin.clients import delete_client_model
from realmctl.sandbox.admin.idps import normalise_idp, ordered_idp
from realmctl.sandbox.admin.roles import remove_role
from realmctl.sandbox.defaults import set_composites
from realmctl.sandbox.errors import HttpError, error_message, exists
from realmctl.sandbox.http import Request, Response, Router
from realmctl.sandbox.store import IdentityProvider, Realm, new_id

INTERNAL_CLIENTS = {
    "account",
    "account-console",
    "admin-cli",
    "broker",
    "realm-management",
    "security-admin-console",
    "admin-permissions",
}


@dataclass
class Results:
    """PartialImportResults: counters plus one entry per resource."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, action: str, rtype: str, name: str, model_id: str | None) -> None:
        entry = {"action": action, "resourceType": rtype, "resourceName": name}
        if model_id is not None:
            entry["id"] = model_id
        self.entries.append(entry)

    def body(self) -> dict[str, Any]:
        count = {a: sum(1 for e in self.entries if e["action"] == a) for a in ("OVERWRITTEN", "ADDED", "SKIPPED")}
        return {
            "overwritten": count["OVERWRITTEN"],
            "added": count["ADDED"],
            "skipped": count["SKIPPED"],
            "results": self.entries,
        }


@dataclass
class Kind:
    """One resource type: how to name it, find it, describe a clash, remove and create it."""

    rtype: str
    items: list[dict[str, Any]]
    name: Callable[[dict[str, Any]], str]
    exists: Callable[[dict[str, Any]], bool]
    message: Callable[[dict[str, Any]], str]
    remove: Callable[[dict[str, Any]], None]
    create: Callable[[dict[str, Any]], object]
    model_id: Callable[[dict[str, Any]], str | None]
    overwrite: list[dict[str, Any]] = field(default_factory=list)
    skip: list[dict[str, Any]] = field(default_factory=list)


def _policy(body: dict[str, Any]) -> str:
    policy = str(body.get("ifResourceExists") or body.get("policy") or "FAIL").upper()
    if policy not in ("FAIL", "SKIP", "OVERWRITE"):
        raise HttpError(400, {"error": "unknown_error", "error_description": "Cannot parse the JSON"})
    return policy


def _group_path(rep: dict[str, Any]) -> str:
    return str(rep.get("path") or f"/{rep.get('name')}")


def _user_lookup(realm: Realm, rep: dict[str, Any]) -> Any:
    user = realm.user_by_username(str(rep.get("username") or ""))
    email = rep.get("email")
    if user is None and email and not realm.settings.get("duplicateEmailsAllowed"):
        user = next((u for u in realm.users.values() if u.rep.get("email") == str(email).lower()), None)
    return user


def _kinds(realm: Realm, body: dict[str, Any]) -> list[Kind]:
    clients = [
        c
        for c in body.get("clients") or []
        if c.get("clientId") not in INTERNAL_CLIENTS and not str(c.get("clientId", "")).endswith("-realm")
    ]
    realm_roles = list((body.get("roles") or {}).get("realm") or [])
    idps = list(body.get("identityProviders") or [])
    mappers = list(body.get("identityProviderMappers") or [])

    def create_client(rep: dict[str, Any]) -> None:
        fresh = {**copy.deepcopy(rep), "id": new_id()}
        for mapper in fresh.get("protocolMappers") or []:
            mapper.pop("id", None)
        ops.create_client(realm, fresh)

    def remove_client(rep: dict[str, Any]) -> None:
        client = realm.client_by_client_id(rep["clientId"])
        if client is not None:
            delete_client_model(realm, client)

    def create_idp(rep: dict[str, Any]) -> None:
        stored = ordered_idp(normalise_idp(rep), new_id())
        realm.idps[stored["alias"]] = IdentityProvider(rep=stored)

    def remove_idp(rep: dict[str, Any]) -> None:
        ops.delete_idp(realm, rep["alias"])

    def mapper_of(rep: dict[str, Any]) -> dict[str, Any] | None:
        idp = realm.idps.get(str(rep.get("identityProviderAlias")))
        return next((m for m in idp.mappers.values() if m["name"] == rep.get("name")), None) if idp else None

    def create_mapper(rep: dict[str, Any]) -> None:
        idp = realm.idps.get(str(rep.get("identityProviderAlias")))
        if idp is None:
            raise error_message(500, f"Identity Provider {rep.get('identityProviderAlias')} not found")
        old = mapper_of(rep)
        if old is not None:
            del idp.mappers[old["id"]]
        mapper_id = new_id()
        idp.mappers[mapper_id] = {**copy.deepcopy(rep), "id": mapper_id}

    def remove_mapper(rep: dict[str, Any]) -> None:
        old = mapper_of(rep)
        idp = realm.idps.get(str(rep.get("identityProviderAlias")))
        if old is not None and idp is not None:
            del idp.mappers[old["id"]]

    def remove_realm_role(rep: dict[str, Any]) -> None:
        role = realm.realm_role(rep["name"])
        if role is not None:
            remove_role(realm, role)

    def create_realm_role(rep: dict[str, Any]) -> None:
        ops.add_role(realm, rep["name"], description=rep.get("description"), attributes=rep.get("attributes"))

    def remove_user(rep: dict[str, Any]) -> None:
        user = _user_lookup(realm, rep)
        if user is not None:
            del realm.users[user.id]

    def remove_group(rep: dict[str, Any]) -> None:
        group = ops.find_group_by_path(realm, _group_path(rep))
        if group is not None:
            ops.delete_group(realm, group)

    def user_message(rep: dict[str, Any]) -> str:
        name = rep.get("username") or rep.get("email")
        if rep.get("email") is None or not realm.settings.get("duplicateEmailsAllowed"):
            return f"User with user name {name} already exists."
        return f"User with user name {name} or with email {rep['email']} already exists."

    return [
        Kind(
            "CLIENT",
            clients,
            lambda r: str(r["clientId"]),
            lambda r: realm.client_by_client_id(r["clientId"]) is not None,
            lambda r: f"Client id '{r['clientId']}' already exists",
            remove_client,
            create_client,
            lambda r: getattr(realm.client_by_client_id(r["clientId"]), "id", None),
        ),
        Kind(
            "REALM_ROLE",
            realm_roles,
            lambda r: str(r["name"]),
            lambda r: realm.realm_role(r["name"]) is not None,
            lambda r: f"Realm role '{r['name']}' already exists.",
            remove_realm_role,
            create_realm_role,
            lambda r: getattr(realm.realm_role(r["name"]), "id", None),
        ),
        Kind(
            "IDP",
            idps,
            lambda r: str(r["alias"]),
            lambda r: r["alias"] in realm.idps,
            lambda r: f"Identity Provider '{r['alias']}' already exists.",
            remove_idp,
            create_idp,
            lambda r: realm.idps[r["alias"]].internal_id if r["alias"] in realm.idps else None,
        ),
        Kind(
            "IDP_MAPPER",
            mappers,
            lambda r: str(r.get("name")),
            lambda r: mapper_of(r) is not None,
            lambda r: f"Identity Provider Mapper'{r.get('name')}' already exists.",
            remove_mapper,
            create_mapper,
            lambda r: (mapper_of(r) or {}).get("id"),
        ),
        Kind(
            "GROUP",
            list(body.get("groups") or []),
            lambda r: str(r.get("name")),
            lambda r: ops.find_group_by_path(realm, _group_path(r)) is not None,
            lambda r: f"Group '{r.get('path')}' already exists",
            remove_group,
            lambda r: ops.import_group(realm, r, None),
            lambda r: getattr(ops.find_group_by_path(realm, _group_path(r)), "id", None),
        ),
        Kind(
            "USER",
            list(body.get("users") or []),
            lambda r: str(r.get("username") or r.get("email")),
            lambda r: _user_lookup(realm, r) is not None,
            user_message,
            remove_user,
            lambda r: ops.import_user(realm, r),
            lambda r: getattr(_user_lookup(realm, r), "id", None),
        ),
    ]


def _client_roles(realm: Realm, body: dict[str, Any], policy: str) -> dict[str, tuple[list[Any], list[Any]]]:
    """Prepare client roles: (to overwrite, to skip) per clientId; 412 for unknown clients."""
    planned = {c.get("clientId") for c in body.get("clients") or []}
    prepared: dict[str, tuple[list[Any], list[Any]]] = {}
    for client_id, roles in ((body.get("roles") or {}).get("client") or {}).items():
        client = realm.client_by_client_id(client_id)
        if client is None and client_id not in planned:
            raise error_message(412, f"Can not import client roles for nonexistent client named {client_id}")
        overwrite: list[Any] = []
        skip: list[Any] = []
        for rep in roles:
            if client is not None and realm.client_role(client.id, rep["name"]) is not None:
                if policy == "FAIL":
                    raise exists(f"Client role '{rep['name']}' for client '{client_id}' already exists.")
                (skip if policy == "SKIP" else overwrite).append(rep)
        prepared[client_id] = (overwrite, skip)
    return prepared


def partial_import(req: Request) -> Response:
    realm = req.realm("manage-realm")
    body = req.json_object()
    policy = _policy(body)
    kinds = _kinds(realm, body)
    for kind in kinds:  # prepare: every clash is known before anything changes
        for rep in kind.items:
            if kind.exists(rep):
                if policy == "FAIL":
                    raise exists(kind.message(rep))
                (kind.skip if policy == "SKIP" else kind.overwrite).append(rep)
    client_roles = _client_roles(realm, body, policy)
    results = Results()
    for kind in kinds:
        for rep in kind.overwrite:
            kind.remove(rep)
        if kind.rtype == "REALM_ROLE":
            _import_client_roles(realm, body, client_roles, results)
        for rep in kind.overwrite:
            kind.create(rep)
            results.add("OVERWRITTEN", kind.rtype, kind.name(rep), kind.model_id(rep))
        for rep in kind.skip:
            results.add("SKIPPED", kind.rtype, kind.name(rep), kind.model_id(rep))
        for rep in kind.items:
            if rep in kind.overwrite or rep in kind.skip:
                continue
            kind.create(rep)
            results.add("ADDED", kind.rtype, kind.name(rep), kind.model_id(rep))
        if kind.rtype == "REALM_ROLE":
            _role_composites(realm, body)
    return Response(200, results.body())


def _import_client_roles(
    realm: Realm, body: dict[str, Any], prepared: dict[str, tuple[list[Any], list[Any]]], results: Results
) -> None:
    for client_id, roles in ((body.get("roles") or {}).get("client") or {}).items():
        client = realm.client_by_client_id(client_id)
        if client is None:
            continue
        overwrite, skip = prepared.get(client_id, ([], []))
        for rep in roles:
            name = f"{client_id}-->{rep['name']}"
            if rep in skip:
                results.add("SKIPPED", "CLIENT_ROLE", name, client.id)
                continue
            old = realm.client_role(client.id, rep["name"])
            if old is not None:
                remove_role(realm, old)
            ops.add_role(realm, rep["name"], client_id=client.id, description=rep.get("description"))
            results.add("OVERWRITTEN" if rep in overwrite else "ADDED", "CLIENT_ROLE", name, client.id)


def _role_composites(realm: Realm, body: dict[str, Any]) -> None:
    roles = body.get("roles") or {}
    for rep in roles.get("realm") or []:
        role = realm.realm_role(rep["name"])
        if role is not None and rep.get("composites"):
            set_composites(realm, role.id, rep["composites"])
    for client_id, reps in (roles.get("client") or {}).items():
        client = realm.client_by_client_id(client_id)
        for rep in reps if client else []:
            role = realm.client_role(client.id, rep["name"]) if client else None
            if role is not None and rep.get("composites"):
                set_composites(realm, role.id, rep["composites"])


def register(router: Router) -> None:
    router.add("POST", "/admin/realms/{realm}/partialImport", partial_import)

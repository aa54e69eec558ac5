"""Realm export in Keycloak's RealmRepresentation shape, used by partial export (SEMANTICS §10.1).

Partial export masks secrets (`stripSecrets`): client secrets and IdP client secrets become
`**********`; users are left out except service-account users when clients are exported.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from realmctl.sandbox import ops, reps
from realmctl.sandbox.profiles import VERSION
from realmctl.sandbox.store import Group, Policy, Realm, ResourceServer, Role, Store


def _role_export(realm: Realm, role: Role) -> dict[str, Any]:
    rep = reps.role_rep(realm, role)
    if role.composites:
        children = [realm.roles[i] for i in role.composites if i in realm.roles]
        composites: dict[str, Any] = {}
        realm_names = sorted(c.name for c in children if c.client_id is None)
        if realm_names:
            composites["realm"] = realm_names
        by_client: dict[str, list[str]] = {}
        for child in children:
            if child.client_id:
                by_client.setdefault(realm.clients[child.client_id].client_id, []).append(child.name)
        if by_client:
            composites["client"] = {k: sorted(v) for k, v in by_client.items()}
        rep = {**{k: v for k, v in rep.items() if k != "clientRole"}, "composites": composites}
        rep["clientRole"] = role.client_id is not None
        rep["containerId"] = role.container_id
        rep["attributes"] = dict(role.attributes)
    return rep


def _roles(realm: Realm) -> dict[str, Any]:
    clients: dict[str, list[dict[str, Any]]] = {}
    for client in realm.clients.values():
        clients[client.client_id] = [_role_export(realm, r) for r in realm.client_roles(client.id)]
    return {"realm": [_role_export(realm, r) for r in realm.realm_roles()], "client": clients}


def _mappings(realm: Realm, role_ids: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    realm_roles = sorted(realm.roles[i].name for i in role_ids if i in realm.roles and not realm.roles[i].client_id)
    client_roles: dict[str, list[str]] = {}
    for rid in role_ids:
        role = realm.roles.get(rid)
        if role is not None and role.client_id:
            client_roles.setdefault(realm.clients[role.client_id].client_id, []).append(role.name)
    return realm_roles, client_roles


def _scope_mappings(realm: Realm) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    realm_level: list[dict[str, Any]] = []
    client_level: dict[str, list[dict[str, Any]]] = {}
    holders: list[tuple[str, str, set[str]]] = [
        ("client", c.client_id, c.scope_role_ids) for c in realm.clients.values()
    ]
    holders += [("clientScope", s.name, s.scope_role_ids) for s in realm.client_scopes.values()]
    for kind, name, role_ids in holders:
        realm_roles, client_roles = _mappings(realm, role_ids)
        if realm_roles:
            realm_level.append({kind: name, "roles": realm_roles})
        for role_client, names in client_roles.items():
            client_level.setdefault(role_client, []).append({kind: name, "roles": sorted(names)})
    return realm_level, client_level


def _group_export(realm: Realm, group: Group) -> dict[str, Any]:
    realm_roles, client_roles = _mappings(realm, group.role_ids)
    return {
        "id": group.id,
        "name": group.name,
        "path": ops.group_path(realm, group),
        "subGroups": [_group_export(realm, g) for g in realm.groups.values() if g.parent_id == group.id],
        "attributes": dict(group.attributes),
        "realmRoles": realm_roles,
        "clientRoles": client_roles,
    }


def policy_export(server: ResourceServer, policy: Policy) -> dict[str, Any]:
    """A policy in export form: relations as JSON-encoded name lists inside `config`."""
    rep = {"id": policy.id, **{k: v for k, v in policy.rep.items() if k not in ("clients",)}}
    config = dict(rep.get("config") or {})
    if policy.resource_ids:
        config["resources"] = json.dumps([server.resources[i]["name"] for i in policy.resource_ids])
    if policy.scope_ids:
        config["scopes"] = json.dumps([server.scopes[i]["name"] for i in policy.scope_ids])
    if policy.policy_ids:
        config["applyPolicies"] = json.dumps([server.policies[i].name for i in policy.policy_ids])
    rep["config"] = config
    return rep


def _authz_export(server: ResourceServer) -> dict[str, Any]:
    return {
        **server.settings,
        "resources": [
            {
                **{k: v for k, v in r.items() if k not in ("scope_ids", "owner_id")},
                "scopes": [{"name": server.scopes[i]["name"]} for i in r.get("scope_ids", [])],
            }
            for r in server.resources.values()
        ],
        "policies": [policy_export(server, p) for p in server.policies.values()],
        "scopes": list(server.scopes.values()),
        "decisionStrategy": server.settings.get("decisionStrategy", "UNANIMOUS"),
    }


def export_realm(
    store: Store, realm: Realm, *, clients: bool, groups_and_roles: bool, mask: bool = True
) -> dict[str, Any]:
    """The realm as `partial-export` returns it."""
    from realmctl.sandbox.admin.realms import realm_rep

    rep = realm_rep(realm)
    if groups_and_roles:
        rep["roles"] = _roles(realm)
        rep["groups"] = [_group_export(realm, g) for g in realm.groups.values() if g.parent_id is None]
    else:
        rep.pop("defaultRole", None)
    names = set(store.realms)
    if clients:
        exported = []
        for client in realm.clients.values():
            client_rep = reps.client_rep(realm, client, names, access=False)
            if mask and "secret" in client_rep:
                client_rep["secret"] = reps.SECRET_MASK
            server = realm.resource_servers.get(client.id)
            if server is not None:
                client_rep["authorizationSettings"] = _authz_export(server)
            exported.append(client_rep)
        rep["clients"] = exported
        users = []
        for client in realm.clients.values():
            user = realm.service_account_user(client.id)
            if user is None:
                continue
            user_rep = reps.user_rep(realm, user, stored=True)
            # an export names the client of a service account (ExportUtils), the admin API does not
            user_rep["serviceAccountClientId"] = client.client_id
            if groups_and_roles:
                user_rep["realmRoles"], user_rep["clientRoles"] = _mappings(realm, user.role_ids)
            users.append(user_rep)
        if users:
            rep["users"] = users
    rep["clientScopes"] = [reps.scope_rep(s) for s in realm.client_scopes.values()]
    scope_names = {sid: realm.client_scopes[sid].name for sid in realm.default_scopes if sid in realm.client_scopes}
    rep["defaultDefaultClientScopes"] = [
        scope_names[s] for s, d in realm.default_scopes.items() if d and s in scope_names
    ]
    rep["defaultOptionalClientScopes"] = [
        scope_names[s] for s, d in realm.default_scopes.items() if not d and s in scope_names
    ]
    if groups_and_roles or clients:
        rep["scopeMappings"], rep["clientScopeMappings"] = _scope_mappings(realm)
    rep["identityProviders"] = [reps.idp_rep(i, mask=mask) for i in realm.idps.values()]
    rep["identityProviderMappers"] = [dict(m) for i in realm.idps.values() for m in i.mappers.values()]
    rep["components"] = _components(realm.kept.get("components") or {}, mask)
    for key in ("authenticationFlows", "authenticatorConfig", "requiredActions"):
        if key in realm.kept:
            rep[key] = copy.deepcopy(realm.kept[key])
    rep["keycloakVersion"] = VERSION
    return rep


#: Component config a partial export leaves out (26.7.3 writes only `priority`/`algorithm` of keys).
KEY_MATERIAL = ("privateKey", "certificate", "secret", "kid", "secretSize", "keySize")


def _components(components: dict[str, Any], mask: bool) -> dict[str, Any]:
    out = copy.deepcopy(components)
    if mask:
        for items in out.values():
            for c in items if isinstance(items, list) else []:
                for key in KEY_MATERIAL:
                    (c.get("config") or {}).pop(key, None)
    return out

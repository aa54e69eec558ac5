"""What a new realm contains (SEMANTICS §1) and how a realm representation is imported.

`POST /admin/realms` and `--import` both go through `import_realm`, as Keycloak's
`RealmManager.importRealm` does: objects in the representation are taken as given (ids kept) and
every built-in object the representation lacks is created with Keycloak's defaults.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from realmctl.sandbox import ops, userprofile
from realmctl.sandbox.defaults_data import BUILTIN_CLIENTS, CLIENT_SCOPES, DEFAULT_COMPONENTS, REALM_SETTINGS
from realmctl.sandbox.errors import HttpError, exists
from realmctl.sandbox.store import (
    Client,
    ClientScope,
    IdentityProvider,
    Policy,
    Realm,
    ResourceServer,
    Store,
    as_text,
    new_id,
)

MASTER = "master"

#: `AdminRoles.ALL_REALM_ROLES` plus `impersonation`, in the order Keycloak creates them.
ADMIN_ROLES = [
    "create-client",
    "view-realm",
    "view-users",
    "view-clients",
    "view-events",
    "view-identity-providers",
    "view-authorization",
    "manage-realm",
    "manage-users",
    "manage-clients",
    "manage-events",
    "manage-identity-providers",
    "manage-authorization",
    "query-users",
    "query-clients",
    "query-realms",
    "query-groups",
    "impersonation",
    # 26.7.3 (in every profile)
    "view-organizations",
    "manage-organizations",
    "query-organizations",
]
ADMIN_COMPOSITES = {
    "view-users": ["query-users", "query-groups"],
    "view-clients": ["query-clients"],
    "view-organizations": ["query-organizations"],
}

ACCOUNT_ROLES = [
    "view-profile",
    "manage-account",
    "manage-account-links",
    "view-applications",
    "view-consent",
    "manage-consent",
    "view-groups",
    "delete-account",
]
ACCOUNT_COMPOSITES = {"manage-account": ["manage-account-links"], "manage-consent": ["view-consent"]}

DEFAULT_DEFAULT_SCOPES = [
    "role_list",
    "saml_organization",
    "AuthnContextClassRef",
    "profile",
    "email",
    "roles",
    "web-origins",
    "acr",
    "basic",
]
DEFAULT_OPTIONAL_SCOPES = ["offline_access", "address", "phone", "microprofile-jwt", "organization"]

#: Realm fields that are not plain settings: imported into the model instead.
STRUCTURAL = {
    "id",
    "realm",
    "roles",
    "groups",
    "defaultRole",
    "clients",
    "clientScopes",
    "scopeMappings",
    "clientScopeMappings",
    "users",
    "identityProviders",
    "identityProviderMappers",
    "defaultDefaultClientScopes",
    "defaultOptionalClientScopes",
    "components",
    "authenticationFlows",
    "authenticatorConfig",
    "requiredActions",
    "keycloakVersion",
    "clientProfiles",
    "clientPolicies",
    "localizationTexts",
    "federatedUsers",
    "organizations",
}

#: Parts of a realm file kept as imported (Realm.kept) though the sandbox does not act on them.
KEPT = (
    "components",
    "authenticationFlows",
    "authenticatorConfig",
    "requiredActions",
    "clientProfiles",
    "clientPolicies",
)


#: RFC 3986 reserved characters Keycloak refuses in realm names and IdP aliases
#: (`ReservedCharValidator`; measured on 26.7.3: `{"error": "Character '/' not allowed."}`).
RESERVED_CHARS = re.compile(r"[:/?#@!$&()*+,;=\[\]\\]")


def refuse_reserved_chars(name: Any) -> None:
    """400 for a name holding a reserved character, with the first one named, as Keycloak answers."""
    found = RESERVED_CHARS.search(name) if isinstance(name, str) else None
    if found:
        raise HttpError(400, {"error": f"Character '{found.group()}' not allowed."})


#: A `{name}` in a realm name or IdP alias is read as a URI template parameter when Keycloak
#: builds the `Location` (26.7.3: realm `{x}` 500, alias `{x}` 400 "Path parameter not provided x");
#: a lone `{` or `}` is stored.
URI_TEMPLATE = re.compile(r"\{([^{}]*)\}")


def builtin_client_rep(client_id: str, realm_name: str) -> dict[str, Any]:
    """The exported representation of a built-in client with the realm name filled in."""
    template = next(c for c in BUILTIN_CLIENTS if c["clientId"] == client_id)

    def fill(value: Any) -> Any:
        # In the parsed structure, not the JSON text: a realm name holding `"` or `\` stays a string.
        if isinstance(value, str):
            return value.replace("{realm}", realm_name)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    rep: dict[str, Any] = fill(template)
    return rep


def import_realm(store: Store, rep: dict[str, Any], *, organization: bool = True) -> Realm:
    """Create a realm from a (possibly empty) RealmRepresentation; 409 when the name is taken."""
    name = rep.get("realm")
    if not name:
        raise HttpError(400, {"errorMessage": "Realm name cannot be empty"})
    if store.realm(name) is not None:
        raise exists(f"Realm {name} already exists")  # 26.7.3
    settings = copy.deepcopy(REALM_SETTINGS)
    settings["enabled"] = name == MASTER  # RealmEntity.enabled is a primitive: absent ⇒ false
    if name == MASTER:
        settings["accessTokenLifespan"] = 60
    for key, value in rep.items():
        if key not in STRUCTURAL and value is not None:
            settings[key] = copy.deepcopy(value)
    realm = Realm(id=rep.get("id") or new_id(), name=name, settings=settings)
    for key in KEPT:
        if rep.get(key) is not None:
            realm.kept[key] = copy.deepcopy(rep[key])
    if "components" not in realm.kept:
        realm.kept["components"] = {
            kind: [{"id": new_id(), **copy.deepcopy(c)} for c in items] for kind, items in DEFAULT_COMPONENTS.items()
        }
        if name == MASTER:  # 26.7.3 writes master's own profile (names not required) at bootstrap
            realm.kept["components"][userprofile.COMPONENT] = [userprofile.master_component()]
    store.realms[name] = realm

    _import_realm_roles(realm, rep)
    for client_rep in rep.get("clients") or []:
        _import_client(realm, client_rep)
    _ensure_builtin_clients(realm)
    _import_client_roles(realm, rep)
    _ensure_builtin_roles(realm)
    _import_composites(realm, rep)
    _ensure_default_role(realm, rep)
    if rep.get("clientScopes") is None:
        _create_default_scopes(realm, organization=organization)
    else:
        _import_scopes(realm, rep)
    _link_client_scopes(realm, rep)
    _import_scope_mappings(realm, rep)
    for group_rep in rep.get("groups") or []:
        ops.import_group(realm, group_rep, None, keep_ids=True)
    _import_users(realm, rep)
    _import_idps(realm, rep)
    _import_authz(realm, rep)
    if name != MASTER and store.realm(MASTER) is not None:
        add_master_admin_client(store, realm)
    return realm


def _import_realm_roles(realm: Realm, rep: dict[str, Any]) -> None:
    for role_rep in (rep.get("roles") or {}).get("realm") or []:
        if realm.realm_role(role_rep["name"]) is None:
            ops.add_role(
                realm,
                role_rep["name"],
                description=role_rep.get("description"),
                role_id=role_rep.get("id"),
                attributes=role_rep.get("attributes"),
            )
    for role_name, desc in (
        ("offline_access", "${role_offline-access}"),
        ("uma_authorization", "${role_uma_authorization}"),
    ):
        if realm.realm_role(role_name) is None:
            ops.add_role(realm, role_name, description=desc)
    if realm.name == MASTER:
        for role_name in ("admin", "create-realm"):
            if realm.realm_role(role_name) is None:
                ops.add_role(realm, role_name, description=f"${{role_{role_name}}}")


def _import_client(realm: Realm, rep: dict[str, Any]) -> Client:
    rep = dict(rep)
    rep.pop("defaultClientScopes", None)
    rep.pop("optionalClientScopes", None)
    rep["defaultClientScopes"] = []  # scopes are linked after they exist (_link_client_scopes)
    client = ops.create_client(realm, rep, keep_ids=True, service_account=False, protocol_defaults=False)
    if client.client_id not in _builtin_ids(realm) and not client.client_id.endswith("-realm"):
        # 26.7.3 gives an imported client of the file's own the default post-logout redirect
        client.rep.setdefault("attributes", {}).setdefault("post.logout.redirect.uris", "+")
    if rep.get("authorizationServicesEnabled") or rep.get("authorizationSettings"):
        realm.resource_servers.setdefault(client.id, ResourceServer(client_id=client.id))
    return client


def _builtin_ids(realm: Realm) -> list[str]:
    ids = ["account", "account-console", "admin-cli", "broker", "security-admin-console"]
    if realm.name != MASTER:
        ids.insert(3, "realm-management")
    else:
        ids.append("master-realm")
    return ids


def _ensure_builtin_clients(realm: Realm) -> None:
    for client_id in _builtin_ids(realm):
        if realm.client_by_client_id(client_id) is not None:
            continue
        if client_id == "master-realm":
            rep = builtin_client_rep("realm-management", realm.name)
            rep.update(clientId="master-realm", name="master Realm")
        else:
            rep = builtin_client_rep(client_id, realm.name)
        rep["defaultClientScopes"] = []
        ops.create_client(realm, rep, protocol_defaults=False)


def _ensure_client_roles(realm: Realm, client: Client, names: list[str], composites: dict[str, list[str]]) -> None:
    for role_name in names:
        if realm.client_role(client.id, role_name) is None:
            ops.add_role(realm, role_name, client_id=client.id, description=f"${{role_{role_name}}}")
    for parent, children in composites.items():
        role = realm.client_role(client.id, parent)
        if role is not None and not role.composites:
            role.composites = {r.id for n in children if (r := realm.client_role(client.id, n)) is not None}


def _ensure_builtin_roles(realm: Realm) -> None:
    account = realm.client_by_client_id("account")
    if account is not None:
        _ensure_client_roles(realm, account, ACCOUNT_ROLES, ACCOUNT_COMPOSITES)
    broker = realm.client_by_client_id("broker")
    if broker is not None:
        _ensure_client_roles(realm, broker, ["read-token"], {})
    admin_client = realm.client_by_client_id("master-realm" if realm.name == MASTER else "realm-management")
    if admin_client is not None:
        names = ADMIN_ROLES if realm.name == MASTER else [*ADMIN_ROLES, "realm-admin"]
        composites = dict(ADMIN_COMPOSITES)
        if realm.name != MASTER:
            composites["realm-admin"] = ADMIN_ROLES
        _ensure_client_roles(realm, admin_client, names, composites)
        if realm.name == MASTER:
            _grant_master_admin(realm, admin_client)
    console = realm.client_by_client_id("account-console")
    if account is not None and console is not None and not console.scope_role_ids:
        for role_name in ("manage-account", "view-groups"):
            role = realm.client_role(account.id, role_name)
            if role is not None:
                console.scope_role_ids.add(role.id)


def _grant_master_admin(master: Realm, admin_client: Client) -> None:
    """Master `admin` is a composite of `create-realm` and every `<realm>-realm` admin role."""
    admin = master.realm_role("admin")
    create = master.realm_role("create-realm")
    if admin is None:
        return
    if create is not None:
        admin.composites.add(create.id)
    admin.composites |= {r.id for r in master.client_roles(admin_client.id)}


def add_master_admin_client(store: Store, realm: Realm) -> None:
    """Create `<realm>-realm` in master, holding the admin roles for `realm`."""
    master = store.realm(MASTER)
    if master is None or master.client_by_client_id(f"{realm.name}-realm") is not None:
        return
    rep = builtin_client_rep("realm-management", MASTER)
    rep.update(clientId=f"{realm.name}-realm", name=f"{realm.name} Realm", defaultClientScopes=[])
    client = ops.create_client(master, rep, protocol_defaults=False)
    _ensure_client_roles(master, client, ADMIN_ROLES, ADMIN_COMPOSITES)
    _grant_master_admin(master, client)


def _import_client_roles(realm: Realm, rep: dict[str, Any]) -> None:
    for client_id, roles in ((rep.get("roles") or {}).get("client") or {}).items():
        client = realm.client_by_client_id(client_id)
        if client is None:
            continue
        for role_rep in roles:
            if realm.client_role(client.id, role_rep["name"]) is None:
                ops.add_role(
                    realm,
                    role_rep["name"],
                    client_id=client.id,
                    description=role_rep.get("description"),
                    role_id=role_rep.get("id"),
                    attributes=role_rep.get("attributes"),
                )


def set_composites(realm: Realm, role_id: str, composites: dict[str, Any]) -> None:
    """Resolve a `{"realm": [names], "client": {clientId: [names]}}` composite map onto a role."""
    role = realm.roles[role_id]
    for name in composites.get("realm") or []:
        child = realm.realm_role(name)
        if child is not None:
            role.composites.add(child.id)
    for client_id, names in (composites.get("client") or {}).items():
        client = realm.client_by_client_id(client_id)
        for name in names if client else []:
            child = realm.client_role(client.id, name) if client else None
            if child is not None:
                role.composites.add(child.id)


def _import_composites(realm: Realm, rep: dict[str, Any]) -> None:
    roles = rep.get("roles") or {}
    entries: list[tuple[str | None, dict[str, Any]]] = [(None, r) for r in roles.get("realm") or []]
    for client_id, client_roles in (roles.get("client") or {}).items():
        entries.extend((client_id, r) for r in client_roles)
    for client_id, role_rep in entries:
        if not role_rep.get("composites"):
            continue
        client = realm.client_by_client_id(client_id) if client_id else None
        role = realm.client_role(client.id, role_rep["name"]) if client else realm.realm_role(role_rep["name"])
        if role is not None:
            role.composites.clear()
            set_composites(realm, role.id, role_rep["composites"])


def _ensure_default_role(realm: Realm, rep: dict[str, Any]) -> None:
    wanted = (rep.get("defaultRole") or {}).get("name") or f"default-roles-{realm.name.lower()}"
    role = realm.realm_role(wanted)
    if role is None:
        role = ops.add_role(realm, wanted, description="${role_default-roles}")
        set_composites(
            realm,
            role.id,
            {
                "realm": ["offline_access", "uma_authorization"],
                "client": {"account": ["manage-account", "view-profile"]},
            },
        )
    realm.default_role_id = role.id


def create_scope(realm: Realm, rep: dict[str, Any], *, keep_ids: bool = False) -> ClientScope:
    """Store a client scope as given (attributes as sent, mappers created with it)."""
    scope = ClientScope(
        id=rep["id"] if keep_ids and rep.get("id") else new_id(),
        name=rep["name"],
        protocol=rep.get("protocol"),
        description=rep.get("description"),
        attributes={k: as_text(v) for k, v in (rep.get("attributes") or {}).items()},
    )
    scope.mappers = [ops.clean_mapper(m, keep_id=keep_ids) for m in rep.get("protocolMappers") or []]
    realm.client_scopes[scope.id] = scope
    return scope


def _create_default_scopes(realm: Realm, *, organization: bool) -> None:
    for template in CLIENT_SCOPES:
        if not organization and template["name"] in ("organization", "saml_organization"):
            continue
        if realm.scope_by_name(template["name"]) is None:
            create_scope(realm, template)
    for names, default in ((DEFAULT_DEFAULT_SCOPES, True), (DEFAULT_OPTIONAL_SCOPES, False)):
        for name in names:
            scope = realm.scope_by_name(name)
            if scope is not None:
                realm.default_scopes[scope.id] = default
    offline = realm.scope_by_name("offline_access")
    role = realm.realm_role("offline_access")
    if offline is not None and role is not None:
        offline.scope_role_ids.add(role.id)


def _import_scopes(realm: Realm, rep: dict[str, Any]) -> None:
    for scope_rep in rep.get("clientScopes") or []:
        create_scope(realm, scope_rep, keep_ids=True)
    for names, default in (
        (rep.get("defaultDefaultClientScopes") or [], True),
        (rep.get("defaultOptionalClientScopes") or [], False),
    ):
        for name in names:
            scope = realm.scope_by_name(name)
            if scope is not None:
                realm.default_scopes[scope.id] = default


def _link_client_scopes(realm: Realm, rep: dict[str, Any]) -> None:
    """Attach scopes to every client: as listed in the import, else the realm's defaults."""
    listed = {c["clientId"]: c for c in rep.get("clients") or [] if c.get("clientId")}
    for client in realm.clients.values():
        client_rep = listed.get(client.client_id, {})
        if client_rep.get("defaultClientScopes") is None and client_rep.get("optionalClientScopes") is None:
            ops.attach_default_scopes(realm, client)
        else:
            for names, default in (
                (client_rep.get("defaultClientScopes"), True),
                (client_rep.get("optionalClientScopes"), False),
            ):
                for name in names or []:
                    scope = realm.scope_by_name(name)
                    if scope is not None:
                        client.scopes[scope.id] = default
        if client.rep.get("serviceAccountsEnabled"):
            scope = realm.scope_by_name("service_account")
            if scope is not None and client_rep.get("defaultClientScopes") is None:
                client.scopes.setdefault(scope.id, True)


def _roles_by_names(realm: Realm, client_id: str | None, names: list[str]) -> set[str]:
    client = realm.client_by_client_id(client_id) if client_id else None
    found = (realm.client_role(client.id, n) if client else realm.realm_role(n) for n in names)
    return {r.id for r in found if r is not None}


def _scope_holder(realm: Realm, entry: dict[str, Any]) -> set[str] | None:
    if entry.get("clientScope"):
        scope = realm.scope_by_name(entry["clientScope"])
        return scope.scope_role_ids if scope else None
    client = realm.client_by_client_id(entry.get("client") or "")
    return client.scope_role_ids if client else None


def _import_scope_mappings(realm: Realm, rep: dict[str, Any]) -> None:
    for entry in rep.get("scopeMappings") or []:
        holder = _scope_holder(realm, entry)
        if holder is not None:
            holder |= _roles_by_names(realm, None, entry.get("roles") or [])
    for role_client, entries in (rep.get("clientScopeMappings") or {}).items():
        for entry in entries:
            holder = _scope_holder(realm, entry)
            if holder is not None:
                holder |= _roles_by_names(realm, role_client, entry.get("roles") or [])


def import_users_file(realm: Realm, rep: dict[str, Any]) -> None:
    """The users of a `*-users-N.json` file, added to the realm its realm file made (a service
    account its client's import already made takes the file's role grants)."""
    for user_rep in rep.get("users") or []:
        name = str(user_rep.get("username"))
        existing = realm.user_by_username(name)
        if existing is not None and user_rep.get("serviceAccountClientId"):
            existing.role_ids = ops.role_ids_by_names(
                realm, user_rep.get("realmRoles") or [], user_rep.get("clientRoles") or {}
            )
            continue
        if existing is not None:
            raise HttpError(409, {"errorMessage": f"user {name!r} exists twice"})
        _import_user(realm, user_rep)


def _import_user(realm: Realm, user_rep: dict[str, Any]) -> None:
    """One exported user; a credential the sandbox cannot verify is refused naming the user."""
    from realmctl.sandbox.credentials import UnsupportedCredential

    try:
        ops.import_user(realm, user_rep, keep_ids=True)
    except UnsupportedCredential as exc:
        raise UnsupportedCredential(f"user {str(user_rep.get('username'))!r}: {exc}") from None


def _import_users(realm: Realm, rep: dict[str, Any]) -> None:
    for user_rep in rep.get("users") or []:
        _import_user(realm, user_rep)
    for client in realm.clients.values():
        if client.rep.get("serviceAccountsEnabled"):
            ops.enable_service_account(realm, client)


def _import_idps(realm: Realm, rep: dict[str, Any]) -> None:
    from realmctl.sandbox.admin.idps import normalise_idp, ordered_idp

    for idp_rep in rep.get("identityProviders") or []:
        stored = ordered_idp(normalise_idp(idp_rep), idp_rep.get("internalId") or new_id())
        realm.idps[stored["alias"]] = IdentityProvider(rep=stored)
    for mapper in rep.get("identityProviderMappers") or []:
        idp = realm.idps.get(mapper.get("identityProviderAlias", ""))
        if idp is not None:
            mapper_id = mapper.get("id") or new_id()
            idp.mappers[mapper_id] = {**mapper, "id": mapper_id}


def _import_authz(realm: Realm, rep: dict[str, Any]) -> None:
    """Resource servers of imported clients: resources, scopes and policies by name references."""
    for client_rep in rep.get("clients") or []:
        settings = client_rep.get("authorizationSettings")
        client = realm.client_by_client_id(client_rep.get("clientId", ""))
        if not settings or client is None:
            continue
        server = realm.resource_servers.setdefault(client.id, ResourceServer(client_id=client.id))
        server.settings = {k: v for k, v in settings.items() if k not in ("resources", "scopes", "policies")}
        for scope_rep in settings.get("scopes") or []:
            sid = scope_rep.get("id") or new_id()
            server.scopes[sid] = {"id": sid, "name": scope_rep["name"], **_extra(scope_rep, ("id", "name"))}
        for res_rep in settings.get("resources") or []:
            rid = res_rep.get("_id") or new_id()
            scope_ids = [s["id"] for n in res_rep.get("scopes") or [] if (s := server.scope_by_name(n["name"]))]
            server.resources[rid] = {
                **_extra(res_rep, ("_id", "scopes", "owner")),
                "_id": rid,
                "scope_ids": scope_ids,
                "owner_id": client.id,
            }
        for pol_rep in settings.get("policies") or []:
            config = dict(pol_rep.get("config") or {})
            pid = pol_rep.get("id") or new_id()
            policy = Policy(id=pid, rep={k: v for k, v in pol_rep.items() if k not in ("id",)})
            policy.rep["config"] = {
                k: v for k, v in config.items() if k not in ("resources", "scopes", "applyPolicies")
            }
            policy.resource_ids = _names_to_ids(server.resources, json.loads(config.get("resources", "[]")))
            policy.scope_ids = _names_to_ids(server.scopes, json.loads(config.get("scopes", "[]")))
            server.policies[pid] = policy
            policy.rep["_applyPolicies"] = json.loads(config.get("applyPolicies", "[]"))
        for policy in server.policies.values():
            names = policy.rep.pop("_applyPolicies", [])
            policy.policy_ids = [p.id for n in names if (p := server.policy_by_name(n)) is not None]


def _extra(rep: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in rep.items() if k not in skip}


def _names_to_ids(objects: dict[str, dict[str, Any]], names: list[str]) -> list[str]:
    return [oid for name in names for oid, obj in objects.items() if obj["name"] == name]


def create_master(store: Store, admin_user: str, admin_password: str, *, organization: bool = True) -> Realm:
    """The bootstrap master realm with its admin user holding the `admin` role."""
    master = import_realm(store, {"realm": MASTER}, organization=organization)
    admin = ops.create_user(master, {"username": admin_user, "enabled": True})
    admin.password = admin_password
    admin_role = master.realm_role("admin")
    if admin_role is not None:
        admin.role_ids.add(admin_role.id)
    return master

"""The `export` read strategy: one partial export per realm fills the readers' listing caches.

A plan normally reads a realm with GET listings, several of them per client, client scope and
identity provider (roles, role scope mappings, mappers), so its requests grow with the realm. With
`--read-strategy export`, gather sends instead one `POST .../partial-export?exportClients=true&
exportGroupsAndRoles=true` per existing realm (it writes nothing, but Keycloak requires
`manage-realm` for it) and stores what it answers under the very cache keys the listings use, in
the shape the listings give (checked field by field on Keycloak 26.7.3):

- clients lack `access` (the caller's rights, left out of the live digest) and carry their secret
  masked (`**********`): `ClientReads.client_secret` reads it per client where the spec declares one;
- roles carry `composites` (the listings do not), dropped; groups lack `subGroupCount`, added;
- role scope mappings (`scopeMappings`, `clientScopeMappings`) and the realm's default scopes come
  as names, turned into the listings' MappingsRepresentation and `{id, name, protocol}` entries;
- IdP mappers come in one list, split by alias.

What the export does not hold (the realm with realmctl's record, users, role and group members,
federated links, service-account users, fine-grained permissions) stays on the per-object reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.keycloak.session import ConnectionFailed

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

STRATEGIES = ("listings", "export")
#: How Keycloak masks a client secret in an export.
MASKED = "**********"
#: The fields of a role in a MappingsRepresentation (a role scope mapping listing).
_BRIEF_ROLE = ("id", "name", "description", "composite", "clientRole", "containerId")


def _brief(role: dict[str, Any]) -> dict[str, Any]:
    return {k: role[k] for k in _BRIEF_ROLE if k in role}


def _mappings(
    entries: list[tuple[str, list[str]]], realm_roles: dict[str, Any], clients: dict[str, Any], roles: dict[str, Any]
) -> dict[str, Any]:
    """A MappingsRepresentation from (container, role names): container "realm" or a clientId."""
    out: dict[str, Any] = {}
    for container, names in entries:
        if container == "realm":
            found = [_brief(realm_roles[n]) for n in names if n in realm_roles]
            out.setdefault("realmMappings", []).extend(found)
            continue
        client = clients.get(container)
        if client is None:
            continue
        by_name = {r.get("name"): r for r in roles.get(container) or []}
        entry = out.setdefault("clientMappings", {}).setdefault(
            container, {"id": client["id"], "client": container, "mappings": []}
        )
        entry["mappings"].extend(_brief(by_name[n]) for n in names if n in by_name)
    return out


def fetch(state: RealmState) -> dict[str, Any]:
    """The realm's partial export; a 403 says which right it needs (and that `listings` does not)."""
    try:
        found: dict[str, Any] = state.api._send(
            "POST",
            f"{state.base}/partial-export",
            params={"exportClients": "true", "exportGroupsAndRoles": "true"},
            idempotent=True,  # it writes nothing: safe to repeat after a transient failure
        )
    except ConnectionFailed as exc:
        raise ConnectionFailed(
            f"--read-strategy export needs the manage-realm role in realm {state.realm!r} (its partial "
            "export is a POST, though it writes nothing), and the server refused it: "
            f"{exc}. The default --read-strategy listings needs only view rights "
            "(view-realm, view-clients, view-users)."
        ) from None
    return found or {}


def prime(state: RealmState) -> None:
    """Fills `state`'s listing caches from one partial export; nothing for a realm not there."""
    if state.realm_rep() is None:
        return
    export = fetch(state)
    clients = export.get("clients") or []
    masked = set()
    for client in clients:
        if client.get("secret") == MASKED:  # kept: the live digest scrubs it as it scrubs a real one
            masked.add(client["clientId"])
    scopes = export.get("clientScopes") or []
    roles = export.get("roles") or {}
    realm_roles = roles.get("realm") or []
    client_roles: dict[str, list[dict[str, Any]]] = roles.get("client") or {}
    for role in [*realm_roles, *(r for listed in client_roles.values() for r in listed)]:
        role.pop("composites", None)
    groups = export.get("groups") or []
    for group in groups:
        group.setdefault("subGroupCount", len(group.get("subGroups") or []))
    idps = export.get("identityProviders") or []
    by_client = {c["clientId"]: c for c in clients}
    by_role = {r["name"]: r for r in realm_roles}
    scope_by_name = {s["name"]: s for s in scopes}

    # Role scope mappings by owner: ("client", clientId) or ("scope", scope name) -> entries.
    owned: dict[tuple[str, str], list[tuple[str, list[str]]]] = {}
    sources = [("realm", m) for m in export.get("scopeMappings") or []]
    sources += [(c, m) for c, listed in (export.get("clientScopeMappings") or {}).items() for m in listed]
    for container, mapping in sources:
        owner = ("client", mapping["client"]) if "client" in mapping else ("scope", mapping.get("clientScope", ""))
        owned.setdefault(owner, []).append((container, list(mapping.get("roles") or [])))

    values: dict[Any, Any] = {
        "clients": clients,
        "client-scopes": scopes,
        "roles": realm_roles,
        "groups": groups,
        "idps": idps,
        "masked-secrets": frozenset(masked),
        "default-default": [_scope_ref(scope_by_name, n) for n in export.get("defaultDefaultClientScopes") or []],
        "default-optional": [_scope_ref(scope_by_name, n) for n in export.get("defaultOptionalClientScopes") or []],
    }
    for client_id in by_client:
        values[("client-roles", client_id)] = client_roles.get(client_id) or []
        values[("scope-mappings", "client", client_id)] = _mappings(
            owned.get(("client", client_id), []), by_role, by_client, client_roles
        )
    for name in scope_by_name:
        values[("scope-mappings", "scope", name)] = _mappings(
            owned.get(("scope", name), []), by_role, by_client, client_roles
        )
    mappers: dict[str, list[dict[str, Any]]] = {i["alias"]: [] for i in idps}
    for mapper in export.get("identityProviderMappers") or []:
        mappers.setdefault(mapper.get("identityProviderAlias", ""), []).append(mapper)
    for alias, listed in mappers.items():
        values[("idp-mappers", alias)] = listed
    with state._lock:
        for key, value in values.items():
            state._cache.setdefault(key, value)  # what another thread already read is kept


def _scope_ref(scopes: dict[str, Any], name: str) -> dict[str, Any]:
    """A realm default scope entry as its listing gives it."""
    scope = scopes.get(name) or {"name": name}
    return {k: scope[k] for k in ("id", "name", "protocol") if k in scope}

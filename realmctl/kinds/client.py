"""Clients: ensured (or adopted) with the fields that matter to the chains.

Only declared fields are managed. A new client gets the realm's default scopes, as Keycloak does
when no scope list is sent; declared `defaultClientScopes` are attached by the client-scope-link
kind, so an app never silently loses `roles` or `profile`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.keycloak.session import NotFound
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.client_scope import exportable_scope
from realmctl.kinds.convert import kc_map, kc_str, pick
from realmctl.kinds.inverse import RealmExport, kc_bool, mapping_refs, roles_section
from realmctl.live import OWNED_MARKER, Reader
from realmctl.plan import Change, Live, Resource
from realmctl.planned import PlannedView, merge
from realmctl.spec.builtins import BUILTIN_CLIENT_ROLES

if TYPE_CHECKING:
    pass

#: Clients Keycloak creates and needs (`admin-permissions`: FGAP v2's resource server).
PROTECTED_CLIENTS = frozenset({*BUILTIN_CLIENT_ROLES, "admin-permissions"})

FIELDS = {
    "name": "name",
    "description": "description",
    "enabled": "enabled",
    "protocol": "protocol",
    "publicClient": "publicClient",
    "bearerOnly": "bearerOnly",
    "fullScopeAllowed": "fullScopeAllowed",
    "standardFlow": "standardFlowEnabled",
    "directAccessGrants": "directAccessGrantsEnabled",
    "serviceAccounts": "serviceAccountsEnabled",
    "implicitFlow": "implicitFlowEnabled",
    "consentRequired": "consentRequired",
    "rootUrl": "rootUrl",
    "baseUrl": "baseUrl",
    "redirectUris": "redirectUris",
    "webOrigins": "webOrigins",
}
ATTRIBUTES = {
    "lightweightAccessToken": "client.use.lightweight.access.token.enabled",
    "standardTokenExchange": "standard.token.exchange.enabled",
}


def client_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """Keycloak ClientRepresentation fields for a client's spec (secret excluded)."""
    extra = dict(spec.get("extra") or {})
    raw = extra.pop("attributes", None)  # adds to `attributes`, which wins on a key in both
    fields = pick(spec, FIELDS) | extra
    attributes = kc_map(raw if isinstance(raw, dict) else None)
    attributes |= {kc: kc_str(spec[f]) for f, kc in ATTRIBUTES.items() if f in spec} | kc_map(spec.get("attributes"))
    if attributes:
        fields["attributes"] = attributes
    return fields


class ClientReads(Reader):
    """The realm's clients (one listing, kept current as apply creates clients), ids by clientId, and
    a client's service-account user."""

    def clients(self) -> list[dict[str, Any]]:
        return self._list("clients", "clients")

    def remember_client(self, client: dict[str, Any]) -> None:
        """Adds a client created during apply to the cached listing."""
        with self._lock:
            clients = [c for c in self.clients() if c.get("clientId") != client.get("clientId")]
            self._cache["clients"] = [*clients, client]

    def client(self, client_id: str) -> dict[str, Any] | None:
        return self._index("clients", self.clients(), "clientId").get(client_id)

    def client_uuid(self, client_id: str) -> str | None:
        found = self.client(client_id)
        return found["id"] if found else None

    def service_account_user(self, client_id: str) -> dict[str, Any] | None:
        uuid = self.client_uuid(client_id)
        if uuid is None:
            return None

        def fetch() -> dict[str, Any] | None:
            try:
                result: dict[str, Any] | None = self.api.get(f"{self.base}/clients/{uuid}/service-account-user")
                return result
            except NotFound:
                return None

        return self._once(("service-account", client_id), fetch)

    def client_secret(self, client: dict[str, Any]) -> Any:
        """The client's secret: from the listing, or (masked by the `export` read strategy,
        realmctl/export_read.py) from one clients listing, which holds every secret in clear: one
        read per realm, where each client's `client-secret` would be one per client."""
        client_id = client.get("clientId")
        if client_id not in self._cache.get("masked-secrets", ()):
            return client.get("secret")
        secrets = self._once(
            "client-secrets", lambda: {c.get("clientId"): c.get("secret") for c in self.api.get(f"{self.base}/clients")}
        )
        return secrets.get(client_id)


def builtin_client(client: dict[str, Any]) -> bool:
    """Keycloak's own clients; `realm_client` also catches master's `<realm>-realm` clients,
    whose names cannot be listed in advance."""
    realm_client = (client.get("attributes") or {}).get("realm_client") == "true"
    return client["clientId"] in BUILTIN_CLIENT_ROLES or realm_client


def exported_clients(ex: RealmExport) -> list[dict[str, Any]]:
    """The clients this export declares (sorted by clientId)."""
    if "clients" not in ex.kinds:
        return []
    found = [c for c in ex.state.clients() if ex.builtins or not builtin_client(c)]
    return sorted(found, key=lambda c: c["clientId"])


class ClientKind(Kind):
    name = "client"
    title = "client"
    reads = ClientReads
    depends_on = ("realm-default-scope",)  # a new client takes the realm's default scopes as they are
    export_as = "clients"
    export_section = "clients"

    def export(self, ex: RealmExport) -> None:
        """The clients in the spec's names, with their scope attachments, roles and role scope."""
        out: dict[str, Any] = {}
        for client in exported_clients(ex):
            client_id = client["clientId"]
            entry: dict[str, Any] = {}
            for friendly, kc in FIELDS.items():
                value = client.get(kc)
                if value in (None, "", []) or (friendly == "protocol" and value == "openid-connect"):
                    continue
                entry[friendly] = value
            attributes = client.get("attributes") or {}
            for friendly, kc in ATTRIBUTES.items():
                if kc_bool(attributes.get(kc)) is not None:
                    entry[friendly] = kc_bool(attributes[kc])
            dropped: list[str] = []
            for kind in ("defaultClientScopes", "optionalClientScopes"):
                names = sorted(client.get(kind) or [])
                kept = [n for n in names if exportable_scope(ex, n)]
                dropped += [n for n in names if n not in kept]
                if kept:
                    entry[kind] = kept
            if dropped:
                ex.note(
                    f"client {client_id}: scope attachment(s) {', '.join(dropped)} left out: "
                    "those scopes are not in this export (add clientScopes to --kinds)"
                )
            roles = [r for r in ex.state.client_roles(client_id) if r.get("name")]
            if roles:
                entry["roles"] = roles_section(roles)
            role_scope = mapping_refs(ex.state.scope_mappings("client", client_id))
            if role_scope:
                entry["roleScope"] = role_scope
            out[client_id] = entry
        if out:
            ex.spec["clients"] = out

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for client_id, spec in (ctx.realm_spec.get("clients") or {}).items():
            resource = ctx.resource(self.name, (client_id,), client_fields(spec), "clients", client_id)
            if "secret" in spec:
                resource.secrets = {**resource.secrets, "secret": spec["secret"]}
            out.append(resource)
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        names = {r.key[0] for r in wanted}
        with_secret = {r.key[0] for r in wanted if "secret" in r.secrets}
        out = []
        for client in ctx.state.clients():
            owned = is_owned(client.get("attributes"))
            if client["clientId"] in names or owned:
                # Keycloak returns a confidential client's secret in clear; it is compared, never shown.
                declared = client["clientId"] in with_secret
                secrets = {"secret": ctx.state.client_secret(client) if declared else client.get("secret")}
                out.append(
                    Live(
                        (client["clientId"],),
                        client,
                        id=client["id"],
                        owned=owned,
                        secrets=secrets,
                        raw=client,
                    )
                )
        return out

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, client_id = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "clients", change.live.id))]
        assert change.resource
        fields = change.resource.fields
        body: dict[str, Any] = {"clientId": client_id, **fields, **change.resource.secrets}
        if change.action == "create":
            # Keycloak attaches the realm's default and optional scopes to the new client (the
            # client-scope-link kind moves a declared one from the other list: it knows both).
            body["attributes"] = {**fields.get("attributes", {}), OWNED_MARKER: "true"}
            find = Find((base, "clients"), {"clientId": client_id}, field="clientId", value=client_id)
            return [Call("POST", (base, "clients"), body, sets=("client", change.realm, client_id), find=find)]
        assert change.live
        if "attributes" in body:
            body["attributes"] = {**(change.live.raw.get("attributes") or {}), **body["attributes"]}
        return [Call("PUT", (base, "clients", change.live.id), body)]

    def simulate(self, view: PlannedView, change: Change) -> None:
        """A new client starts, as in Keycloak, with the realm's default scopes and full scope."""
        client_id = change.key[0]
        if change.action == "delete":
            view.clients.pop(client_id, None)
        elif change.resource is not None:
            new = {
                "clientId": client_id,
                "fullScopeAllowed": True,
                "defaultClientScopes": list(view.realm_default_scopes),
                "optionalClientScopes": [],
                "protocolMappers": [],
            }
            view.clients[client_id] = merge(view.clients.get(client_id) or new, change.resource.fields)
        view.touched = True

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        return key[0] in PROTECTED_CLIENTS or (realm == "master" and key[0].endswith("-realm"))

"""A client allowed to use an IdP through a client attribute pair (Keycloak 26.6+).

Two chains authorise per client rather than per user: the Identity Brokering API v2
(`external.token.enabled` + `external.token.idp`) and the JWT Authorization Grant
(`oauth2.jwt.authorization.grant.enabled` + `.idp`). The IdP list is one attribute with the
aliases joined by `##` (the admin console's multi-select; the server splits it), so one client may
hold aliases realmctl did not add: each (client, chain, alias) is a link, added and removed by a
read-modify-write of the client that keeps the other aliases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.chains import ATTRIBUTES
from realmctl.kinds.base import Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

SEPARATOR = "##"
WHAT = {"stored-tokens": "read stored tokens of", "jwt-grant": "accept JWT Authorization Grant assertions from"}


def aliases(attributes: dict[str, Any], chain: str) -> list[str]:
    value = attributes.get(ATTRIBUTES[chain][1]) or ""
    if isinstance(value, list):
        value = SEPARATOR.join(value)
    return [a for a in str(value).split(SEPARATOR) if a]


def allows(client: dict[str, Any] | None, chain: str, alias: str) -> bool:
    """Whether the client's attributes let it use `alias` for the chain (both attributes set)."""
    attributes = (client or {}).get("attributes") or {}
    return attributes.get(ATTRIBUTES[chain][0]) == "true" and alias in aliases(attributes, chain)


class ClientAccessKind(LinkKind):
    name = "client-access"
    title = "client access"
    depends_on = ("client", "identity-provider")

    def describe(self, key: Key) -> str:
        client, chain, alias = key
        return f"client {client} may {WHAT[chain]} identity provider {alias}"

    def desired(self, ctx: Context) -> list[Resource]:
        out: dict[Key, Resource] = {}
        for entry in ctx.realm_spec.get("_clientAccess") or []:
            key = (entry["client"], entry["chain"], entry["alias"])
            section = "storedTokens" if entry["chain"] == "stored-tokens" else "tokenExchange"
            resource = out.setdefault(key, ctx.resource(self.name, key, {}, section, entry["_entry"]))
            if entry.get("_intent"):
                resource.data["intent"] = entry["_intent"]
        return list(out.values())

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        return {} if allows(ctx.state.client(key[0]), key[1], key[2]) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        client, idp = ctx.state.client(key[0]), ctx.state.idp(key[2])
        return (client["id"], idp.get("internalId") or key[2]) if client and idp else None

    def _rewrite(self, state: RealmState, change: Change, add: bool) -> Ids | None:
        client_id, chain, alias = change.key
        switch, listing = ATTRIBUTES[chain]
        uuid = state.client_uuid(client_id)
        if uuid is None:
            raise LookupError(f"client {client_id} does not exist in realm {state.realm}")
        with state.lock(("client-attributes", client_id)):
            rep = state.api.get(f"{state.base}/clients/{uuid}")
            attributes = dict(rep.get("attributes") or {})
            listed = aliases(attributes, chain)
            if add and alias not in listed:
                listed.append(alias)
            if not add:
                listed = [a for a in listed if a != alias]
            # Keycloak removes a client attribute sent as "" (a key left out would be kept).
            attributes[listing] = SEPARATOR.join(listed)
            attributes[switch] = "true" if listed else ""
            rep["attributes"] = attributes
            state.api.put(f"{state.base}/clients/{uuid}", rep)
            state.remember_client(state.api.get(f"{state.base}/clients/{uuid}"))
        state.forget("idps")
        idp = state.idp(alias) or {}
        return (uuid, idp.get("internalId") or alias)

    def create(self, state: RealmState, change: Change) -> None:
        ids = self._rewrite(state, change, add=True)
        if ids:
            self.created(state, change.key, ids)

    def delete(self, state: RealmState, change: Change) -> None:
        self._rewrite(state, change, add=False)

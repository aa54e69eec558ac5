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

from realmctl.calls import Call
from realmctl.chains import ATTRIBUTES
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    pass

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
                resource.data = {**resource.data, "intent": entry["_intent"]}
        return list(out.values())

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        return {} if allows(ctx.state.client(key[0]), key[1], key[2]) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        client, idp = ctx.state.client(key[0]), ctx.state.idp(key[2])
        return (client["id"], idp.get("internalId") or key[2]) if client and idp else None

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.client(change.realm, change.key[0]), b.idp_id(change.realm, change.key[2]))

    def calls(self, change: Change, b: Build) -> list[Call]:
        """A write of the client's two attributes for the chain, holding the aliases the snapshot
        lists with every add and removal the plan makes on them: changes of one client in one
        step send the same body, so none undoes another; aliases added by hand stay. Keycloak
        removes a client attribute sent as "" (a key left out would be kept)."""
        client_id, chain, _ = change.key
        switch, listing = ATTRIBUTES[chain]
        live = b.state(change.realm).client(client_id) if change.realm in b.states else None
        listed = aliases((live or {}).get("attributes") or {}, chain)
        for c in b.of_kind(change.realm, self.name):
            if c.key[:2] == (client_id, chain):
                if c.action == "delete":
                    listed = [a for a in listed if a != c.key[2]]
                elif c.key[2] not in listed:
                    listed.append(c.key[2])
        attributes = {listing: SEPARATOR.join(listed), switch: "true" if listed else ""}
        body = {"clientId": client_id, "attributes": attributes}
        put = Call("PUT", (b.base(change.realm), "clients", b.client(change.realm, client_id)), body)
        # The record notes the provider's internal id; one this run creates is read for it.
        return [put, *(b.read_idp(change.realm, change.key[2]) if change.action == "create" else [])]

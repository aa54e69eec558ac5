"""Client scopes: name, protocol, description and the attributes declared (others left alone)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.kinds.base import Context, Kind, is_owned
from realmctl.kinds.convert import kc_map, kc_str
from realmctl.live import OWNED_MARKER, Reader
from realmctl.plan import Change, Live, Resource
from realmctl.planned import PlannedView, merge
from realmctl.spec.builtins import BUILTIN_SCOPES

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

ATTRIBUTES = {
    "includeInTokenScope": "include.in.token.scope",
    "displayOnConsentScreen": "display.on.consent.screen",
    "consentScreenText": "consent.screen.text",
}


class ClientScopeReads(Reader):
    """The realm's client scopes (one listing, with their protocol mappers) and ids by name."""

    def client_scopes(self) -> list[dict[str, Any]]:
        return self._list("client-scopes", "client-scopes")

    def scope(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.client_scopes() if s.get("name") == name), None)

    def scope_id(self, name: str) -> str | None:
        found = self.scope(name)
        return found["id"] if found else self.created_ids.get(("client-scope", name))


class ClientScopeKind(Kind):
    name = "client-scope"
    title = "client scope"
    reads = ClientScopeReads
    depends_on = ("realm",)

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for name, spec in (ctx.realm_spec.get("clientScopes") or {}).items():
            attributes = {kc: kc_str(spec[f]) for f, kc in ATTRIBUTES.items() if f in spec}
            attributes |= kc_map(spec.get("attributes"))
            fields: dict[str, Any] = {"protocol": spec.get("protocol", "openid-connect")}
            if "description" in spec:
                fields["description"] = spec["description"]
            if attributes:
                fields["attributes"] = attributes
            out.append(ctx.resource(self.name, (name,), fields, "clientScopes", name))
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        names = {r.key[0] for r in wanted}
        out = []
        for scope in ctx.state.client_scopes():
            attributes = scope.get("attributes") or {}
            if scope["name"] in names or is_owned(attributes):
                fields = {
                    "protocol": scope.get("protocol"),
                    "description": scope.get("description"),
                    "attributes": attributes,
                }
                out.append(Live((scope["name"],), fields, id=scope["id"], owned=is_owned(attributes), raw=scope))
        return out

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        fields = change.resource.fields
        body = {
            "name": change.key[0],
            **fields,
            "attributes": {**fields.get("attributes", {}), OWNED_MARKER: "true"},
        }
        name = change.key[0]

        def find() -> str | None:
            scopes = state.api.get(f"{state.base}/client-scopes") or []
            return next((s["id"] for s in scopes if s.get("name") == name), None)

        state.created_ids[("client-scope", name)] = state.api.create(f"{state.base}/client-scopes", body, find)

    def update(self, state: RealmState, change: Change) -> None:
        assert change.resource and change.live
        # Keycloak merges attributes key by key on PUT and ignores mappers in the body.
        body = {"name": change.key[0], **change.resource.fields}
        state.api.put(f"{state.base}/client-scopes/{change.live.id}", body)

    def delete(self, state: RealmState, change: Change) -> None:
        assert change.live
        state.api.delete(f"{state.base}/client-scopes/{change.live.id}")

    def simulate(self, view: PlannedView, change: Change) -> None:
        table = view.scopes
        name = change.key[0]
        if change.action == "delete":
            table.pop(name, None)
        elif change.resource is not None:
            table[name] = merge(table.get(name) or {"name": name, "protocolMappers": []}, change.resource.fields)
        view.touched = True

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        return key[0] in BUILTIN_SCOPES

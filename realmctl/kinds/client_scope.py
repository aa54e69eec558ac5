"""Client scopes: name, protocol, description and the attributes declared (others left alone)."""

from typing import Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import kc_map, kc_str
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource
from realmctl.planned import PlannedView, merge
from realmctl.spec.builtins import BUILTIN_SCOPES

ATTRIBUTES = {
    "includeInTokenScope": "include.in.token.scope",
    "displayOnConsentScreen": "display.on.consent.screen",
    "consentScreenText": "consent.screen.text",
}


class ClientScopeKind(Kind):
    name = "client-scope"
    title = "client scope"
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

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, name = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "client-scopes", change.live.id))]
        assert change.resource
        fields = change.resource.fields
        if change.action == "create":
            body = {"name": name, **fields, "attributes": {**fields.get("attributes", {}), OWNED_MARKER: "true"}}
            find = Find((base, "client-scopes"), value=name)
            return [Call("POST", (base, "client-scopes"), body, sets=("client-scope", change.realm, name), find=find)]
        assert change.live
        # Keycloak merges attributes key by key on PUT and ignores mappers in the body.
        return [Call("PUT", (base, "client-scopes", change.live.id), {"name": name, **fields})]

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

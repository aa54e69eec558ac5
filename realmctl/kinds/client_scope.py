"""Client scopes: name, protocol, description and the attributes declared (others left alone)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import kc_map, kc_str
from realmctl.kinds.inverse import RealmExport, clean_map, kc_bool, mapping_refs
from realmctl.kinds.mapper import friendly_mapper
from realmctl.live import OWNED_MARKER, Reader
from realmctl.plan import Change, Live, Resource
from realmctl.planned import PlannedView, merge
from realmctl.spec.builtins import BUILTIN_SCOPES

if TYPE_CHECKING:
    pass

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
        return found["id"] if found else None


def exported_scopes(ex: RealmExport) -> list[dict[str, Any]]:
    """The client scopes this export declares (sorted by name)."""
    if "clientScopes" not in ex.kinds:
        return []
    found = [s for s in ex.state.client_scopes() if ex.builtins or s["name"] not in BUILTIN_SCOPES]
    return sorted(found, key=lambda s: s["name"])


def exportable_scope(ex: RealmExport, name: str) -> bool:
    """Whether a scope reference resolves in the export (built in, or exported here)."""
    return name in BUILTIN_SCOPES or any(s["name"] == name for s in exported_scopes(ex))


class ClientScopeKind(Kind):
    name = "client-scope"
    title = "client scope"
    reads = ClientScopeReads
    depends_on = ("realm",)
    export_as = "clientScopes"
    export_section = "clientScopes"

    def export(self, ex: RealmExport) -> None:
        """The client scopes, with their protocol mappers (`friendly_mapper`) and role scope."""
        out: dict[str, Any] = {}
        for scope in exported_scopes(ex):
            protocol = scope.get("protocol") or "openid-connect"
            entry: dict[str, Any] = {}
            if protocol != "openid-connect":
                entry["protocol"] = protocol
            if scope.get("description"):
                entry["description"] = scope["description"]
            attributes = clean_map(scope.get("attributes"))
            for friendly, kc in ATTRIBUTES.items():
                if kc not in attributes:
                    continue
                value = attributes[kc] if friendly == "consentScreenText" else kc_bool(attributes[kc])
                if value is not None:
                    entry[friendly] = value
                    del attributes[kc]
            if attributes:
                entry["attributes"] = dict(sorted(attributes.items()))
            mappers = {
                m["name"]: friendly_mapper(m, protocol)
                for m in sorted(scope.get("protocolMappers") or [], key=lambda m: m["name"])
            }
            if mappers:
                entry["mappers"] = mappers
            role_scope = mapping_refs(ex.state.scope_mappings("scope", scope["name"]))
            if role_scope:
                entry["roleScope"] = role_scope
            out[scope["name"]] = entry
        if out:
            ex.spec["clientScopes"] = out

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

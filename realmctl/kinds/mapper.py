"""Protocol mappers of client scopes, with friendly forms for the common mapper types.

The User Client Role mapper for `broker` is the one that matters most: it must write
`resource_access.${client_id}.roles` into the *access* token, or the broker token endpoint
answers 403 although the user holds broker/read-token (SEMANTICS §4, §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import kc_map, kc_str
from realmctl.kinds.inverse import kc_bool
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, FieldChange, Live, Resource, field_changes
from realmctl.planned import PlannedView

if TYPE_CHECKING:
    pass


def owned_config(config: dict[str, str], owned: bool) -> dict[str, str]:
    return {**config, OWNED_MARKER: "true"} if owned else dict(config)


def full_config_changes(resource: Resource, live: Live) -> list[FieldChange]:
    """Field changes where `config` is compared whole (realmctl's marker aside)."""
    have = {k: v for k, v in (live.fields.get("config") or {}).items() if k != OWNED_MARKER}
    changes = field_changes({**live.fields, "config": have}, resource.fields)
    want = resource.fields.get("config") or {}
    changes += [FieldChange(f"config[{k}]", v, None) for k, v in sorted(have.items()) if k not in want]
    return sorted(changes, key=lambda c: c.path)


TYPES = {
    "user-client-role": "oidc-usermodel-client-role-mapper",
    "user-realm-role": "oidc-usermodel-realm-role-mapper",
    "audience": "oidc-audience-mapper",
    "audience-resolve": "oidc-audience-resolve-mapper",
    "hardcoded-claim": "oidc-hardcoded-claim-mapper",
    "user-attribute": "oidc-usermodel-attribute-mapper",
}
#: Token switches: friendly name -> config key, and the default realmctl writes explicitly.
SWITCHES = {
    "accessToken": ("access.token.claim", True),
    "idToken": ("id.token.claim", False),
    "userinfo": ("userinfo.token.claim", False),
    "introspection": ("introspection.token.claim", True),
    "lightweight": ("lightweight.claim", False),
}


def mapper_config(spec: dict[str, Any]) -> dict[str, str]:
    """The Keycloak config of a friendly mapper declaration."""
    kind = spec.get("type")
    config: dict[str, Any] = {}
    if kind in ("user-client-role", "user-realm-role"):
        default_claim = "resource_access.${client_id}.roles" if kind == "user-client-role" else "realm_access.roles"
        config["claim.name"] = spec.get("claimName", default_claim)
        config["jsonType.label"] = spec.get("jsonType", "String")
        config["multivalued"] = spec.get("multivalued", True)
        if kind == "user-client-role" and spec.get("client"):
            config["usermodel.clientRoleMapping.clientId"] = spec["client"]
        prefix_key = (
            "usermodel.clientRoleMapping.rolePrefix"
            if kind == "user-client-role"
            else ("usermodel.realmRoleMapping.rolePrefix")
        )
        if spec.get("rolePrefix"):
            config[prefix_key] = spec["rolePrefix"]
    elif kind == "audience":
        config["included.client.audience"] = spec.get("client", "")
    elif kind == "hardcoded-claim":
        config |= {"claim.name": spec.get("claimName", ""), "claim.value": spec.get("claimValue", "")}
        config["jsonType.label"] = spec.get("jsonType", "String")
    elif kind == "user-attribute":
        config |= {"user.attribute": spec.get("userAttribute", ""), "claim.name": spec.get("claimName", "")}
        config["jsonType.label"] = spec.get("jsonType", "String")
    if kind:
        for friendly, (key, default) in SWITCHES.items():
            if kind == "audience-resolve" and friendly not in ("accessToken", "introspection"):
                continue
            config[key] = spec.get(friendly, default)
    else:
        config |= {SWITCHES[f][0]: spec[f] for f in SWITCHES if f in spec}
    return kc_map(config) | {k: kc_str(v) for k, v in (spec.get("config") or {}).items()}


def friendly_mapper(mapper: dict[str, Any], scope_protocol: str) -> dict[str, Any]:
    """A protocol mapper in the friendly `type` form when that reproduces its config exactly,
    else in the raw `protocolMapper` + `config` form (which always does)."""
    config = {k: v for k, v in (mapper.get("config") or {}).items() if k != OWNED_MARKER}
    kind = {v: k for k, v in TYPES.items()}.get(mapper.get("protocolMapper", ""))
    out: dict[str, Any] = {}
    if kind is not None:
        candidate: dict[str, Any] = {"type": kind}
        names = {
            "client": ("usermodel.clientRoleMapping.clientId", "included.client.audience"),
            "rolePrefix": ("usermodel.clientRoleMapping.rolePrefix", "usermodel.realmRoleMapping.rolePrefix"),
            "claimName": ("claim.name",),
            "claimValue": ("claim.value",),
            "userAttribute": ("user.attribute",),
            "jsonType": ("jsonType.label",),
            "multivalued": ("multivalued",),
        }
        for friendly, keys in names.items():
            for key in keys:
                if key in config:
                    value = kc_bool(config[key]) if friendly == "multivalued" else config[key]
                    if value is not None:
                        candidate[friendly] = value
        for friendly, (key, _default) in SWITCHES.items():
            if kc_bool(config.get(key)) is not None:
                candidate[friendly] = kc_bool(config[key])
        extras = {k: v for k, v in config.items() if k not in mapper_config(candidate)}
        if extras:
            candidate["config"] = extras
        if mapper_config(candidate) == config:
            # Drop what the defaults already give, so the export reads like a hand-written spec.
            for name in [k for k in candidate if k not in ("type", "config")]:
                trial = {k: v for k, v in candidate.items() if k != name}
                if mapper_config(trial) == config:
                    candidate = trial
            out = candidate
    if not out:
        out = {"protocolMapper": mapper.get("protocolMapper", ""), "config": config}
    protocol = mapper.get("protocol") or "openid-connect"
    if protocol != scope_protocol:
        out["protocol"] = protocol
    return out


class MapperKind(Kind):
    name = "protocol-mapper"
    title = "protocol mapper"
    depends_on = ("client-scope",)

    def describe(self, key: tuple[str, ...]) -> str:
        return f"protocol mapper {key[1]!r} of client scope {key[0]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for scope, scope_spec in (ctx.realm_spec.get("clientScopes") or {}).items():
            for name, spec in (scope_spec.get("mappers") or {}).items():
                fields = {
                    "protocol": spec.get("protocol", scope_spec.get("protocol", "openid-connect")),
                    "protocolMapper": TYPES.get(spec.get("type", ""), spec.get("protocolMapper", "")),
                    "config": mapper_config(spec),
                }
                out.append(ctx.resource(self.name, (scope, name), fields, "clientScopes", scope, "mappers", name))
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        keys = {r.key for r in wanted}
        out = []
        for scope in ctx.state.client_scopes():
            for mapper in scope.get("protocolMappers") or []:
                key = (scope["name"], mapper["name"])
                config = mapper.get("config") or {}
                if key in keys or is_owned(config):
                    fields = {k: mapper.get(k) for k in ("protocol", "protocolMapper")} | {"config": config}
                    out.append(Live(key, fields, id=mapper["id"], owned=is_owned(config), raw=mapper))
        return out

    def compare(self, resource: Resource, live: Live) -> list[FieldChange]:
        """A declared mapper's config is complete: keys it does not produce are removed."""
        return full_config_changes(resource, live)

    def calls(self, change: Change, b: Build) -> list[Call]:
        scope, name = change.key
        path = (b.base(change.realm), "client-scopes", b.scope(change.realm, scope), "protocol-mappers", "models")
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (*path, change.live.id))]
        assert change.resource
        fields = change.resource.fields
        if change.action == "create":
            body = {"name": name, **fields, "config": {**fields["config"], OWNED_MARKER: "true"}}
            sets = ("protocol-mapper", change.realm, scope, name)
            return [Call("POST", path, body, sets=sets, find=Find(path, value=name))]
        assert change.live
        # The server rebuilds the mapper from the body: send all of it, with its id.
        body = {
            **change.live.raw,
            **{k: v for k, v in fields.items() if k != "config"},
            "config": owned_config(fields["config"], change.live.owned),
        }
        return [Call("PUT", (*path, change.live.id), body)]

    def simulate(self, view: PlannedView, change: Change) -> None:
        scope_name, name = change.key
        scope = view.scopes.get(scope_name)
        if scope is None:
            return
        mappers = [m for m in scope.get("protocolMappers") or [] if m.get("name") != name]
        if change.action != "delete" and change.resource is not None:
            mappers.append({"name": name, **change.resource.fields})
        view.scopes[scope_name] = {**scope, "protocolMappers": mappers}
        view.touched = True

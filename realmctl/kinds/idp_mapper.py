"""Identity provider mappers (raw Keycloak form), keyed by IdP alias and mapper name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find, Ref
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import kc_map
from realmctl.kinds.idp import IdpReads
from realmctl.kinds.mapper import full_config_changes, owned_config
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, FieldChange, Live, Resource

if TYPE_CHECKING:
    pass


class IdpMapperReads(IdpReads):
    """An identity provider's mappers (one read per IdP)."""

    def idp_mappers(self, alias: str) -> list[dict[str, Any]]:
        if self.idp(alias) is None:
            return []
        path = f"{self.base}/identity-provider/instances/{seg(alias)}/mappers"
        return self._once(("idp-mappers", alias), lambda: self.api.get(path) or [])


class IdpMapperKind(Kind):
    name = "idp-mapper"
    title = "identity provider mapper"
    reads = IdpMapperReads
    depends_on = ("identity-provider",)
    # Recorded (with the mapper's id) so that mappers of IdPs that no longer declare any are found
    # without a read per IdP; ownership itself is the marker in the mapper's config.
    recorded = True

    def describe(self, key: tuple[str, ...]) -> str:
        return f"mapper {key[1]!r} of identity provider {key[0]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for alias, idp in (ctx.realm_spec.get("identityProviders") or {}).items():
            for name, spec in (idp.get("mappers") or {}).items():
                config = kc_map(spec.get("config"))
                if "syncMode" in spec:
                    config["syncMode"] = spec["syncMode"]
                fields = {"identityProviderMapper": spec["identityProviderMapper"], "config": config}
                out.append(ctx.resource(self.name, (alias, name), fields, "identityProviders", alias, "mappers", name))
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        keys = {r.key for r in wanted}
        recorded = ctx.state.recorded(self.name)
        aliases = {k[0] for k in keys} | {k[0] for k in recorded}
        out = []
        for alias in sorted(aliases):
            for mapper in ctx.state.idp_mappers(alias):
                key = (alias, mapper["name"])
                config = mapper.get("config") or {}
                if key in keys or is_owned(config):
                    fields: dict[str, Any] = {
                        "identityProviderMapper": mapper.get("identityProviderMapper"),
                        "config": config,
                    }
                    out.append(Live(key, fields, id=mapper.get("id"), owned=is_owned(config), raw=mapper))
        mine = {live.key: live.id for live in out if live.owned and live.id}
        for entry in recorded:  # entries of mappers that are gone, or re-made by hand, are dropped
            ctx.state.locate(self.name, entry, (mine[entry],) if entry in mine else None)
        return out

    def compare(self, resource: Resource, live: Live) -> list[FieldChange]:
        """A declared mapper's config is complete: keys it does not hold are removed."""
        return full_config_changes(resource, live)

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (Ref(("idp-mapper", change.realm, *change.key)),)

    def calls(self, change: Change, b: Build) -> list[Call]:
        alias, name = change.key
        path = (b.base(change.realm), "identity-provider", "instances", seg(alias), "mappers")
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (*path, change.live.id))]
        assert change.resource
        fields = change.resource.fields
        if change.action == "create":
            config = {**fields["config"], OWNED_MARKER: "true"}
            body = {"name": name, "identityProviderAlias": alias, **fields, "config": config}
            sets = ("idp-mapper", change.realm, alias, name)
            return [Call("POST", path, body, sets=sets, find=Find(path, value=name))]
        assert change.live
        config = owned_config(fields["config"], change.live.owned)
        return [Call("PUT", (*path, change.live.id), {**change.live.raw, **fields, "config": config})]

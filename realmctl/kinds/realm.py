"""The realm itself: ensured to exist with the declared top-level fields. Never deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.kinds.base import Context, Kind
from realmctl.kinds.inverse import RealmExport
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState


#: The realm's own fields realmctl manages, by their Keycloak (and spec) names.
FIELDS = ("displayName", "enabled")


class RealmKind(Kind):
    name = "realm"
    title = "realm"
    depends_on = ()
    export_as = "realm"
    export_section = "displayName"

    def export(self, ex: RealmExport) -> None:
        """The realm's own fields."""
        rep = ex.state.realm_rep() or {}
        if "realm" in ex.kinds:
            if rep.get("displayName"):
                ex.spec["displayName"] = rep["displayName"]
            if isinstance(rep.get("enabled"), bool):
                ex.spec["enabled"] = rep["enabled"]

    def desired(self, ctx: Context) -> list[Resource]:
        spec = ctx.realm_spec
        fields: dict[str, Any] = {k: spec[k] for k in FIELDS if k in spec}
        if spec.get("attributes"):
            fields["attributes"] = dict(spec["attributes"])
        return [ctx.resource(self.name, (ctx.realm,), fields)]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        rep = ctx.state.realm_rep()
        if rep is None:
            return []
        fields = {k: rep.get(k) for k in FIELDS} | {"attributes": rep.get("attributes") or {}}
        return [Live((ctx.realm,), fields, id=rep.get("id"), raw=rep)]

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        fields = change.resource.fields
        body = {"realm": state.realm, "enabled": True, **fields}
        body["attributes"] = {**fields.get("attributes", {}), OWNED_MARKER: "true"}
        state.api.create("admin/realms", body, lambda: (state.api.get_or_none(state.base) or {}).get("realm"))
        state.created_ids[("realm",)] = state.realm
        state.forget("realm")

    def update(self, state: RealmState, change: Change) -> None:
        assert change.resource and change.live
        body: dict[str, Any] = {"realm": state.realm}
        for name, value in change.resource.fields.items():
            if name == "attributes":
                body["attributes"] = {**(change.live.raw.get("attributes") or {}), **value}
            else:
                body[name] = value
        state.api.put(state.base, body)
        state.forget("realm")

    def delete(self, state: RealmState, change: Change) -> None:
        raise AssertionError("realmctl never deletes a realm")

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        """A realm is never deleted by realmctl: too much goes with it."""
        return True

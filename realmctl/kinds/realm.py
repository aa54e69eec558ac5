"""The realm itself: ensured to exist with the declared top-level fields. Never deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind
from realmctl.kinds.inverse import RealmExport
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource

if TYPE_CHECKING:
    pass


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

    def calls(self, change: Change, b: Build) -> list[Call]:
        assert change.action != "delete", "realmctl never deletes a realm"
        assert change.resource
        fields = change.resource.fields
        realm = change.realm
        if change.action == "create":
            body = {"realm": realm, "enabled": True, **fields}
            body["attributes"] = {**fields.get("attributes", {}), OWNED_MARKER: "true"}
            find = Find((b.base(realm),), field=None, id="realm")
            return [Call("POST", ("admin", "realms"), body, find=find)]
        assert change.live
        body2: dict[str, Any] = {"realm": realm}
        for name, value in fields.items():
            if name == "attributes":
                body2["attributes"] = {**(change.live.raw.get("attributes") or {}), **value}
            else:
                body2[name] = value
        return [Call("PUT", (b.base(realm),), body2)]

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        """A realm is never deleted by realmctl: too much goes with it."""
        return True

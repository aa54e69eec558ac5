"""The realm itself: ensured to exist with the declared top-level fields. Never deleted."""

from typing import Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource


class RealmKind(Kind):
    name = "realm"
    title = "realm"
    depends_on = ()

    def desired(self, ctx: Context) -> list[Resource]:
        spec = ctx.realm_spec
        fields: dict[str, Any] = {k: spec[k] for k in ("displayName", "enabled") if k in spec}
        if spec.get("attributes"):
            fields["attributes"] = dict(spec["attributes"])
        return [ctx.resource(self.name, (ctx.realm,), fields)]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        rep = ctx.state.realm_rep()
        if rep is None:
            return []
        fields = {k: rep.get(k) for k in ("displayName", "enabled")} | {"attributes": rep.get("attributes") or {}}
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

"""Top-level groups declared in the spec (targets of role grants and memberships)."""

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource


class GroupKind(Kind):
    name = "group"
    title = "group"
    depends_on = ("realm",)

    def desired(self, ctx: Context) -> list[Resource]:
        return [
            ctx.resource(self.name, (g,), {}, "groups", i) for i, g in enumerate(ctx.realm_spec.get("groups") or [])
        ]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        names = {r.key[0] for r in wanted}
        return [
            Live((g["name"],), {}, id=g["id"], owned=is_owned(g.get("attributes")), raw=g)
            for g in ctx.state.groups()
            if g["name"] in names or is_owned(g.get("attributes"))
        ]

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, name = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "groups", change.live.id))]
        assert change.action == "create", "groups have no managed fields"
        find = Find((base, "groups"), {"search": name, "exact": "true", "briefRepresentation": "true"}, value=name)
        body = {"name": name, "attributes": {OWNED_MARKER: ["true"]}}
        return [Call("POST", (base, "groups"), body, sets=("group", change.realm, name), find=find)]

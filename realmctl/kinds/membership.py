"""Group memberships of declared users (`users.<name>.groups`)."""

from typing import Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource


class MembershipKind(LinkKind):
    name = "membership"
    title = "group membership"
    depends_on = ("user", "group")

    def describe(self, key: Key) -> str:
        return f"user {key[0]} in group {key[1]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for username, spec in (ctx.realm_spec.get("users") or {}).items():
            for i, group in enumerate(spec.get("groups") or []):
                out.append(ctx.resource(self.name, (username.lower(), group), {}, "users", username, "groups", i))
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        return {} if key[0] in ctx.state.group_member_ids(key[1]) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        user = ctx.state.group_member_ids(key[1]).get(key[0])
        group = ctx.state.group_id(key[1])
        return (user, group) if user and group else None

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.user(change.realm, change.key[0]), b.group(change.realm, change.key[1]))

    def calls(self, change: Change, b: Build) -> list[Call]:
        user, group = self.record_ids(change, b) or ()
        path = (b.base(change.realm), "users", user, "groups", group)
        return [Call("DELETE" if change.action == "delete" else "PUT", path)]

"""A user's federated-identity link to an IdP, made by realmctl for the JWT Authorization Grant.

The grant never creates users: it finds the realm user linked to the assertion's IdP with `userId`
= the assertion's `sub` (realm B's user id), else answers 400 "User not found". realmctl links the
declared users, finding realm B's user by username or e-mail when it writes the link (B's user may
be created in the same run). A link whose `userId` no longer matches B's user is made again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Ref
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState


def source_user(state: RealmState, realm: str, name: str) -> dict[str, Any] | None:
    """Realm `realm`'s user named `name` (an e-mail when it holds `@`), exact match; read once, by
    gather (`FederatedLinkKind.prepare`), through the target realm's reader."""
    field = "email" if "@" in name else "username"
    path = f"admin/realms/{seg(realm)}/users"
    # None (404) while the source realm is still to be created in this run.
    found = state._once(
        ("source-user", realm, name), lambda: state.api.get_or_none(path, **{field: name, "exact": "true"})
    )
    return found[0] if found and len(found) == 1 else None


class FederatedLinkKind(LinkKind):
    name = "federated-identity"
    title = "federated identity"
    depends_on = ("user", "identity-provider")

    def describe(self, key: Key) -> str:
        return f"user {key[0]} linked to identity provider {key[1]}"

    def prepare(self, ctx: Context) -> None:
        """The source users the links name (desired finds them in the reader's cache)."""
        for entry in ctx.realm_spec.get("_federatedLinks") or []:
            source_user(ctx.state, entry["sourceRealm"], entry["sourceUser"])

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for entry in ctx.realm_spec.get("_federatedLinks") or []:
            key = (entry["user"], entry["alias"])
            found = source_user(ctx.state, entry["sourceRealm"], entry["sourceUser"])
            fields = {"userId": found["id"], "userName": found["username"]} if found else {}
            resource = ctx.resource(self.name, key, fields, "tokenExchange", entry["_entry"], "users")
            resource.data = {**resource.data, "source": (entry["sourceRealm"], entry["sourceUser"])}
            if entry.get("_intent"):
                resource.data = {**resource.data, "intent": entry["_intent"]}
            out.append(resource)
        return out

    def _links(self, state: RealmState, username: str) -> list[dict[str, Any]]:
        uid = state.user_id(username)
        if uid is None:
            return []
        path = f"{state.base}/users/{uid}/federated-identity"
        return state._once(("federated", uid), lambda: state.api.get(path) or [])

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        link = next((x for x in self._links(ctx.state, key[0]) if x.get("identityProvider") == key[1]), None)
        return {"userId": link.get("userId"), "userName": link.get("userName")} if link else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        uid, live = ctx.state.user_id(key[0]), self.present(ctx, key)
        return (uid, live["userId"]) if uid and live and live.get("userId") else None

    def _source_id(self, change: Change, b: Build) -> tuple[Any, str]:
        """Realm B's user (id, username): found by gather, or the user this run creates there."""
        assert change.resource
        if change.resource.fields.get("userId"):
            return change.resource.fields["userId"], change.resource.fields["userName"]
        realm, name = change.resource.data["source"]
        username = name.lower()
        if "@" in name:  # an e-mail: the user the spec declares with it
            for c in b.of_kind(realm, "user"):
                email = str(c.resource.fields.get("email", "")).lower() if c.resource else ""
                if email == username:
                    username = c.key[0]
        return Ref(("user", realm, username)), username

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.user(change.realm, change.key[0]), self._source_id(change, b)[0])

    def calls(self, change: Change, b: Build) -> list[Call]:
        user, alias = change.key
        path = (b.base(change.realm), "users", b.user(change.realm, user), "federated-identity", seg(alias))
        unlink = Call("DELETE", path)
        if change.action == "delete":
            return [unlink]
        uid, username = self._source_id(change, b)
        link = Call("POST", path, {"identityProvider": alias, "userId": uid, "userName": username})
        # Keycloak has no update for links: a link to another realm-B user is unlinked, linked again.
        return [link] if change.action == "create" else [unlink, link]

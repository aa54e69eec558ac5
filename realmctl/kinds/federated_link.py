"""A user's federated-identity link to an IdP, made by realmctl for the JWT Authorization Grant.

The grant never creates users: it finds the realm user linked to the assertion's IdP with `userId`
= the assertion's `sub` (realm B's user id), else answers 400 "User not found". realmctl links the
declared users, finding realm B's user by username or e-mail when it writes the link (B's user may
be created in the same run). A link whose `userId` no longer matches B's user is made again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.keycloak.session import seg
from realmctl.kinds.base import Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState


def source_user(state: RealmState, realm: str, name: str) -> dict[str, Any] | None:
    """Realm `realm`'s user named `name` (an e-mail when it holds `@`), exact match."""
    field = "email" if "@" in name else "username"
    # None (404) while the source realm is still to be created in this run.
    found = state.api.get_or_none(f"admin/realms/{seg(realm)}/users", **{field: name, "exact": "true"}) or []
    return found[0] if len(found) == 1 else None


class FederatedLinkKind(LinkKind):
    name = "federated-identity"
    title = "federated identity"
    depends_on = ("user", "identity-provider")

    def describe(self, key: Key) -> str:
        return f"user {key[0]} linked to identity provider {key[1]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for entry in ctx.realm_spec.get("_federatedLinks") or []:
            key = (entry["user"], entry["alias"])
            found = source_user(ctx.state, entry["sourceRealm"], entry["sourceUser"])
            fields = {"userId": found["id"], "userName": found["username"]} if found else {}
            resource = ctx.resource(self.name, key, fields, "tokenExchange", entry["_entry"], "users")
            resource.data["source"] = (entry["sourceRealm"], entry["sourceUser"])
            if entry.get("_intent"):
                resource.data["intent"] = entry["_intent"]
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

    def _path(self, state: RealmState, change: Change) -> str:
        uid = state.user_id(change.key[0])
        if uid is None:
            raise LookupError(f"user {change.key[0]} does not exist in realm {state.realm}")
        return f"{state.base}/users/{uid}/federated-identity/{seg(change.key[1])}"

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        realm, name = change.resource.data["source"]
        found = source_user(state, realm, name)
        if found is None:
            raise LookupError(f"realm {realm} has no user {name} (by {'e-mail' if '@' in name else 'username'})")
        body = {"identityProvider": change.key[1], "userId": found["id"], "userName": found["username"]}
        state.api.post(self._path(state, change), body)
        self.created(state, change.key, (state.user_id(change.key[0]) or "", found["id"]))

    def update(self, state: RealmState, change: Change) -> None:
        """A link to another realm-B user: Keycloak has no update for links, so unlink, link again."""
        state.api.delete(self._path(state, change))
        self.create(state, change)

    def delete(self, state: RealmState, change: Change) -> None:
        state.api.delete(self._path(state, change))

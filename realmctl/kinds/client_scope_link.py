"""Client scopes attached to clients as default or optional. Attachments not declared stay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.kinds.base import Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource
from realmctl.planned import PlannedView

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

PATHS = {"default": "default-client-scopes", "optional": "optional-client-scopes"}


class ClientScopeLinkKind(LinkKind):
    name = "client-scope-link"
    title = "client scope attachment"
    depends_on = ("client", "client-scope")

    def describe(self, key: Key) -> str:
        return f"client scope {key[1]} on client {key[0]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for client_id, spec in (ctx.realm_spec.get("clients") or {}).items():
            for kind, field in (("default", "defaultClientScopes"), ("optional", "optionalClientScopes")):
                for i, scope in enumerate(spec.get(field) or []):
                    out.append(
                        ctx.resource(self.name, (client_id, scope), {"type": kind}, "clients", client_id, field, i)
                    )
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        client = ctx.state.client(key[0])
        if client is None:
            return None
        if key[1] in (client.get("defaultClientScopes") or []):
            return {"type": "default"}
        if key[1] in (client.get("optionalClientScopes") or []):
            return {"type": "optional"}
        return None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        client, scope = ctx.state.client(key[0]), ctx.state.scope(key[1])
        return (client["id"], scope["id"]) if client and scope else None

    def _path(self, state: RealmState, change: Change, kind: str) -> str:
        client, scope = change.key
        return f"{state.base}/clients/{state.client_uuid(client)}/{PATHS[kind]}/{state.scope_id(scope)}"

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        kind = change.resource.fields["type"]
        other = "optional" if kind == "default" else "default"
        client = state.client(change.key[0]) or {}
        if change.key[1] in (client.get(f"{other}ClientScopes") or []):
            # Attached in the other list by Keycloak when the client was created: move it.
            state.api.delete(self._path(state, change, other))
        state.api.put(self._path(state, change, kind), None)
        cuuid, sid = state.client_uuid(change.key[0]), state.scope_id(change.key[1])
        if cuuid and sid:
            self.created(state, change.key, (cuuid, sid))

    def update(self, state: RealmState, change: Change) -> None:
        # Keycloak ignores a PUT for a scope already attached in the other list: detach first.
        assert change.live
        state.api.delete(self._path(state, change, change.live.fields["type"]))
        self.create(state, change)

    def delete(self, state: RealmState, change: Change) -> None:
        assert change.live
        state.api.delete(self._path(state, change, change.live.fields["type"]))

    def simulate(self, view: PlannedView, change: Change) -> None:
        client_id, scope = change.key
        client = view.clients.get(client_id)
        if client is None:
            return
        lists = {k: [s for s in client.get(f"{k}ClientScopes") or [] if s != scope] for k in PATHS}
        if change.action != "delete" and change.resource is not None:
            lists[change.resource.fields["type"]].append(scope)
        view.clients[client_id] = {**client, **{f"{k}ClientScopes": v for k, v in lists.items()}}
        view.touched = True

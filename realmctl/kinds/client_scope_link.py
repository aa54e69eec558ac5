"""Client scopes attached to clients as default or optional. Attachments not declared stay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource
from realmctl.planned import PlannedView
from realmctl.spec.builtins import NEW_REALM_SCOPES

if TYPE_CHECKING:
    pass

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

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.client(change.realm, change.key[0]), b.scope(change.realm, change.key[1]))

    def read_for_calls(self, ctx: Context, creates: list[Key], deletes: list[Key]) -> None:
        """A link of a client this run creates, in a realm that exists, is built from the realm's
        default and optional scope lists (`_others`: Keycloak attaches those to a new client)."""
        if ctx.state.realm_rep() is not None and any(ctx.state.client(key[0]) is None for key in creates):
            ctx.state.realm_default_scopes()
            ctx.state.realm_optional_scopes()

    def _others(self, change: Change, b: Build, kind: str) -> list[str]:
        """The scopes in the client's other list when this change runs: the snapshot's, or for a
        client this run creates, the realm's defaults of that kind (Keycloak attaches them),
        as the plan leaves them."""
        other = "optional" if kind == "default" else "default"
        client = b.state(change.realm).client(change.key[0])
        if client is not None:
            return list(client.get(f"{other}ClientScopes") or [])
        state = b.state(change.realm)
        if b.new_realm(change.realm):
            names: set[Any] = set(NEW_REALM_SCOPES[other])
        else:
            listed = state.realm_optional_scopes() if other == "optional" else state.realm_default_scopes()
            names = {s.get("name") for s in listed}
        for c in b.of_kind(change.realm, "realm-default-scope"):
            names.discard(c.key[0])
            if c.action != "delete" and c.resource is not None and c.resource.fields["type"] == other:
                names.add(c.key[0])
        return sorted(n for n in names if n)

    def calls(self, change: Change, b: Build) -> list[Call]:
        client, scope = change.key
        path = (b.base(change.realm), "clients", b.client(change.realm, client))
        sid = b.scope(change.realm, scope)
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (*path, PATHS[change.live.fields["type"]], sid))]
        assert change.resource
        kind = change.resource.fields["type"]
        other = "optional" if kind == "default" else "default"
        out = []
        if change.action == "update":
            # Keycloak ignores a PUT for a scope already attached in the other list: detach first.
            assert change.live
            out.append(Call("DELETE", (*path, PATHS[change.live.fields["type"]], sid)))
        elif scope in self._others(change, b, kind):
            out.append(Call("DELETE", (*path, PATHS[other], sid)))  # attached there by Keycloak: move it
        out.append(Call("PUT", (*path, PATHS[kind], sid)))
        return out

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

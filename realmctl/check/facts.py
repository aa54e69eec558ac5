"""Live facts the rules reason over, read once each through the shared `RealmState`."""

from typing import Any

from realmctl.keycloak.session import seg
from realmctl.kinds import RealmState

CLIENT_ROLE_MAPPER = "oidc-usermodel-client-role-mapper"
BROKER_CLAIMS = ("resource_access.${client_id}.roles", "resource_access.broker.roles")
LIGHTWEIGHT = "client.use.lightweight.access.token.enabled"


class Facts:
    """One realm's live state as the chain rules need it."""

    def __init__(self, state: RealmState) -> None:
        self.state = state
        self.api = state.api
        self.base = state.base

    def _once(self, key: Any, path: str, **params: Any) -> Any:
        return self.state._once(key, lambda: self.api.get_or_none(path, **params))

    def user(self, username: str) -> dict[str, Any] | None:
        return self.state.users([username]).get(username.lower())

    def effective_client_roles(self, username: str, client_id: str) -> set[str]:
        """Roles of `client_id` a user holds directly, through groups or through composites."""
        user, uuid = self.user(username), self.state.client_uuid(client_id)
        if user is None or uuid is None:
            return set()
        path = f"{self.base}/users/{user['id']}/role-mappings/clients/{uuid}/composite"
        return {r["name"] for r in self._once(("eff", username, client_id), path) or []}

    def links(self, username: str) -> set[str]:
        """Aliases of the IdPs a user is linked to."""
        user = self.user(username)
        if user is None:
            return set()
        path = f"{self.base}/users/{user['id']}/federated-identity"
        return {link["identityProvider"] for link in self._once(("links", username), path) or []}

    def composites(self, role: dict[str, Any]) -> list[dict[str, Any]]:
        if not role.get("composite"):
            return []
        path = f"{self.base}/roles-by-id/{role['id']}/composites"
        return self._once(("composites", role["id"]), path) or []

    def scope_allows(self, owner: str, name: str, container: str, role: str) -> bool:
        """Whether a client's or client scope's role scope mappings include a role (composites too)."""
        mappings = self.state.scope_mappings(owner, name)
        roles = list(mappings.get("realmMappings") or [])
        for client, entry in (mappings.get("clientMappings") or {}).items():
            roles += [{**r, "_client": client} for r in entry.get("mappings") or []]
        seen: set[str] = set()
        while roles:
            r = roles.pop()
            if r.get("id") in seen:
                continue
            seen.add(r.get("id", ""))
            owner_name = r.get("_client") or ("realm" if not r.get("clientRole") else None)
            if r.get("name") == role and (owner_name == container or (owner_name is None and container != "realm")):
                return True
            roles.extend(self.composites(r))
        return False

    def client_scopes(self, client_id: str, kind: str) -> list[dict[str, Any]]:
        """The client's default (kind "default") or optional scopes, as full scope representations."""
        client = self.state.client(client_id) or {}
        names = client.get("defaultClientScopes" if kind == "default" else "optionalClientScopes") or []
        return [s for s in self.state.client_scopes() if s["name"] in names]

    def discovery(self, realm: str) -> dict[str, Any]:
        """The realm's OpenID discovery document: the issuer and JWKS URL its tokens really carry."""
        path = f"realms/{seg(realm)}/.well-known/openid-configuration"
        return self._once(("discovery", realm), path) or {}

    def fgap(self, target: str, name: str) -> dict[str, Any]:
        try:
            return self.state.fgap_ref(target, name)
        except Exception:  # 501 when FGAP v1 is not the active version
            return {"enabled": False}

    def policies_on(self, permission_id: str) -> list[dict[str, Any]]:
        return self.state.associated(permission_id)

    def policy(self, policy_id: str) -> dict[str, Any] | None:
        path = f"{self.state.authz()}/policy/{policy_id}"
        return self._once(("policy", policy_id), path)

    def client_secret(self, client_id: str) -> str | None:
        uuid = self.state.client_uuid(client_id)
        if uuid is None:
            return None
        body = self._once(("secret", client_id), f"{self.base}/clients/{uuid}/client-secret") or {}
        value: str | None = body.get("value")
        return value

    def idp(self, alias: str) -> dict[str, Any] | None:
        return self.state.idp(alias)

    def idp_path(self, alias: str) -> str:
        return f"{self.base}/identity-provider/instances/{seg(alias)}"

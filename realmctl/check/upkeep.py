"""Rules for keeping stored tokens useful after the first login."""

from realmctl import capabilities
from realmctl.capabilities import Capabilities
from realmctl.check.broker import chain_clients, chain_users, token_idps
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding
from realmctl.spec.model import Spec

REFRESHING_PROVIDERS = {"oidc", "microsoft", "google"}


def check_realm(spec: Spec, realm: str, facts: Facts) -> list[Finding]:
    out: list[Finding] = []
    rs = spec.realms[realm]
    for alias in rs.get("identityProviders") or {}:
        live = facts.idp(alias)
        if live is None or not live.get("storeToken") or live.get("providerId") not in REFRESHING_PROVIDERS:
            continue
        scopes = (live.get("config") or {}).get("defaultScope", "").split()
        if "offline_access" not in scopes:
            out.append(
                Finding(
                    "warning",
                    "upkeep.no-refresh-token",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} does not ask for offline_access, so most OIDC providers "
                    "(Microsoft Entra ID among them) return no refresh token; the stored access token expires "
                    f"(about an hour for Entra ID) and {after_expiry(capabilities.if_read(facts.api), realm, alias)}",
                    f"identityProviders:\n  {alias}:\n    config:\n"
                    "      defaultScope: openid profile email offline_access",
                    spec.where("realms", realm, "identityProviders", alias),
                )
            )
    out.extend(account_linking(spec, realm, facts))
    return out


def after_expiry(caps: Capabilities | None, realm: str, alias: str) -> str:
    """What the server does with an expired stored token that has no refresh token, observed on
    26.7.3 (upstream access tokens of 10 s, the upstream client with `use.refresh.tokens` off or on):
    since 26.4 Keycloak refreshes an expired stored token itself when it holds a refresh token (v1
    and v2 alike: 200 with a new token); without one the v1 GET answers 200 with the expired token
    and the v2 POST 400 token_expired. Before 26.4 it never refreshed. `caps` is None when the run
    has not read serverinfo (`plan`, which must not ask for it just for this text)."""
    if caps is None:
        return (
            f"GET /realms/{realm}/broker/{alias}/token keeps returning it as it was, expired (the v2 POST answers "
            '400 token_expired "linked token is expired"); Keycloak 26.4+ refreshes a stored token itself only '
            "when the IdP returned a refresh token"
        )
    if caps.broker_api == "v2":
        return (
            f'POST /realms/{realm}/broker/{alias}/token then answers 400 token_expired "linked token is '
            'expired" (with a refresh token Keycloak would refresh it itself)'
        )
    if caps.at_least(26, 4):
        return (
            f"GET /realms/{realm}/broker/{alias}/token keeps returning it as it was, expired (Keycloak "
            f"{caps.version} refreshes a stored token itself only when the IdP returned a refresh token)"
        )
    which = caps.version if caps.version[:1].isdigit() else "before 26.4"
    return (
        f"GET /realms/{realm}/broker/{alias}/token keeps returning it as it was, expired; with a refresh "
        f"token in the stored answer the application could refresh it at the IdP (Keycloak {which} does "
        "not; 26.4+ does it itself)"
    )


LINKING_ROLES = ("manage-account", "manage-account-links")


def account_linking(spec: Spec, realm: str, facts: Facts) -> list[Finding]:
    """Client-initiated account linking re-establishes stored tokens once they are stale; it needs
    account/manage-account (or manage-account-links) held by the user and in the client's scope."""
    rs = spec.realms[realm]
    idps = list(token_idps(rs))
    if not idps:
        return []
    out = []
    for client_id, client in chain_clients(rs, facts):
        in_scope = client.get("fullScopeAllowed", True) or any(
            facts.scope_allows("client", client_id, "account", r)
            or any(
                facts.scope_allows("scope", s["name"], "account", r) for s in facts.client_scopes(client_id, "default")
            )
            for r in LINKING_ROLES
        )
        if not in_scope:
            out.append(
                Finding(
                    "info",
                    "upkeep.account-linking-scope",
                    realm,
                    f"client {client_id}",
                    f"client {client_id} cannot start account linking (the way to store fresh tokens from "
                    f"{', '.join(idps)}): account/manage-account-links is not in its role scope",
                    f"clients:\n  {client_id}:\n    roleScope:\n      clients:\n"
                    "        account: [manage-account-links]",
                    spec.where("realms", realm, "clients", client_id),
                )
            )
        for username in chain_users(rs):
            if facts.user(username) is None:
                continue
            if not set(LINKING_ROLES) & facts.effective_client_roles(username, "account"):
                out.append(
                    Finding(
                        "info",
                        "upkeep.account-linking-role",
                        realm,
                        f"user {username}",
                        f"user {username} holds neither account/manage-account nor manage-account-links, so they "
                        "cannot re-link an identity provider to store fresh tokens",
                        f"roleGrants:\n  - users: [{username}]\n    clientRoles:\n"
                        "      account: [manage-account-links]",
                        spec.where("realms", realm, "users", username),
                    )
                )
    return out

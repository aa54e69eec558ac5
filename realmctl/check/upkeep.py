"""Rules for keeping stored tokens useful after the first login."""

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
                    "(about an hour for Entra ID) and Keycloak keeps returning it as it was",
                    f"identityProviders:\n  {alias}:\n    config:\n"
                    "      defaultScope: openid profile email offline_access",
                    spec.where("realms", realm, "identityProviders", alias),
                )
            )
    return out

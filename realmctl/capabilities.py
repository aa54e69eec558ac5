"""What the server in front of realmctl can run, read once per run from `GET /admin/serverinfo`.

Keycloak reports each feature by its enum name, with `enabled` and (when deprecated) `deprecated:
true`; the version of a versioned feature is only in the name (`IDENTITY_BROKERING_API_V1` / `_V2`,
`ADMIN_FINE_GRAINED_AUTHZ` / `_V2`), observed on 26.7.3 (docs/keycloak-26.7-facts.md §1). A server
older than these names (no `IDENTITY_BROKERING_API_*` entry at all) has the v1 broker API only.
"""

from dataclasses import dataclass
from typing import Any

from realmctl.keycloak.session import Api

BROKER_V1 = "IDENTITY_BROKERING_API_V1"
BROKER_V2 = "IDENTITY_BROKERING_API_V2"
JWT_GRANT = "JWT_AUTHORIZATION_GRANT"
TOKEN_EXCHANGE_V1 = "TOKEN_EXCHANGE"
STANDARD_EXCHANGE = "TOKEN_EXCHANGE_STANDARD_V2"
FGAP_V1 = "ADMIN_FINE_GRAINED_AUTHZ"
FGAP_V2 = "ADMIN_FINE_GRAINED_AUTHZ_V2"

#: The `--features` value that switches each feature on (the one to name in a plan error).
FLAGS = {
    BROKER_V1: "identity-brokering-api:v1",
    BROKER_V2: "identity-brokering-api:v2",
    JWT_GRANT: "jwt-authorization-grant",
    TOKEN_EXCHANGE_V1: "token-exchange",
    FGAP_V1: "admin-fine-grained-authz:v1",
}


@dataclass(frozen=True)
class Capabilities:
    """The server's version and feature switches, as serverinfo reports them."""

    version: str
    enabled: frozenset[str]
    known: frozenset[str]
    deprecated: frozenset[str]

    def on(self, feature: str) -> bool:
        return feature in self.enabled

    @property
    def broker_api(self) -> str:
        """ "v2" when the Identity Brokering API v2 is on (it turns v1 off), else "v1" (also on
        servers that predate the feature names), or "none" when a server reports v1 off and v2 off."""
        if self.on(BROKER_V2):
            return "v2"
        if BROKER_V1 in self.known and not self.on(BROKER_V1):
            return "none"
        return "v1"

    @property
    def legacy_exchange(self) -> bool:
        """Legacy token exchange (v1) with fine-grained admin permissions v1: what the
        `keycloak-oidc` IdP + permission + client policy chain needs."""
        return self.on(TOKEN_EXCHANGE_V1) and self.on(FGAP_V1)

    @property
    def jwt_grant(self) -> bool:
        return self.on(JWT_GRANT)

    def at_least(self, major: int, minor: int) -> bool:
        """Whether the server is Keycloak major.minor or later (False when the version is unknown)."""
        parts = self.version.split(".")
        try:
            return (int(parts[0]), int(parts[1])) >= (major, minor)
        except (IndexError, ValueError):
            return False

    def state(self, *features: str) -> str:
        """`NAME on, NAME off` for the features named, for messages."""
        return ", ".join(f"{f} {'on' if self.on(f) else 'off'}" for f in features)


def from_serverinfo(info: dict[str, Any]) -> Capabilities:
    features = [f for f in info.get("features") or [] if isinstance(f, dict) and f.get("name")]
    version = str((info.get("systemInfo") or {}).get("version") or "unknown")
    return Capabilities(
        version=version,
        enabled=frozenset(f["name"] for f in features if f.get("enabled")),
        known=frozenset(f["name"] for f in features),
        deprecated=frozenset(f["name"] for f in features if f.get("deprecated")),
    )


def if_read(api: Api) -> Capabilities | None:
    """The capabilities when this run already read serverinfo, else None: for texts that are
    better with the version but must not cost `plan` a request."""
    info = getattr(api, "_serverinfo", None)
    return from_serverinfo(info) if isinstance(info, dict) else None


def read(api: Api) -> Capabilities:
    """The capabilities of `api`'s server (serverinfo is fetched once per run by `Api`)."""
    return from_serverinfo(api.serverinfo())

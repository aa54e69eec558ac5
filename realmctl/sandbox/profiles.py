"""Server feature profiles, reported through `GET /admin/serverinfo` as Keycloak does (SEMANTICS §8).

`keycloak-26` is a default 26.2+ server (standard token exchange v2, FGAP v2); `legacy-exchange`
is started with `--features=token-exchange,admin-fine-grained-authz:v1`, which also switches FGAP
v2 off because both versions share one feature key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = "26.7.3"  # the release whose answers the sandbox is measured against (docs/fidelity.md)


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    type: str
    dependencies: tuple[str, ...] = ()


#: Features realmctl looks at, with Keycloak's enum names, labels and types.
FEATURES: tuple[Feature, ...] = (
    Feature("AUTHORIZATION", "Authorization Service", "DEFAULT"),
    Feature("ACCOUNT_V3", "Account Console version 3", "DEFAULT"),
    Feature("ADMIN_FINE_GRAINED_AUTHZ", "Fine-Grained Admin Permissions", "PREVIEW", ("AUTHORIZATION",)),
    Feature(
        "ADMIN_FINE_GRAINED_AUTHZ_V2",
        "Fine-Grained Admin Permissions version 2",
        "DEFAULT",
        ("AUTHORIZATION",),
    ),
    Feature("CLIENT_POLICIES", "Client configuration policies", "DEFAULT"),
    Feature("DYNAMIC_SCOPES", "Dynamic OAuth 2.0 scopes", "EXPERIMENTAL"),
    Feature("ORGANIZATION", "Organization support within realms", "DEFAULT"),
    Feature("SCRIPTS", "Write custom authenticators using JavaScript", "PREVIEW"),
    Feature("STEP_UP_AUTHENTICATION", "Step-up Authentication", "DEFAULT"),
    Feature("TOKEN_EXCHANGE", "Token Exchange Service", "PREVIEW"),
    Feature("TOKEN_EXCHANGE_STANDARD_V2", "Standard Token Exchange version 2", "DEFAULT"),
    Feature("TOKEN_EXCHANGE_EXTERNAL_INTERNAL_V2", "External to Internal Token Exchange version 2", "EXPERIMENTAL"),
)


@dataclass(frozen=True)
class Profile:
    """A named set of enabled features."""

    name: str
    enabled: frozenset[str]

    def has(self, feature: str) -> bool:
        return feature in self.enabled

    @property
    def fgap_v1(self) -> bool:
        return self.has("ADMIN_FINE_GRAINED_AUTHZ")

    def features(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "enabled": f.name in self.enabled,
                "dependencies": list(f.dependencies),
            }
            for f in FEATURES
        ]

    def profile_info(self) -> dict[str, Any]:
        return {
            "name": "default",
            "disabledFeatures": [f.name for f in FEATURES if f.name not in self.enabled],
            "previewFeatures": [f.name for f in FEATURES if f.type.startswith("PREVIEW")],
            "experimentalFeatures": [f.name for f in FEATURES if f.type == "EXPERIMENTAL"],
        }


_DEFAULT_ON = frozenset(f.name for f in FEATURES if f.type == "DEFAULT")

PROFILES: dict[str, Profile] = {
    "keycloak-26": Profile("keycloak-26", _DEFAULT_ON),
    "legacy-exchange": Profile(
        "legacy-exchange",
        (_DEFAULT_ON - {"ADMIN_FINE_GRAINED_AUTHZ_V2"}) | {"TOKEN_EXCHANGE", "ADMIN_FINE_GRAINED_AUTHZ"},
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile; unknown names are a usage error listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r} (known: {', '.join(sorted(PROFILES))})") from None

"""Server feature profiles, reported through `GET /admin/serverinfo` as Keycloak does (SEMANTICS §8).

`keycloak-26` is a default 26.7.3 server (standard token exchange v2, FGAP v2); `legacy-exchange`
is started with `--features=token-exchange,admin-fine-grained-authz:v1`, which also switches FGAP
v2 off because both versions share one feature key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realmctl.sandbox.features_data import FEATURES_26_7_3

VERSION = "26.7.3"  # the release whose answers the sandbox is measured against (docs/fidelity.md)


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    type: str
    dependencies: tuple[str, ...] = ()
    deprecated: bool = False


#: Every 26.7.3 feature, with Keycloak's enum names, labels and types (features_data.py).
FEATURES: tuple[Feature, ...] = tuple(
    Feature(name, label, type_, deps, deprecated) for name, label, type_, deps, deprecated in FEATURES_26_7_3
)


@dataclass(frozen=True)
class Profile:
    """A named set of enabled features."""

    name: str
    enabled: frozenset[str]
    catalogue: tuple[Feature, ...] = FEATURES

    def has(self, feature: str) -> bool:
        return feature in self.enabled

    @property
    def fgap_v1(self) -> bool:
        return self.has("ADMIN_FINE_GRAINED_AUTHZ")

    def features(self) -> list[dict[str, Any]]:
        out = []
        for f in self.catalogue:
            entry: dict[str, Any] = {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                **({"deprecated": True} if f.deprecated else {}),
                "dependencies": list(f.dependencies),
                "enabled": f.name in self.enabled,
            }
            if f.deprecated:
                entry["deprecated"] = True
            out.append(entry)
        return out

    def profile_info(self) -> dict[str, Any]:
        return {
            "name": "default",
            "disabledFeatures": [f.name for f in self.catalogue if f.name not in self.enabled],
            "previewFeatures": [f.name for f in self.catalogue if f.type.startswith("PREVIEW")],
            "experimentalFeatures": [f.name for f in self.catalogue if f.type == "EXPERIMENTAL"],
        }


_DEFAULT_ON = frozenset(f.name for f in FEATURES if f.type == "DEFAULT")

PROFILES: dict[str, Profile] = {
    "keycloak-26": Profile("keycloak-26", _DEFAULT_ON),
    "legacy-exchange": Profile(
        "legacy-exchange",
        (_DEFAULT_ON - {"ADMIN_FINE_GRAINED_AUTHZ_V2"}) | {"TOKEN_EXCHANGE", "ADMIN_FINE_GRAINED_AUTHZ"},
    ),
    # Keycloak 26.7 with --features=jwt-authorization-grant,identity-brokering-api:v2 (v2 turns v1 off).
    "modern": Profile(
        "modern",
        (_DEFAULT_ON - {"IDENTITY_BROKERING_API_V1"}) | {"IDENTITY_BROKERING_API_V2", "JWT_AUTHORIZATION_GRANT"},
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile; unknown names are a usage error listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r} (known: {', '.join(sorted(PROFILES))})") from None

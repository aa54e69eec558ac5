"""The core fixtures' scenarios: which spec is planned against which server state.

Between them they create, update and delete objects of every registered kind (tests/core checks
that: a new kind needs a scenario here). Realm names are fixed, so a re-recording differs only
where behaviour did.
"""

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "IDP_SECRET": "core-idp-secret",
    "APP_SECRET": "core-app-secret",
    "ALICE_PASSWORD": "core-alice-password",
}


@dataclass
class Scenario:
    name: str
    about: str
    spec: dict[str, Any]
    before: dict[str, Any] | None = None  # applied to the sandbox first
    profile: str = "keycloak-26"
    env: dict[str, str] = field(default_factory=lambda: dict(SECRETS))


def stored() -> dict[str, Any]:
    """Every kind of the stored-token chain in one realm (as tests/engine/test_apply.py's spec)."""
    from tests.engine.test_apply import base_spec

    spec: dict[str, Any] = base_spec("core")
    return spec


def stored_changed() -> dict[str, Any]:
    """The stored-token realm with one edit of each kind: updates, and removals that delete."""
    spec = stored()
    realm = spec["realms"]["core"]
    realm["displayName"] = "Apps (renamed)"
    realm["roles"] = ["reader", "auditor"]
    realm["groups"] = ["staff", "ops"]
    idp = realm["identityProviders"]["azure"]
    idp["storeToken"] = False
    idp["mappers"]["tenant"]["config"]["attribute.value"] = "fabrikam"
    scope = realm["clientScopes"]["broker_read_token"]
    scope["includeInTokenScope"] = False
    scope["mappers"]["broker roles"]["accessToken"] = False
    scope["roleScope"] = {"clients": {}}
    realm["optionalClientScopes"] = []
    app = realm["clients"]["my-app"]
    app["description"] = "changed"
    app["defaultClientScopes"] = []
    app["roles"] = ["viewer", "editor"]
    app["roleScope"] = {"realm": []}
    realm["users"]["alice"]["groups"] = []
    realm["users"].pop("bob")
    realm["roleGrants"] = [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}]
    return spec


def exchange() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "cross-realm-exchange.yaml").read_text())
    return spec


def exchange_changed() -> dict[str, Any]:
    spec = exchange()
    entry = spec["realms"]["realm-a"]["tokenExchange"]["from-realm-b"]
    spec["realms"]["realm-a"]["clients"]["realm-a-api"] = {"publicClient": False, "bearerOnly": True}
    entry["audiences"] = ["realm-a-api"]
    entry["impersonation"] = not entry.get("impersonation", False)
    return spec


def modern() -> dict[str, Any]:
    """Both 26.6+ variants (a `modern` server): stored tokens through the v2 client attributes and
    cross-realm acceptance through the JWT Authorization Grant, with a pre-linked user."""
    from tests.e2e.test_modern_chains import jwt_spec

    spec = jwt_spec("core-a", "core-b")
    realm = spec["realms"]["core-a"]
    realm["identityProviders"] = {"up": {"providerId": "oidc", "config": {"clientId": "x"}}}
    realm["storedTokens"] = {"app-reads-up": {"identityProvider": "up", "clients": ["a-app"]}}
    return spec


def modern_changed() -> dict[str, Any]:
    """The same after apply with both entries gone: what they made is deleted (attributes, link)."""
    spec = modern()
    realm = spec["realms"]["core-a"]
    del realm["storedTokens"], realm["tokenExchange"]
    return spec


def profile(policy: str) -> dict[str, Any]:
    """A user with an attribute the default user profile does not declare, kept by the policy."""
    user = {"email": "alice@example.org", "attributes": {"team": "blue"}}
    realm = {"userProfile": {"unmanagedAttributePolicy": policy}, "users": {"alice": user}}
    return {"version": 1, "realms": {"core-profile": realm}}


def profile_changed() -> dict[str, Any]:
    """The policy changed after apply, and a second user whose create comes after it."""
    spec = profile("ENABLED")
    spec["realms"]["core-profile"]["users"]["bob"] = {"attributes": {"team": "red"}}
    return spec


def stored_no_realm_scopes() -> dict[str, Any]:
    """The stored-token realm without realm-level default/optional scope lists in the spec."""
    spec = stored()
    spec["realms"]["core"].pop("optionalClientScopes", None)
    spec["realms"]["core"].pop("defaultClientScopes", None)
    return spec


def stored_interrupted() -> dict[str, Any]:
    """What an interrupted first apply can leave: the realm and its roles and scopes, no client yet.
    The clients' scope links are then built from the realm's own default and optional lists, which
    no other kind reads when the spec declares none (a plan failed on that read once)."""
    spec = stored_no_realm_scopes()
    realm = spec["realms"]["core"]
    for key in ("clients", "users", "roleGrants"):
        realm.pop(key, None)
    return spec


SCENARIOS = [
    Scenario("stored-empty", "the stored-token realm planned against an empty server", stored()),
    Scenario("stored-applied", "the same spec after apply: nothing to do", stored(), before=stored()),
    Scenario("stored-changed", "one edit of each kind after apply", stored_changed(), before=stored()),
    Scenario(
        "stored-interrupted",
        "the whole spec over a realm an interrupted first apply left without clients",
        stored_no_realm_scopes(),
        before=stored_interrupted(),
    ),
    Scenario("exchange-empty", "cross-realm exchange against an empty server", exchange(), profile="legacy-exchange"),
    Scenario(
        "exchange-changed",
        "an audience and impersonation added after apply",
        exchange_changed(),
        before=copy.deepcopy(exchange()),
        profile="legacy-exchange",
    ),
    Scenario("modern-empty", "the 26.6+ variants against an empty modern server", modern(), profile="modern"),
    Scenario(
        "modern-changed",
        "both 26.6+ entries removed after apply",
        modern_changed(),
        before=modern(),
        profile="modern",
    ),
    Scenario("profile-empty", "a user profile policy and a user attribute on an empty server", profile("ADMIN_EDIT")),
    Scenario(
        "profile-changed",
        "the policy changed after apply, a user added",
        profile_changed(),
        before=profile("ADMIN_EDIT"),
    ),
]

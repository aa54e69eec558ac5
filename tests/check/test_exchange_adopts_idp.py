"""A tokenExchange entry naming an identity provider that already exists adopts it (issue #17):
Keycloak never saves a providerId change, so rewriting oidc -> keycloak-oidc never converged, and
storeToken was switched off meanwhile. One that trusts another issuer is a plan error."""

from pathlib import Path
from typing import Any

import yaml

from tests.helpers import Admin, env_for, realmctl, unique


def spec_for(a: str, b: str, alias: str) -> dict[str, Any]:
    return {
        "version": 1,
        "realms": {
            b: {"clients": {"b-client": {"publicClient": False, "secret": "b-secret", "directAccessGrants": True}}},
            a: {
                "clients": {"a-client": {"publicClient": False, "secret": "a-secret"}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "b-client"},
                        "identityProvider": alias,
                        "clients": ["a-client"],
                    }
                },
            },
        },
    }


def hand_made_idp(admin: Admin, url: str, a: str, alias: str, issuer: str) -> None:
    """The identity provider as someone made it in the console: plain oidc, storing tokens."""
    admin.post("admin/realms", {"realm": a, "enabled": True})
    body = {
        "alias": alias,
        "providerId": "oidc",
        "displayName": "Partner realm",
        "storeToken": True,
        "config": {
            "clientId": "b-client",
            "issuer": issuer,
            "authorizationUrl": f"{issuer}/protocol/openid-connect/auth",
            "tokenUrl": f"{issuer}/protocol/openid-connect/token",
        },
    }
    admin.post(f"admin/realms/{a}/identity-provider/instances", body)


def test_an_existing_identity_provider_is_adopted_not_rewritten(legacy_keycloak: Any, tmp_path: Path) -> None:
    server = legacy_keycloak
    admin = Admin(server.url, server.admin_user, server.admin_password)
    a, b = unique("ada"), unique("adb")
    hand_made_idp(admin, server.url, a, "partner", f"{server.url}/realms/{b}")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec_for(a, b, "partner")))
    env = env_for(server.url, server.admin_user, server.admin_password)
    try:
        applied = realmctl("apply", "--yes", str(path), env=env)
        assert applied.code == 0, applied.all
        assert "did not converge" not in applied.all
        idp = admin.get(f"admin/realms/{a}/identity-provider/instances/partner")
        assert (idp["providerId"], idp["storeToken"], idp["displayName"]) == ("oidc", True, "Partner realm")
        assert idp["config"]["validateSignature"] == "true"
        assert realmctl("plan", "--detailed-exitcode", str(path), env=env).code == 0
    finally:
        for realm in (a, b):
            admin.call("DELETE", f"admin/realms/{realm}")


def test_an_existing_identity_provider_of_another_issuer_is_a_plan_error(legacy_keycloak: Any, tmp_path: Path) -> None:
    server = legacy_keycloak
    admin = Admin(server.url, server.admin_user, server.admin_password)
    a, b = unique("ada"), unique("adb")
    hand_made_idp(admin, server.url, a, "azure", "https://login.example/tenant/v2.0")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec_for(a, b, "azure")))
    env = env_for(server.url, server.admin_user, server.admin_password)
    try:
        planned = realmctl("plan", str(path), env=env)
        assert planned.code == 1
        assert (
            "identity provider 'azure' already exists (oidc, trusting https://login.example/tenant/v2.0)" in planned.err
        )
        idp = admin.get(f"admin/realms/{a}/identity-provider/instances/azure")
        assert (idp["providerId"], idp["storeToken"]) == ("oidc", True)
    finally:
        for realm in (a, b):
            admin.call("DELETE", f"admin/realms/{realm}")

"""The seed scenario end to end: a realm where alice is already linked to `azure` and `my-app`
exists; before apply the broker token endpoint refuses her, after `realmctl apply
examples/stored-tokens.yaml` and another brokered login it returns exactly the stored token."""

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.helpers import ROOT, Admin, env_for, realmctl, unique

pytestmark = pytest.mark.sandbox_only  # uses the sandbox's simulated brokered login

UPSTREAM = {
    "access_token": "upstream-at-2",
    "refresh_token": "upstream-rt-2",
    "token_type": "Bearer",
    "expires_in": 3600,
}


def token(url: str, realm: str, username: str, password: str) -> requests.Response:
    return requests.post(
        f"{url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "my-app",
            "client_secret": "my-app-secret",
            "username": username,
            "password": password,
        },
        timeout=30,
    )


def broker_token(url: str, realm: str, access: str) -> requests.Response:
    return requests.get(
        f"{url}/realms/{realm}/broker/azure/token", headers={"Authorization": f"Bearer {access}"}, timeout=30
    )


def example_for(realm: str, tmp_path: Path) -> Path:
    """examples/stored-tokens.yaml as it is, pointed at `realm`."""
    spec = yaml.safe_load((ROOT / "examples" / "stored-tokens.yaml").read_text())
    spec["realms"] = {realm: spec["realms"]["apps"]}
    path = tmp_path / "stored-tokens.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("full_scope", [True, False], ids=["fullScopeAllowed", "fullScopeAllowed=false"])
def test_seed_scenario(keycloak: Any, tmp_path: Path, full_scope: bool) -> None:
    url = keycloak.url
    admin = Admin(url, keycloak.admin_user, keycloak.admin_password)
    realm = unique("apps")
    base = f"admin/realms/{realm}"
    # The realm as a team left it: IdP without stored tokens, my-app, alice linked by an earlier login.
    admin.post("admin/realms", {"realm": realm, "enabled": True})
    admin.post(
        f"{base}/identity-provider/instances",
        {
            "alias": "azure",
            "providerId": "oidc",
            "enabled": True,
            "config": {
                "clientId": "app-registration",
                "clientSecret": "x",
                "authorizationUrl": "https://login.example/a",
                "tokenUrl": "https://login.example/t",
            },
        },
    )
    admin.post(
        f"{base}/clients",
        {
            "clientId": "my-app",
            "publicClient": False,
            "secret": "my-app-secret",
            "directAccessGrantsEnabled": True,
            "fullScopeAllowed": full_scope,
        },
    )
    login = f"sandbox/realms/{realm}/broker/azure/login"
    first = admin.post(
        login,
        {
            "username": "alice",
            "subject": "alice-oid",
            "email": "alice@example.com",
            "token": {"access_token": "upstream-at-1", "token_type": "Bearer"},
        },
    ).json()
    assert first["created"] is True
    admin.put(
        f"{base}/users/{first['userId']}/reset-password", {"type": "password", "value": "alice-pw", "temporary": False}
    )

    before = broker_token(url, realm, token(url, realm, "alice", "alice-pw").json()["access_token"])
    assert before.status_code == 403
    assert before.json() == {
        "errorMessage": "Client [my-app] not authorized to retrieve tokens from identity provider [azure]."
    }

    env = env_for(url, keycloak.admin_user, keycloak.admin_password)
    applied = realmctl("apply", "--yes", str(example_for(realm, tmp_path)), env=env)
    assert applied.code == 0, applied.all
    assert "+ role broker/read-token granted to user alice" in applied.out

    again = admin.post(login, {"username": "alice", "subject": "alice-oid", "token": UPSTREAM}).json()
    assert again["created"] is False
    after = broker_token(url, realm, token(url, realm, "alice", "alice-pw").json()["access_token"])
    assert after.status_code == 200, after.text
    body = after.json()
    body.pop("accessTokenExpiration", None)  # Keycloak adds it when it stores the response
    assert body == UPSTREAM
    assert realmctl("plan", "--detailed-exitcode", str(example_for(realm, tmp_path)), env=env).code == 0

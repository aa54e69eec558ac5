"""#16: a saved snapshot plans offline (`plan --save-snapshot FILE`, then `plan --snapshot FILE`).

The offline plan must be the plan the server gave when the snapshot was saved, made with no server
and no credentials, and the file must hold no secret: canary values for a declared client secret,
an IdP secret, a password and a secret Keycloak generated never reach it.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

import json
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import Admin, env_for, realmctl, unique

APP_SECRET = "canary-app-5e1c7a"
IDP_SECRET = "canary-idp-9b2f40"
PASSWORD = "canary-pw-77d3e1"


def stored_spec(realm: str) -> dict[str, Any]:
    return {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {
                    "azure": {
                        "providerId": "oidc",
                        "storeToken": True,
                        "config": {"clientId": "x", "clientSecret": "${env:IDP_SECRET}", "tokenUrl": "https://t/x"},
                    }
                },
                "clients": {"my-app": {"publicClient": False, "secret": "${env:APP_SECRET}"}},
                "users": {
                    "alice": {"initialPassword": "${env:ALICE_PASSWORD}"},
                    "bob": {"email": "bob@example.com"},
                },
                "roleGrants": [{"users": ["alice", "bob"], "clientRoles": {"broker": ["read-token"]}}],
            }
        },
    }


def offline_env() -> dict[str, str]:
    """No server and no credentials: the offline plan cannot reach anything."""
    return {"APP_SECRET": APP_SECRET, "IDP_SECRET": IDP_SECRET, "ALICE_PASSWORD": PASSWORD, "NO_COLOR": "1"}


def write(tmp: Path, body: dict[str, Any]) -> str:
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return str(path)


def test_a_saved_snapshot_plans_offline_as_the_server_did(keycloak: Any, tmp_path: Path) -> None:
    realm = unique("snap")
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    env = {**env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password), **offline_env()}
    spec = stored_spec(realm)
    try:
        assert realmctl("apply", "--yes", write(tmp_path, spec), env=env).code == 0
        # Edits that give updates, a delete, a secret change and a record write.
        spec["realms"][realm]["clients"]["my-app"]["description"] = "edited"
        spec["realms"][realm]["users"].pop("bob")
        path = write(tmp_path, spec)
        env["IDP_SECRET"] = IDP_SECRET + "-rotated"
        snapshot = str(tmp_path / "snapshot.json")
        online = realmctl("plan", path, "--format", "json", "--save-snapshot", snapshot, env=env)
        assert online.code == 0, online.all
        shown = json.loads(online.out)
        assert {c["kind"] for c in shown["changes"]} >= {"client", "user", "identity-provider", "ownership-record"}

        saved = Path(snapshot).read_text()
        for secret in (APP_SECRET, IDP_SECRET, IDP_SECRET + "-rotated", PASSWORD, keycloak.admin_password + '"'):
            assert secret not in saved, f"{secret} in the snapshot file"

        admin.call("DELETE", f"admin/realms/{realm}")  # the server moves on; the snapshot does not
        offline = realmctl(
            "plan",
            path,
            "--format",
            "json",
            "--snapshot",
            snapshot,
            env={**offline_env(), "IDP_SECRET": IDP_SECRET + "-rotated"},
        )
        assert offline.code == 0, offline.all
        assert "planning offline from the snapshot" in offline.err
        assert json.loads(offline.out) == shown
    finally:
        admin.call("DELETE", f"admin/realms/{realm}")


def test_a_snapshot_plan_keeps_the_generated_secret_out_and_still_matches(legacy_keycloak: Any, tmp_path: Path) -> None:
    """An exchange IdP holds the secret Keycloak generated for its source client: the snapshot keeps
    only whether they match, and the offline plan of the applied spec is empty, as online."""
    kc = legacy_keycloak
    a, b = unique("snap-a"), unique("snap-b")
    admin = Admin(kc.url, kc.admin_user, kc.admin_password)
    env = env_for(kc.url, kc.admin_user, kc.admin_password)
    spec = {
        "version": 1,
        "realms": {
            b: {"clients": {"b-client": {"publicClient": False}}},
            a: {
                "clients": {"a-client": {"publicClient": False}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "b-client"},
                        "identityProvider": b,
                        "clients": ["a-client"],
                    }
                },
            },
        },
    }
    try:
        path = write(tmp_path, spec)
        applied = realmctl("apply", "--yes", path, env=env)
        assert applied.code == 0, applied.all
        generated = admin.client(b, "b-client")["secret"]
        snapshot = str(tmp_path / "snapshot.json")
        online = realmctl("plan", path, "--detailed-exitcode", "--save-snapshot", snapshot, env=env)
        assert online.code == 0, online.all
        assert generated not in Path(snapshot).read_text()
        offline = realmctl("plan", path, "--detailed-exitcode", "--snapshot", snapshot, env={"NO_COLOR": "1"})
        assert offline.code == 0, offline.all
        assert "No changes" in offline.out
    finally:
        for realm in (a, b):
            admin.call("DELETE", f"admin/realms/{realm}")


def test_a_spec_that_needs_more_than_the_snapshot_holds_is_told_so(keycloak: Any, tmp_path: Path) -> None:
    realm = unique("snap")
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    snapshot = str(tmp_path / "snapshot.json")
    spec = {"version": 1, "realms": {realm: {"clients": {"web": {"publicClient": True}}}}}
    assert realmctl("plan", write(tmp_path, spec), "--save-snapshot", snapshot, env=env).code == 0
    spec["realms"]["other-" + realm] = {}
    result = realmctl("plan", write(tmp_path, spec), "--snapshot", snapshot, env={"NO_COLOR": "1"})
    assert result.code == 1
    assert f"does not hold GET /admin/realms/other-{realm}" in result.all
    assert "save it again with this spec" in result.all

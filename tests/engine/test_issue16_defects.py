"""Defects of issue #16 item 6, each found by trying as a user would: a plan file made from a
relative spec path, secret fingerprints and re-sending secrets, and where `source` points.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Admin, env_for, realmctl, unique

CANARY = "canary-7d1e44-secret"


class Realm:
    """A unique realm on the test server, and the environment realmctl runs with."""

    def __init__(self, keycloak: Any) -> None:
        self.name = unique("defects")
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)


@pytest.fixture
def realm(keycloak: Any) -> Iterator[Realm]:
    made = Realm(keycloak)
    yield made
    made.admin.call("DELETE", f"admin/realms/{made.name}")  # the servers are shared


def test_a_plan_file_made_from_a_relative_spec_path_applies(
    realm: Realm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`realmctl plan examples/x.yaml --out p.json` then `realmctl apply p.json`, as the README
    writes it: nothing changed in between, so the plan is applied (it was refused as stale)."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "apps.yaml").write_text(
        f"version: 1\nrealms:\n  {realm.name}:\n    clients:\n      web:\n        publicClient: true\n"
    )
    monkeypatch.chdir(tmp_path)
    planned = realmctl("plan", "specs/apps.yaml", "--out", "p.json", env=realm.env)
    assert planned.code == 0, planned.all
    assert json.loads(Path("p.json").read_text())["changes"][0]["source"]["file"] == "specs/apps.yaml"
    applied = realmctl("apply", "p.json", env=realm.env)
    assert applied.code == 0, applied.all
    assert "Apply complete: 2 change(s) applied" in applied.out
    assert realm.admin.client(realm.name, "web") is not None


MULTILINE = """\
version: 1
realms:
  {realm}:
    clients:
      web:
        publicClient: false
        secret:
          ${{env:WEB_SECRET}}
        description: |
          A long
          description
"""


def test_plan_sources_point_at_the_value_where_it_stands_below_its_key(realm: Realm, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(MULTILINE.format(realm=realm.name))
    result = realmctl("plan", "--format", "json", str(spec), env={**realm.env, "WEB_SECRET": CANARY})
    assert result.code == 0, result.all
    assert CANARY not in result.all
    client = next(c for c in json.loads(result.out)["changes"] if c["kind"] == "client")
    assert client["source"] == {"file": str(spec), "line": 5, "column": 7, "value": {"line": 6, "column": 9}}
    fields = {f["field"]: f for f in client["fields"]}
    assert fields["secret"] == {
        "field": "secret",
        "sensitive": True,
        "source": {"file": str(spec), "line": 8, "column": 11},
    }
    assert fields["description"]["source"] == {"file": str(spec), "line": 10, "column": 11}  # the block's text
    assert fields["publicClient"]["source"] == {"file": str(spec), "line": 6, "column": 23}
    # The same positions for an error in the expression: the line of `${env:...}`, not of `secret:`.
    unset = {k: v for k, v in realm.env.items() if k != "WEB_SECRET"}
    invalid = realmctl("validate", str(spec), env=unset)
    assert invalid.code == 1 and f"{spec}:8:11: error: environment variable `WEB_SECRET`" in invalid.all


IDP_SPEC = """\
version: 1
realms:
  {realm}:
    identityProviders:
      up:
        providerId: oidc
        config:
          clientId: app
          clientSecret: ${{env:UP_SECRET}}
          tokenUrl: https://up.example.com/token
          authorizationUrl: https://up.example.com/auth
"""
FP_KEY = "realmctl.fingerprint.clientSecret"


def _fingerprint(realm: Realm) -> str:
    idp = realm.admin.get(f"admin/realms/{realm.name}/identity-provider/instances/up")
    assert idp["config"]["clientSecret"] == "**********"
    return str(idp["config"][FP_KEY])


def test_idp_secret_fingerprint_is_scrypt_and_old_pbkdf2_ones_still_match(realm: Realm, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(IDP_SPEC.format(realm=realm.name))
    env = {**realm.env, "UP_SECRET": CANARY}
    assert realmctl("apply", "--yes", str(spec), env=env).code == 0
    stored = _fingerprint(realm)
    assert stored.startswith("scrypt$14$8$1$") and CANARY not in stored
    # An IdP fingerprinted by an earlier version (PBKDF2, 20k iterations) is still recognised...
    import hashlib

    legacy = "pbkdf2-sha256$20000$abcd$" + hashlib.pbkdf2_hmac("sha256", CANARY.encode(), b"abcd", 20000).hex()
    idp = realm.admin.get(f"admin/realms/{realm.name}/identity-provider/instances/up")
    idp["config"][FP_KEY] = legacy
    realm.admin.put(f"admin/realms/{realm.name}/identity-provider/instances/up", idp)
    assert _fingerprint(realm) == legacy
    assert realmctl("plan", "--detailed-exitcode", str(spec), env=env).code == 0
    # ...and replaced by a scrypt one when the secret is sent again.
    assert realmctl("apply", "--yes", "--resend-secrets", str(spec), env=env).code == 0
    assert _fingerprint(realm).startswith("scrypt$")


def test_resend_secrets_sends_a_secret_changed_by_hand_again(realm: Realm, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(IDP_SPEC.format(realm=realm.name))
    env = {**realm.env, "UP_SECRET": CANARY}
    assert realmctl("apply", "--yes", str(spec), env=env).code == 0
    first = _fingerprint(realm)
    # Someone changes the secret in the console: Keycloak masks it, the fingerprint still matches.
    idp = realm.admin.get(f"admin/realms/{realm.name}/identity-provider/instances/up")
    idp["config"]["clientSecret"] = "changed-by-hand"
    realm.admin.put(f"admin/realms/{realm.name}/identity-provider/instances/up", idp)
    assert realmctl("plan", "--detailed-exitcode", str(spec), env=env).code == 0
    shown = realmctl("plan", "--detailed-exitcode", "--resend-secrets", str(spec), env=env)
    assert shown.code == 2, shown.all
    assert "~ identity provider up" in shown.out
    assert "config.clientSecret: (sensitive) (sent again: --resend-secrets)" in shown.out
    assert CANARY not in shown.all
    as_json = json.loads(realmctl("plan", "--format", "json", "--resend-secrets", str(spec), env=env).out)
    resent = as_json["changes"][0]["fields"][0]
    assert (resent["field"], resent["sensitive"], resent["resent"]) == ("config.clientSecret", True, True)
    # A plan file made with it applies it, and says so (nothing else changed).
    plan_file = tmp_path / "plan.json"
    assert realmctl("plan", "--resend-secrets", "--out", str(plan_file), str(spec), env=env).code == 0
    assert CANARY not in plan_file.read_text()
    applied = realmctl("apply", str(plan_file), env=env)
    assert applied.code == 0, applied.all
    # The secret, and the realm's secrets digest written with it (realmctl.secrets_digest).
    assert "~ realmctl's ownership record (realm attribute realmctl.links)" in applied.out
    assert "realmctl.fingerprint.idp-secrets: (sensitive)" in applied.out
    assert "Apply complete: 2 change(s) applied" in applied.out
    second = _fingerprint(realm)
    assert second != first and second.startswith("scrypt$")  # written with the secret, new salt
    assert realmctl("plan", "--detailed-exitcode", str(spec), env=env).code == 0
    again = realmctl("apply", "--yes", "--resend-secrets", str(spec), env=env)
    assert again.code == 0 and "Apply complete: 2 change(s) applied" in again.out, again.all

"""What plan, the plan file and export show of a spec (issue #18, issue #16 item 6): secrets by
origin and by equality, never by substring; names escaped in Markdown; built-in clients warned.

Runs against the sandbox by default and against a real Keycloak when REALMCTL_TEST_URL is set.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realmctl.diff import _live_digest
from realmctl.plan import Live
from tests.helpers import Admin, Result, env_for, realmctl, unique

CANARY = "canary-2c81f0-secret"


class Spec:
    """One realm's spec file and the commands run on it."""

    def __init__(self, keycloak: Any, tmp_path: Path) -> None:
        self.realm = unique("outputs")
        self.path = tmp_path / "spec.yaml"
        self.plan_file = tmp_path / "plan.json"
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.doc: dict[str, Any] = {"version": 1, "realms": {self.realm: {}}}

    @property
    def r(self) -> dict[str, Any]:
        realm: dict[str, Any] = self.doc["realms"][self.realm]
        return realm

    def cmd(self, *args: str, **env: str) -> Result:
        self.path.write_text(yaml.safe_dump(self.doc, sort_keys=False))
        return realmctl(*args, str(self.path), env={**self.env, **env})

    def every_output(self, **env: str) -> str:
        """text, json, markdown and the plan file, concatenated."""
        out = ""
        for fmt in ("text", "json", "markdown"):
            result = self.cmd("plan", "--format", fmt, "--out", str(self.plan_file), **env)
            assert result.code == 0, result.all
            out += result.all + self.plan_file.read_text()
        return out


@pytest.fixture
def spec(keycloak: Any, tmp_path: Path) -> Iterator[Spec]:
    made = Spec(keycloak, tmp_path)
    yield made
    made.admin.call("DELETE", f"admin/realms/{made.realm}")  # the servers are shared


def test_a_password_masks_equal_fields_only_never_fields_containing_it(spec: Spec) -> None:
    spec.r["users"] = {"alice": {"email": "alice@example.com", "initialPassword": "alice"}}
    spec.r["clients"] = {
        "app": {
            "publicClient": False,
            "secret": "example",
            "rootUrl": "https://app.example.com",
            "redirectUris": ["https://app.example.com/*"],
        },
    }
    out = spec.cmd("plan").out
    assert 'email: "alice@example.com"' in out and "initialPassword: (sensitive)" in out
    assert 'rootUrl: "https://app.example.com"' in out and "secret: (sensitive)" in out
    assert 'redirectUris: ["https://app.example.com/*"]' in out
    # The exact examples also in the machine formats and the plan file.
    body = json.loads(spec.cmd("plan", "--format", "json", "--out", str(spec.plan_file)).out)
    shown = {f["field"]: f.get("new") for c in body["changes"] for f in c["fields"]}
    assert shown["email"] == "alice@example.com" and shown["redirectUris"] == ["https://app.example.com/*"]
    assert '"new": "https://app.example.com"' in spec.plan_file.read_text()


def test_a_field_equal_to_a_secret_is_masked(spec: Spec) -> None:
    spec.r["clients"] = {"app": {"publicClient": False, "secret": CANARY, "description": CANARY}}
    out = spec.every_output()
    assert CANARY not in out
    assert "description: (sensitive)" in spec.cmd("plan").out


def test_client_extra_secret_and_user_secret_attributes_never_appear(spec: Spec) -> None:
    spec.r["clients"] = {"app": {"publicClient": False, "extra": {"secret": CANARY + "-extra"}}}
    spec.r["users"] = {
        "bob": {"attributes": {"apiPassword": CANARY + "-api", "totpSecret": [CANARY + "-totp"], "team": "blue"}},
    }
    spec.r["userProfile"] = {"unmanagedAttributePolicy": "ADMIN_EDIT"}  # else the plan refuses the attributes
    out = spec.every_output()
    assert CANARY not in out
    text = spec.cmd("plan").out
    assert "secret: (sensitive)" in text
    assert "attributes.apiPassword: (sensitive)" in text and "attributes.totpSecret: (sensitive)" in text
    assert 'attributes.team: ["blue"]' in text


def test_env_values_are_secret_in_every_output_unless_declared_public(spec: Spec) -> None:
    spec.r["displayName"] = "${env:REALM_TITLE}"
    spec.r["clients"] = {"app": {"description": "${env:CI_TOKEN}", "rootUrl": "https://${env:APP_HOST}"}}
    env = {"CI_TOKEN": CANARY, "REALM_TITLE": "Apps title", "APP_HOST": "app.example.com"}
    out = spec.every_output(**env)
    assert CANARY not in out and "Apps title" not in out and "app.example.com" not in out
    spec.doc["public"] = {"env": ["REALM_TITLE", "APP_HOST", "CI_TOKEN"]}
    text = spec.cmd("plan", **env).out
    assert 'displayName: "Apps title"' in text and 'rootUrl: "https://app.example.com"' in text
    assert "description: (sensitive)" not in text  # declared public, and a description is no secret
    spec.r["clients"]["app"]["attributes"] = {"token": "${env:CI_TOKEN}"}
    text = spec.cmd("plan", **env).out
    assert "attributes.token: (sensitive)" in text  # a raw attribute is never known to be public...
    assert "description: (sensitive)" in text and CANARY not in text  # ...and a field equal to it is masked


def test_markdown_escapes_names_and_values(spec: Spec) -> None:
    spec.r["groups"] = ["x`|y"]
    spec.r["clients"] = {"app": {"description": "say `hi` | there"}}
    md = spec.cmd("plan", "--format", "markdown").out
    assert "| + | group x\\`\\|y |" in md
    assert '| + | client app | ``description: "say `hi` \\| there"`` |' in md
    assert f"#### realm `{spec.realm}`" in md


def test_declaring_changes_to_a_built_in_client_is_warned(spec: Spec) -> None:
    assert spec.cmd("apply", "--yes").code == 0
    spec.r["clients"] = {"broker": {"enabled": False}}
    text = spec.cmd("plan").out
    assert f"Warning: client broker in realm {spec.realm} is built into Keycloak; the plan changes enabled" in text
    md = spec.cmd("plan", "--format", "markdown").out
    assert "**Warning:** client broker" in md
    body = json.loads(spec.cmd("plan", "--format", "json").out)
    assert any("client broker" in w for w in body["warnings"])


def test_identity_provider_extra_config_is_applied(spec: Spec) -> None:
    spec.r["identityProviders"] = {
        "up": {
            "providerId": "oidc",
            "config": {"clientId": "c", "tokenUrl": "https://up.example.com/token"},
            "extra": {"config": {"guiOrder": "7", "clientId": "overridden-by-config"}},
        }
    }
    assert 'config.guiOrder: "7"' in spec.cmd("plan").out
    assert spec.cmd("apply", "--yes").code == 0
    idp = spec.admin.get(f"admin/realms/{spec.realm}/identity-provider/instances/up")
    assert idp["config"]["guiOrder"] == "7" and idp["config"]["clientId"] == "c"
    assert spec.cmd("plan", "--detailed-exitcode").code == 0


def test_live_digest_does_not_depend_on_client_secrets() -> None:
    """A digest is a hash: with the secret in it, a plan file would allow guessing it offline."""

    def digest(secret: str) -> str:
        client = {"clientId": "app", "secret": secret, "attributes": {"x.password": secret}}
        return _live_digest([("apps", "client", Live(("app",), client))])

    assert digest("one-secret") == digest("another-secret")
    assert digest("one-secret") != _live_digest([("apps", "client", Live(("app",), {"clientId": "other"}))])


def test_export_never_prints_what_plan_treats_as_sensitive(keycloak: Any) -> None:
    realm = unique("export-secret")
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    admin.post("admin/realms", {"realm": realm, "enabled": True})
    try:
        idp = {
            "alias": "up",
            "providerId": "oidc",
            "config": {"clientId": "c", "clientSecrte": CANARY + "-typo", "tokenUrl": "https://up/token"},
        }
        admin.post(f"admin/realms/{realm}/identity-provider/instances", idp)
        scope = {"name": "api", "protocol": "openid-connect", "attributes": {"api.password": CANARY + "-scope"}}
        admin.post(f"admin/realms/{realm}/client-scopes", scope)
        result = realmctl("export", "--realm", realm, env=env)
        assert result.code == 0, result.all
        assert CANARY not in result.all
        exported = yaml.safe_load(result.out)["realms"][realm]
        assert exported["identityProviders"]["up"]["config"]["clientSecrte"].startswith("${env:")
        assert exported["clientScopes"]["api"]["attributes"]["api.password"].startswith("${env:")
    finally:
        admin.call("DELETE", f"admin/realms/{realm}")


def test_check_does_not_print_an_interpolated_value_it_finds_on_the_server(spec: Spec) -> None:
    """The mapper's claim name came from the environment: check quotes the server's claim name,
    which is that value, so it must be cut out of the finding."""
    claim = CANARY + "-claim"
    spec.r.update(
        {
            "identityProviders": {"up": {"providerId": "oidc", "storeToken": True, "storedTokensReadable": True}},
            "clientScopes": {
                "broker_read_token": {
                    "mappers": {"roles": {"type": "user-client-role", "client": "broker", "claimName": "${env:CLAIM}"}},
                    "roleScope": {"clients": {"broker": ["read-token"]}},
                }
            },
            "clients": {"app": {"defaultClientScopes": ["broker_read_token"], "fullScopeAllowed": False}},
            "users": {"alice": {}},
            "roleGrants": [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}],
        }
    )
    assert spec.cmd("apply", "--yes", CLAIM=claim).code == 0
    # Without Keycloak's own `roles` scope, the declared mapper is the only one to put the role in.
    base = f"admin/realms/{spec.realm}"
    app = spec.admin.get(f"{base}/clients", clientId="app")[0]["id"]
    roles = next(s["id"] for s in spec.admin.get(f"{base}/client-scopes") if s["name"] == "roles")
    spec.admin.call("DELETE", f"{base}/clients/{app}/default-client-scopes/{roles}")
    for fmt in ("text", "json"):
        result = spec.cmd("check", "--format", fmt, CLAIM=claim)
        assert "broker.custom-claim-name" in result.out, result.all
        assert claim not in result.all and CANARY not in result.all
    assert "writes the role under claim '(sensitive)'" in spec.cmd("check", CLAIM=claim).out

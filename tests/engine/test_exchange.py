"""Cross-realm token-exchange entries: feature check, plan wording, apply, idempotence, removal."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Admin, Result, env_for, realmctl, unique


def exchange_spec(a: str, b: str, **entry: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "realms": {
            b: {
                "clients": {
                    "realm-b-client": {
                        "publicClient": False,
                        "secret": "b-secret",
                        "directAccessGrants": True,
                    }
                },
                "users": {
                    "carol": {
                        "email": "carol@example.com",
                        "firstName": "Carol",
                        "lastName": "C",
                        "initialPassword": "carol",
                    }
                },
            },
            a: {
                "clients": {"realm-a-client": {"publicClient": False, "secret": "a-secret"}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "realm-b-client"},
                        "identityProvider": "realm-b",
                        "clients": ["realm-a-client"],
                        **entry,
                    }
                },
            },
        },
    }


class Pair:
    def __init__(self, server: Any, tmp_path: Path) -> None:
        self.a, self.b = unique("ra"), unique("rb")
        self.spec = exchange_spec(self.a, self.b)
        self.path = tmp_path / "x.yaml"
        self.admin = Admin(server.url, server.admin_user, server.admin_password)
        self.env = env_for(server.url, server.admin_user, server.admin_password)
        self.sandbox = bool(server.is_sandbox)

    @property
    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = self.spec["realms"][self.a]["tokenExchange"]["from-b"]
        return entry

    def cmd(self, *args: str) -> Result:
        self.path.write_text(yaml.safe_dump(self.spec, sort_keys=False))
        return realmctl(*args, str(self.path), env=self.env)

    def apply(self) -> Result:
        result = self.cmd("apply", "--yes")
        assert result.code == 0, result.all
        return result

    def get(self, path: str, **params: Any) -> Any:
        return self.admin.get(f"admin/realms/{self.a}/{path}", **params)

    def authz(self) -> str:
        rm = self.admin.client(self.a, "realm-management")
        assert rm is not None
        return f"clients/{rm['id']}/authz/resource-server"

    def idp_policies(self) -> list[str]:
        ref = self.get("identity-provider/instances/realm-b/management/permissions")
        permission = ref["scopePermissions"]["token-exchange"]
        return sorted(p["name"] for p in self.get(f"{self.authz()}/policy/{permission}/associatedPolicies"))


@pytest.fixture
def pair(legacy_keycloak: Any, tmp_path: Path) -> Pair:
    return Pair(legacy_keycloak, tmp_path)


def test_without_legacy_features_plan_explains_and_writes_nothing(keycloak: Any, tmp_path: Path) -> None:
    if keycloak.profile != "keycloak-26":
        pytest.skip("needs a server with Keycloak 26.2+ default features")
    pair = Pair(keycloak, tmp_path)
    pair.entry["method"] = "legacy-exchange"  # unpinned, a 26.6+ server with the JWT grant on wires that
    result = pair.cmd("plan")
    assert result.code == 1
    assert "lacks TOKEN_EXCHANGE and ADMIN_FINE_GRAINED_AUTHZ" in result.err
    assert "--features=token-exchange,admin-fine-grained-authz:v1" in result.err
    assert "refuses subject_issuer" in result.err
    assert pair.admin.call("GET", f"admin/realms/{pair.a}").status_code == 404


@pytest.mark.sandbox_only
def test_without_legacy_features_apply_sends_no_write(keycloak: Any, tmp_path: Path) -> None:
    if keycloak.profile != "keycloak-26":
        pytest.skip("needs a server with Keycloak 26.2+ default features")
    pair = Pair(keycloak, tmp_path)
    pair.entry["method"] = "legacy-exchange"  # unpinned, a 26.7-like server takes the JWT grant instead
    pair.admin.reset_requests()
    assert pair.cmd("apply", "--yes").code == 1
    log = pair.admin.requests()["log"]
    assert [e for e in log if e["method"] != "GET" and "openid-connect/token" not in e["path"]] == []


def test_plan_speaks_of_the_intent_with_the_objects_beneath(pair: Pair) -> None:
    result = pair.cmd("plan")
    assert result.code == 0, result.all
    out = result.out
    headline = f"  {pair.a}: allow realm-a-client to exchange tokens from {pair.b} (via identity provider realm-b)"
    assert headline in out
    beneath = out.split(headline, 1)[1]
    for line in (
        "    + identity provider realm-b",
        '        providerId: "keycloak-oidc"',
        f'        config.issuer: "{pair.admin.url}/realms/{pair.b}"',
        "        config.clientSecret: (sensitive)",
        "    + fine-grained permissions on identity provider realm-b",
        "    + client policy realmctl-exchange-from-b",
        "    + policy realmctl-exchange-from-b on the token-exchange permission of identity provider realm-b",
    ):
        assert line in beneath, f"missing {line!r} in\n{out}"


def test_apply_wires_every_part_and_is_idempotent(pair: Pair) -> None:
    pair.apply()
    idp = pair.get("identity-provider/instances/realm-b")
    assert idp["providerId"] == "keycloak-oidc"
    assert idp["config"]["clientId"] == "realm-b-client"
    assert idp["config"]["jwksUrl"].endswith(f"/realms/{pair.b}/protocol/openid-connect/certs")
    assert idp["config"]["validateSignature"] == "true"
    assert pair.idp_policies() == ["realmctl-exchange-from-b"]
    policy = pair.admin.get(f"admin/realms/{pair.a}/{pair.authz()}/policy/search", name="realmctl-exchange-from-b")
    client = pair.admin.client(pair.a, "realm-a-client")
    assert client is not None
    assert client["id"] in policy["config"]["clients"]
    again = pair.cmd("plan", "--detailed-exitcode")
    assert again.code == 0, again.out


def test_the_idp_secret_is_the_source_clients_secret_generated_by_keycloak(pair: Pair) -> None:
    pair.spec["realms"][pair.b]["clients"]["realm-b-client"].pop("secret")
    pair.apply()
    assert pair.cmd("plan", "--detailed-exitcode").code == 0


def test_audience_and_impersonation_get_their_permissions(pair: Pair) -> None:
    pair.spec["realms"][pair.a]["clients"]["api-a"] = {"publicClient": False}
    pair.entry["audiences"] = ["api-a"]
    pair.entry["impersonation"] = True
    plan = pair.cmd("plan")
    assert "    + policy realmctl-exchange-from-b on the token-exchange permission of client api-a" in plan.out
    assert "    + policy realmctl-exchange-from-b on the impersonate permission of users of the realm" in plan.out
    pair.apply()
    api = pair.admin.client(pair.a, "api-a")
    assert api is not None
    ref = pair.get(f"clients/{api['id']}/management/permissions")
    assoc = pair.get(f"{pair.authz()}/policy/{ref['scopePermissions']['token-exchange']}/associatedPolicies")
    assert [p["name"] for p in assoc] == ["realmctl-exchange-from-b"]
    users = pair.get("users-management-permissions")
    assoc = pair.get(f"{pair.authz()}/policy/{users['scopePermissions']['impersonate']}/associatedPolicies")
    assert [p["name"] for p in assoc] == ["realmctl-exchange-from-b"]
    assert pair.cmd("plan", "--detailed-exitcode").code == 0


def test_policies_attached_by_others_are_kept_and_removal_takes_only_ours(pair: Pair) -> None:
    # An audience client made by hand, whose token-exchange permission already has a policy.
    pair.apply()
    pair.admin.post(f"admin/realms/{pair.a}/clients", {"clientId": "api-b", "publicClient": False})
    api = pair.admin.client(pair.a, "api-b")
    assert api is not None
    ref = pair.admin.call("PUT", f"admin/realms/{pair.a}/clients/{api['id']}/management/permissions", {"enabled": True})
    permission = ref.json()["scopePermissions"]["token-exchange"]
    theirs = pair.admin.post(
        f"admin/realms/{pair.a}/{pair.authz()}/policy/client",
        {
            "name": "handmade",
            "type": "client",
            "logic": "POSITIVE",
            "decisionStrategy": "UNANIMOUS",
            "clients": ["api-b"],
        },
    ).json()
    body = {
        "id": permission,
        "name": f"token-exchange.permission.client.{api['id']}",
        "type": "scope",
        "logic": "POSITIVE",
        "decisionStrategy": "AFFIRMATIVE",
        "policies": [theirs["id"]],
    }
    pair.admin.put(f"admin/realms/{pair.a}/{pair.authz()}/permission/scope/{permission}", body)

    def attached() -> list[str]:
        return sorted(p["name"] for p in pair.get(f"{pair.authz()}/policy/{permission}/associatedPolicies"))

    pair.entry["audiences"] = ["api-b"]
    pair.apply()
    assert attached() == ["handmade", "realmctl-exchange-from-b"]
    # Removing the entry removes what realmctl made for it, and nothing else.
    pair.spec["realms"][pair.a].pop("tokenExchange")
    plan = pair.cmd("plan")
    for line in (
        "  - identity provider realm-b",
        "  - client policy realmctl-exchange-from-b",
        "  - policy realmctl-exchange-from-b on the token-exchange permission of client api-b",
    ):
        assert line in plan.out, plan.out
    assert "handmade" not in plan.out
    pair.apply()
    assert attached() == ["handmade"]
    assert pair.admin.call("GET", f"admin/realms/{pair.a}/identity-provider/instances/realm-b").status_code == 404
    assert pair.admin.client(pair.b, "realm-b-client") is not None
    assert pair.cmd("plan", "--detailed-exitcode").code == 0


def test_two_entries_sharing_an_audience_and_impersonation_converge_in_one_apply(pair: Pair) -> None:
    """Their attachments to the same permissions run in one parallel wave: none may be lost."""
    pair.spec["realms"][pair.a]["clients"]["api-a"] = {"publicClient": False}
    pair.spec["realms"][pair.a]["clients"]["realm-a-other"] = {"publicClient": False}
    pair.entry.update(audiences=["api-a"], impersonation=True)
    second = dict(pair.entry, identityProvider="realm-b-2", clients=["realm-a-other"])
    pair.spec["realms"][pair.a]["tokenExchange"]["from-b-2"] = second
    # The sandbox answers too fast for the wave to overlap: slow it down (a real server is slow anyway).
    if pair.sandbox:
        pair.admin.put("sandbox/latency", {"ms": 30})
    try:
        pair.apply()
    finally:
        if pair.sandbox:
            pair.admin.put("sandbox/latency", {"ms": 0})
    assert pair.cmd("plan", "--detailed-exitcode").code == 0


def test_an_unknown_audience_is_a_plan_error(pair: Pair) -> None:
    pair.entry["audiences"] = ["no-such-client"]
    result = pair.cmd("plan")
    assert result.code == 1 and "names audience 'no-such-client'" in result.err


def test_a_requester_neither_declared_nor_on_the_server_is_a_plan_error(pair: Pair) -> None:
    """Keycloak answers the client policy naming an unknown client with HTTP 500, after the realms,
    the IdP and the permissions were written: the plan refuses it first, and nothing is applied."""
    del pair.spec["realms"][pair.a]["clients"]
    result = pair.cmd("apply", "--yes")
    assert result.code == 1, result.all
    assert "tokenExchange entry 'from-b'" in result.err and "lets client 'realm-a-client' exchange" in result.err
    assert pair.admin.call("GET", f"admin/realms/{pair.a}").status_code == 404

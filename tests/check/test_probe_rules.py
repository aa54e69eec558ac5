"""One broken configuration per 26.6+ check rule, and `check --probe` failing where the rule says.

Each case starts from the applied example of its chain (tests/e2e/test_modern_chains.py: my-app
reading azure's stored tokens through the Identity Brokering API v2 after alice's brokered login;
bob's realm-B token accepted at realm A through the JWT Authorization Grant), breaks one link by
hand, and expects the probe to fail at the step the rule predicts, with Keycloak's own text, and to
name the rule. The texts are what real Keycloak 26.7.3 (modern profile) answers; the sandbox must
answer the same. Runs on the sandbox's `modern` profile, or on the real server with
`REALMCTL_TEST_URL=http://127.0.0.1:18082 REALMCTL_TEST_PROFILE=modern`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from realmctl.capabilities import JWT_GRANT
from realmctl.keycloak.session import Api
from tests.conftest import KeycloakTarget
from tests.e2e.conftest import LongAdmin, deleting
from tests.e2e.test_modern_chains import (
    ALIAS,
    applied_and_idle,
    jwt_spec,
    set_client_attribute,
    stored_spec,
    upstream_idp,
    user_token,
)
from tests.helpers import env_for, realmctl, unique


@dataclass
class Setup:
    """An applied, working chain: the server, its admin, the realms, the spec file."""

    server: KeycloakTarget
    admin: LongAdmin
    realm: str  # stored tokens: the app realm; JWT grant: realm A (the accepting one)
    source: str  # JWT grant: realm B; stored tokens: unused
    path: Path

    def client(self, realm: str, client_id: str) -> dict[str, Any]:
        found = self.admin.client(realm, client_id)
        assert found is not None
        return found

    def update_client(self, realm: str, client_id: str, **changes: Any) -> None:
        rep = self.client(realm, client_id) | changes
        self.admin.put(f"admin/realms/{realm}/clients/{rep['id']}", rep)

    def idp_path(self, alias: str) -> str:
        return f"admin/realms/{self.realm}/identity-provider/instances/{alias}"

    def update_idp(self, alias: str, config: dict[str, str] | None = None, **changes: Any) -> None:
        rep = self.admin.get(self.idp_path(alias)) | changes
        rep["config"] = rep.get("config", {}) | (config or {})
        self.admin.put(self.idp_path(alias), rep)

    def spec(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Rewrites the spec file (the break is in the spec, not on the server)."""
        spec = yaml.safe_load(self.path.read_text())
        change(spec["realms"][self.realm])
        self.path.write_text(yaml.safe_dump(spec))


def _v1_wiring(realm: dict[str, Any]) -> None:
    """The stored-token chain written for the v1 endpoint by hand, as before 26.6."""
    del realm["storedTokens"]
    realm["identityProviders"][ALIAS] |= {"storeToken": True, "storedTokensReadable": True}


def _drop_audience_scope(s: Setup) -> None:
    scope = next(c for c in s.admin.get(f"admin/realms/{s.source}/client-scopes") if c["name"].endswith(s.realm))
    client = s.client(s.source, "b-app")
    s.admin.call("DELETE", f"admin/realms/{s.source}/clients/{client['id']}/optional-client-scopes/{scope['id']}")


def _unlink_alice(s: Setup) -> None:
    uid = s.admin.get(f"admin/realms/{s.realm}/users", username="alice-a", exact="true")[0]["id"]
    s.admin.call("DELETE", f"admin/realms/{s.realm}/users/{uid}/federated-identity/realm-b")


@dataclass(frozen=True)
class Case:
    rule: str
    chain: str  # "stored" (v2 broker POST) or "jwt" (jwt-bearer grant)
    brk: Callable[[Setup], None]  # breaks the applied example
    step: str  # the probe step that fails
    answer: str  # status and Keycloak's text, as the probe prints them
    also: tuple[str, ...] = ()  # other rules the same break makes true (they may be named too)
    skip: str = ""  # why this rule cannot be probed on the servers the tests have
    name: str = ""  # tells two cases of one rule apart

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.name}" if self.name else self.rule


NO_IDP = "400 No Identity Provider for provided issuer"
AUDIENCE_ELSEWHERE = json.dumps([{"key": "realm-b", "value": "https://api.elsewhere.example"}])
CASES = [
    Case(
        "v2.public-client",
        "stored",
        lambda s: s.update_client(s.realm, "my-app", publicClient=True),
        "broker",
        "403 public clients not allowed",
    ),
    Case(
        "v2.client-not-enabled",
        "stored",
        lambda s: set_client_attribute(s.admin, s.realm, "my-app", "external.token.enabled", "false"),
        "broker",
        "403 Client not allowed to retrieve token for the provider",
    ),
    Case(
        "v2.idp-not-allowed",
        "stored",
        lambda s: set_client_attribute(s.admin, s.realm, "my-app", "external.token.idp", "other"),
        "broker",
        "403 Client not allowed to retrieve token for the provider",
    ),
    Case(
        "v2.no-stored-token",
        "stored",
        lambda s: s.update_idp(ALIAS, {"storeTokenInSession": "false"}, storeToken=False),
        "broker",
        "400 No token stored.",
    ),
    Case(
        "v2.no-stored-token",
        "stored",
        lambda s: s.update_idp(ALIAS, storeToken=False),  # storeTokenInSession left on: a warning
        "broker",
        "400 No token stored.",
        name="session-only",
    ),
    Case(
        "v2.idp-missing",
        "stored",
        lambda s: s.admin.call("DELETE", s.idp_path(ALIAS)).raise_for_status(),
        "broker",
        "400 Invalid identity provider",
    ),
    Case(
        "v2.v1-chain",
        "stored",
        lambda s: s.spec(_v1_wiring),
        "broker",
        "400 Identity Brokering API feature not enabled",
    ),
    Case(
        "jwt.feature-off",
        "jwt",
        lambda s: None,
        "grant",
        "",
        skip="needs a server with jwt-authorization-grant off, and it is on by default in 26.7.3: every real "
        "server of these tests (default, legacy-exchange, modern) and every sandbox profile has it on. The rule "
        "itself is tested without the probe in test_feature_off_is_named",
    ),
    Case(
        "jwt.idp-missing",
        "jwt",
        lambda s: s.admin.call("DELETE", s.idp_path("realm-b")).raise_for_status(),
        "grant",
        NO_IDP,
        also=("jwt.user-not-linked",),  # deleting the IdP deletes its links
    ),
    Case(
        "jwt.idp-grant-off",
        "jwt",
        lambda s: s.update_idp("realm-b", {"jwtAuthorizationGrantEnabled": "false"}),
        "grant",
        NO_IDP,
    ),
    Case(
        "jwt.issuer-mismatch",
        "jwt",
        lambda s: s.update_idp("realm-b", {"issuer": "https://elsewhere.example/realms/b"}),
        "grant",
        NO_IDP,
    ),
    Case(
        "jwt.public-client",
        "jwt",
        lambda s: s.update_client(s.realm, "a-app", publicClient=True),
        "grant",
        "400 Public client not allowed to use authorization grant",
    ),
    Case(
        "jwt.client-not-enabled",
        "jwt",
        lambda s: set_client_attribute(s.admin, s.realm, "a-app", "oauth2.jwt.authorization.grant.enabled", "false"),
        "grant",
        "400 JWT Authorization Grant is not supported for the requested client",
    ),
    Case(
        "jwt.idp-not-allowed",
        "jwt",
        lambda s: set_client_attribute(s.admin, s.realm, "a-app", "oauth2.jwt.authorization.grant.idp", "other"),
        "grant",
        "400 Identity Provider is not allowed for the client",
    ),
    Case("jwt.user-not-linked", "jwt", _unlink_alice, "grant", "400 User not found"),
    Case(
        "jwt.audience-replaced",
        "jwt",
        lambda s: set_client_attribute(
            s.admin, s.realm, "a-app", "oauth2.jwt.authorization.grant.audience", AUDIENCE_ELSEWHERE
        ),
        "grant",
        "400 Invalid token audience",
    ),
    Case("jwt.audience-missing", "jwt", _drop_audience_scope, "grant", "400 Invalid token audience"),
    Case(
        "jwt.multiple-audiences",
        "jwt",
        lambda s: s.update_client(s.source, "b-app", fullScopeAllowed=True),
        "grant",
        "400 Multiple audiences not allowed",
    ),
]


@pytest.fixture
def made(modern_keycloak: KeycloakTarget) -> Iterator[list[str]]:
    yield from deleting(modern_keycloak)


def stored_setup(server: KeycloakTarget, made: list[str], tmp_path: Path) -> tuple[Setup, dict[str, str]]:
    """my-app reads azure's stored tokens (v2); alice logged in through azure once (a real brokered
    login on a real server) and has a password in the app realm, so the probe's password grant works."""
    admin, realm = LongAdmin(server), unique("prv2")
    idp, _ = upstream_idp(server, realm, made)
    made.append(realm)
    path = tmp_path / "stored.yaml"
    path.write_text(yaml.safe_dump(stored_spec(realm, idp)))
    applied_and_idle(server, path)
    user_token(server, admin, realm, "upstream-access-token-rules")
    uid = admin.get(f"admin/realms/{realm}/users", username="alice", exact="true")[0]["id"]
    admin.put(f"admin/realms/{realm}/users/{uid}/reset-password", {"type": "password", "value": "alice-pw"})
    return Setup(server, admin, realm, "", path), {
        "REALMCTL_PROBE_USER": "alice",
        "REALMCTL_PROBE_PASSWORD": "alice-pw",
    }


def jwt_setup(server: KeycloakTarget, made: list[str], tmp_path: Path) -> tuple[Setup, dict[str, str]]:
    """a-app at realm A accepts bob's realm-B tokens (b-app) through the JWT Authorization Grant."""
    a, b = unique("prja"), unique("prjb")
    made += [a, b]
    path = tmp_path / "jwt.yaml"
    path.write_text(yaml.safe_dump(jwt_spec(a, b)))
    applied_and_idle(server, path)
    return Setup(server, LongAdmin(server), a, b, path), {
        "REALMCTL_PROBE_USER": "bob",
        "REALMCTL_PROBE_PASSWORD": "bob-pw-e2e",
    }


def predicted_rules(out: str) -> list[str]:
    return [line.split(":")[0].split()[-1] for line in out.splitlines() if "predicted by" in line]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_probe_fails_where_the_rule_says(
    case: Case, modern_keycloak: KeycloakTarget, made: list[str], tmp_path: Path
) -> None:
    if case.skip:
        pytest.skip(f"{case.rule} cannot be probed: {case.skip}")
    server = modern_keycloak
    setup, user = (stored_setup if case.chain == "stored" else jwt_setup)(server, made, tmp_path)
    case.brk(setup)

    env = env_for(server.url, server.admin_user, server.admin_password, **user)
    result = realmctl("check", "--probe", str(setup.path), env=env)
    assert result.code == 3, result.all
    failed = [line.strip() for line in result.out.splitlines() if line.strip().startswith("FAIL")]
    assert failed and failed[0].startswith(f"FAIL {case.step}: "), result.out
    assert failed[0].endswith(f"-> {case.answer}"), result.out
    predicted = predicted_rules(result.out)
    assert predicted and predicted[0] == case.rule and set(predicted) <= {case.rule, *case.also}, result.out
    findings = result.out.split("\nProbe: ")[0]  # the check's own findings, before the probes
    assert f" {case.rule} — realm " in findings, result.out


def test_feature_off_is_named(
    modern_keycloak: KeycloakTarget, made: list[str], tmp_path: Path, monkeypatch: Any
) -> None:
    """jwt.feature-off without a probe: the grant pinned in the spec, and the server reporting it off
    (serverinfo rewritten, since no server of these tests has it off; see the case's skip)."""
    server = modern_keycloak
    setup, _ = jwt_setup(server, made, tmp_path)
    setup.spec(lambda realm: realm["tokenExchange"]["from-b"].update(method="jwt-authorization-grant"))
    real = Api.serverinfo

    def without_grant(api: Api) -> dict[str, Any]:
        info = real(api)
        features = [f | {"enabled": False} if f.get("name") == JWT_GRANT else f for f in info["features"]]
        return info | {"features": features}

    monkeypatch.setattr(Api, "serverinfo", without_grant)
    env = env_for(server.url, server.admin_user, server.admin_password)
    result = realmctl("check", str(setup.path), env=env)
    assert result.code == 3, result.all
    assert f" jwt.feature-off — realm {setup.realm}: the server" in result.out, result.all
    assert "start Keycloak with --features=jwt-authorization-grant" in result.out
    assert "exchange." not in result.out  # not judged as a legacy exchange entry either

"""`check --probe --format json`: each step carries the token's claims as a JSON object (issue #17),
so a program can tell why a token was refused without parsing the step's text.

Runs on the sandbox and on a real Keycloak, like the corpus these tests borrow their specs from.
"""

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.check.test_corpus import World, exchange, master_token, other_host_token, stored_tokens
from tests.e2e.test_modern_chains import applied_and_idle, jwt_spec
from tests.helpers import Admin, Result, env_for, realmctl, unique

CLAIM_KEYS = {"iss", "aud", "azp", "user", "exp", "secondsLeft", "brokerRoles", "scope", "issuer"}


def _body(result: Result) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result.out)
    return body


def _issuer(w: World, realm: str) -> str:
    """The realm's issuer at the URL check talks to, as its discovery document says."""
    url = f"{w.server.url}/realms/{realm}/.well-known/openid-configuration"
    return str(requests.get(url, timeout=30).json()["issuer"])


def _steps(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [s for p in body["probes"] for s in p["steps"] if s["name"] == name]


def _agrees_with_text(step: dict[str, Any]) -> None:
    """The object says what the step's text says (the text is unchanged by the JSON field)."""
    claims = step["claims"]
    for shown in (
        f"iss={claims['iss']}",
        f"aud={claims['aud']}",
        f"azp={claims['azp']}",
        f"user={claims['user']}",
        f"exp={claims['exp']} (",
        f"resource_access.broker.roles={claims['brokerRoles']}",
        f"scope={claims['scope']}",
    ):
        assert shown in step["text"], (shown, step["text"])


def _stored(keycloak: Any, tmp_path: Path) -> World:
    w = World(keycloak, tmp_path)
    w.spec = stored_tokens(w.realm)
    w.apply()
    return w


def _cleanup(w: World, *realms: str) -> None:
    if not w.server.is_sandbox:
        for realm in realms:
            w.admin.call("DELETE", f"admin/realms/{realm}")


def test_the_claims_step_of_a_good_token_carries_its_claims(keycloak: Any, tmp_path: Path) -> None:
    w = _stored(keycloak, tmp_path)
    try:
        before = time.time()
        body = _body(w.run("check", "--format", "json", "--probe"))
        [step] = _steps(body, "claims")
        claims = step["claims"]
        assert set(claims) == CLAIM_KEYS
        assert claims["issuer"] == {"realm": w.realm, "expected": _issuer(w, w.realm), "verdict": "same"}
        assert claims["iss"] == claims["issuer"]["expected"]
        assert claims["azp"] == "my-app" and claims["user"] == "alice"
        assert "read-token" in claims["brokerRoles"] and "openid" in claims["scope"].split()
        assert isinstance(claims["exp"], int) and 0 < claims["secondsLeft"] <= claims["exp"] - before + 1
        assert step["ok"]
        _agrees_with_text(step)
        # Steps without a token to show have no claims object (the token step's token is shown next).
        assert all(s["claims"] is None for s in _steps(body, "token") + _steps(body, "broker"))
    finally:
        _cleanup(w, w.realm)


def test_a_token_of_another_realm_is_judged_other_realm(keycloak: Any, tmp_path: Path) -> None:
    w = _stored(keycloak, tmp_path)
    try:
        body = _body(w.run("check", "--format", "json", *master_token(w)))
        [step] = _steps(body, "claims")
        claims = step["claims"]
        assert claims["iss"] == _issuer(w, "master")
        assert claims["issuer"] == {"realm": w.realm, "expected": _issuer(w, w.realm), "verdict": "other-realm"}
        assert claims["azp"] == "admin-cli" and claims["brokerRoles"] == []
        assert not step["ok"]
        assert "probe.token-other-realm" in body["probes"][0]["explainedBy"]
        _agrees_with_text(step)
    finally:
        _cleanup(w, w.realm)


def test_a_token_for_another_host_name_is_judged_other_host(keycloak: Any, tmp_path: Path) -> None:
    w = _stored(keycloak, tmp_path)
    try:
        body = _body(w.run("check", "--format", "json", *other_host_token(w)))
        [step] = _steps(body, "claims")
        claims = step["claims"]
        assert "//localhost:" in claims["iss"] and claims["iss"].endswith(f"/realms/{w.realm}")
        assert claims["issuer"]["verdict"] == "other-host"
        assert claims["issuer"]["expected"] == _issuer(w, w.realm) != claims["iss"]
        assert "probe.token-other-host" in body["probes"][0]["explainedBy"]
    finally:
        _cleanup(w, w.realm)


def test_an_expired_token_has_negative_seconds_left(keycloak: Any, tmp_path: Path) -> None:
    w = World(keycloak, tmp_path)
    w.spec = stored_tokens(w.realm)
    w.spec["realms"][w.realm]["clients"]["my-app"]["attributes"] = {"access.token.lifespan": "1"}
    w.apply()
    try:
        w.env["PROBE_TOKEN"] = w.token(w.realm)
        time.sleep(2.2)
        args = ["--probe-client", "my-app", "--probe-token-env", "PROBE_TOKEN"]
        body = _body(w.run("check", "--format", "json", *args))
        [step] = _steps(body, "claims")
        claims = step["claims"]
        assert claims["secondsLeft"] < 0 and claims["exp"] < time.time()
        assert claims["issuer"]["verdict"] == "same"
        assert "probe.token-expired" in body["probes"][0]["explainedBy"]
        assert w.env["PROBE_TOKEN"] not in str(body)
    finally:
        _cleanup(w, w.realm)


def test_an_exchange_shows_the_subject_tokens_and_the_issued_tokens_claims(
    legacy_keycloak: Any, tmp_path: Path
) -> None:
    w = World(legacy_keycloak, tmp_path)
    w.spec = exchange(w.realm, w.source)
    w.apply()
    try:
        body = _body(w.run("check", "--format", "json", "--probe", user="carol", password="carol-pw"))
        [subject] = _steps(body, "claims")
        assert subject["claims"]["iss"] == _issuer(w, w.source)
        assert subject["claims"]["issuer"] == {"realm": w.source, "expected": _issuer(w, w.source), "verdict": "same"}
        assert subject["claims"]["azp"] == "realm-b-client" and subject["claims"]["user"] == "carol"
        _agrees_with_text(subject)
        [issued] = _steps(body, "exchange")
        assert issued["ok"], issued["text"]
        assert issued["claims"]["iss"] == _issuer(w, w.realm)
        assert issued["claims"]["issuer"]["verdict"] == "same"
        assert issued["claims"]["azp"] == "realm-a-client" and issued["claims"]["user"] == "carol"
        assert f"azp={issued['claims']['azp']}, preferred_username=carol" in issued["text"]
    finally:
        _cleanup(w, w.realm, w.source)


def test_a_jwt_grant_shows_the_assertions_and_the_issued_tokens_claims(modern_keycloak: Any, tmp_path: Path) -> None:
    server = modern_keycloak
    a, b = unique("pja"), unique("pjb")
    path = tmp_path / "jwt.yaml"
    path.write_text(yaml.safe_dump(jwt_spec(a, b)))
    try:
        applied_and_idle(server, path)
        env = env_for(
            server.url,
            server.admin_user,
            server.admin_password,
            REALMCTL_PROBE_USER="bob",
            REALMCTL_PROBE_PASSWORD="bob-pw-e2e",
        )
        result = realmctl("check", "--probe", "--format", "json", str(path), env=env)
        assert result.code == 0, result.all
        body = _body(result)
        w = World(server, tmp_path)
        [assertion] = _steps(body, "claims")
        claims = assertion["claims"]
        assert claims["issuer"] == {"realm": b, "expected": _issuer(w, b), "verdict": "same"}
        assert claims["aud"] in (_issuer(w, a), [_issuer(w, a)])  # the grant needs realm A's issuer only
        _agrees_with_text(assertion)
        [grant] = _steps(body, "grant")
        assert grant["ok"] and grant["claims"]["iss"] == _issuer(w, a)
        assert grant["claims"]["user"] == "alice-a" and grant["claims"]["azp"] == "a-app"
    finally:
        if not server.is_sandbox:
            admin = Admin(server.url, server.admin_user, server.admin_password)
            for realm in (a, b):
                with contextlib.suppress(requests.RequestException):
                    admin.call("DELETE", f"admin/realms/{realm}")

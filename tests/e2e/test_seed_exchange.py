"""Cross-realm token exchange end to end (legacy-exchange profile): refused before
`realmctl apply examples/cross-realm-exchange.yaml`, accepted after, for the plain exchange, an
extra audience and impersonation."""

from pathlib import Path
from typing import Any

import jwt
import requests
import yaml

from tests.helpers import ROOT, Admin, env_for, realmctl, unique

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def example_for(a: str, b: str, tmp_path: Path, **entry: Any) -> Path:
    """examples/cross-realm-exchange.yaml as it is, with its realms renamed (and entry extras)."""
    spec = yaml.safe_load((ROOT / "examples" / "cross-realm-exchange.yaml").read_text())
    realm_a, realm_b = spec["realms"]["realm-a"], spec["realms"]["realm-b"]
    realm_a["tokenExchange"]["from-realm-b"]["source"]["realm"] = b
    realm_a["tokenExchange"]["from-realm-b"].update(entry)
    if "audiences" in entry:
        realm_a["clients"]["api-a"] = {"publicClient": False}
    if entry.get("impersonation"):
        realm_a.setdefault("users", {})["dave"] = {"email": "dave@example.com"}
    spec["realms"] = {b: realm_b, a: realm_a}
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def b_token(url: str, b: str) -> str:
    response = requests.post(
        f"{url}/realms/{b}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "realm-b-client",
            "client_secret": "realm-b-secret",
            "username": "carol",
            "password": "carol",
            # Realm A checks this token at realm B's userinfo endpoint, which refuses it without `openid`
            # ("Missing openid scope"), and the exchange then answers 500 unknown_error.
            "scope": "openid",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def exchange(url: str, a: str, subject: str, **extra: str) -> requests.Response:
    form = {
        "grant_type": EXCHANGE,
        "client_id": "realm-a-client",
        "client_secret": "realm-a-secret",
        "subject_token": subject,
        "subject_token_type": ACCESS,
        "subject_issuer": "realm-b",
        **extra,
    }
    return requests.post(f"{url}/realms/{a}/protocol/openid-connect/token", data=form, timeout=30)


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def setup(server: Any, tmp_path: Path, **entry: Any) -> tuple[str, str, Path, dict[str, str]]:
    a, b = unique("realm-a"), unique("realm-b")
    path = example_for(a, b, tmp_path, **entry)
    env = env_for(server.url, server.admin_user, server.admin_password)
    # realm B alone first, so that carol can get a token before realm A's part exists.
    only_b = yaml.safe_load(path.read_text())
    only_b["realms"].pop(a)
    b_path = tmp_path / "b.yaml"
    b_path.write_text(yaml.safe_dump(only_b))
    assert realmctl("apply", "--yes", str(b_path), env=env).code == 0
    return a, b, path, env


def test_exchange_is_refused_before_apply_and_works_after(legacy_keycloak: Any, tmp_path: Path) -> None:
    url = legacy_keycloak.url
    a, b, path, env = setup(legacy_keycloak, tmp_path)
    admin = Admin(url, legacy_keycloak.admin_user, legacy_keycloak.admin_password)
    admin.post("admin/realms", {"realm": a, "enabled": True})
    admin.post(
        f"admin/realms/{a}/clients", {"clientId": "realm-a-client", "publicClient": False, "secret": "realm-a-secret"}
    )
    subject = b_token(url, b)
    before = exchange(url, a, subject)
    assert before.status_code == 400
    assert before.json() == {"error": "invalid_issuer", "error_description": "Invalid subject_issuer parameter"}

    applied = realmctl("apply", "--yes", str(path), env=env)
    assert applied.code == 0, applied.all
    after = exchange(url, a, b_token(url, b))
    assert after.status_code == 200, after.text
    issued = claims(after.json()["access_token"])
    assert issued["iss"] == f"{url}/realms/{a}"
    assert issued["azp"] == "realm-a-client"
    assert issued["preferred_username"] == "carol"
    carol = admin.get(f"admin/realms/{a}/users", username="carol", exact="true")[0]
    links = admin.get(f"admin/realms/{a}/users/{carol['id']}/federated-identity")
    assert [link["identityProvider"] for link in links] == ["realm-b"]
    assert realmctl("plan", "--detailed-exitcode", str(path), env=env).code == 0


def test_extra_audience_needs_its_permission_and_gets_it(legacy_keycloak: Any, tmp_path: Path) -> None:
    url = legacy_keycloak.url
    a, b, _, env = setup(legacy_keycloak, tmp_path)
    plain = example_for(a, b, tmp_path)  # first without the audience: the audience is refused
    plain_spec = yaml.safe_load(plain.read_text())
    plain_spec["realms"][a]["clients"]["api-a"] = {"publicClient": False}
    plain.write_text(yaml.safe_dump(plain_spec))
    assert realmctl("apply", "--yes", str(plain), env=env).code == 0
    refused = exchange(url, a, b_token(url, b), audience="api-a")
    assert refused.status_code == 403
    assert refused.json() == {"error": "access_denied", "error_description": "Client not allowed to exchange"}
    with_audience = example_for(a, b, tmp_path, audiences=["api-a"])
    assert realmctl("apply", "--yes", str(with_audience), env=env).code == 0
    accepted = exchange(url, a, b_token(url, b), audience="api-a")
    assert accepted.status_code == 200, accepted.text
    assert "api-a" in claims(accepted.json()["access_token"])["aud"]


def impersonate(url: str, a: str, subject: str, who: str) -> requests.Response:
    """An internal exchange at realm A with requested_subject (Keycloak ignores requested_subject on
    the external path, so impersonation starts from the realm-A token the first exchange issued)."""
    form = {
        "grant_type": EXCHANGE,
        "client_id": "realm-a-client",
        "client_secret": "realm-a-secret",
        "subject_token": subject,
        "subject_token_type": ACCESS,
        "requested_subject": who,
    }
    return requests.post(f"{url}/realms/{a}/protocol/openid-connect/token", data=form, timeout=30)


def test_impersonation_needs_its_permission_and_gets_it(legacy_keycloak: Any, tmp_path: Path) -> None:
    url = legacy_keycloak.url
    a, b, _, env = setup(legacy_keycloak, tmp_path)
    without = example_for(a, b, tmp_path)
    spec = yaml.safe_load(without.read_text())
    spec["realms"][a]["users"] = {"dave": {"email": "dave@example.com"}}
    without.write_text(yaml.safe_dump(spec))
    assert realmctl("apply", "--yes", str(without), env=env).code == 0
    carol_in_a = exchange(url, a, b_token(url, b)).json()["access_token"]
    refused = impersonate(url, a, carol_in_a, "dave")
    assert refused.status_code == 403
    assert refused.json() == {"error": "access_denied", "error_description": "Client not allowed to exchange"}
    assert realmctl("apply", "--yes", str(example_for(a, b, tmp_path, impersonation=True)), env=env).code == 0
    carol_in_a = exchange(url, a, b_token(url, b)).json()["access_token"]
    accepted = impersonate(url, a, carol_in_a, "dave")
    assert accepted.status_code == 200, accepted.text
    assert claims(accepted.json()["access_token"])["preferred_username"] == "dave"


def test_on_keycloak_26_defaults_the_same_request_fails_as_keycloak_fails_it(keycloak: Any, tmp_path: Path) -> None:
    if keycloak.profile != "keycloak-26":
        return
    a, b = unique("realm-a"), unique("realm-b")
    # Pinned: on a 26.6+ default server an unpinned entry gets the JWT Authorization Grant instead.
    path = example_for(a, b, tmp_path, method="legacy-exchange")
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    result = realmctl("apply", "--yes", str(path), env=env)
    assert result.code == 1 and "--features=token-exchange,admin-fine-grained-authz:v1" in result.err

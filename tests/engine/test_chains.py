"""Which variant of each chain `plan` wires on which server, pins, and removal of what the variants made.

Runs on sandboxes of three profiles (the real answers these mirror are in docs/keycloak-26.7-facts.md;
tests/e2e/test_modern_chains.py runs the chains themselves on a real 26.7.3 server too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realmctl.sandbox import Sandbox
from tests.e2e.test_modern_chains import jwt_spec
from tests.helpers import ROOT, Admin, env_for, realmctl, unique


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, Sandbox]]:
    with Sandbox(profile="modern") as modern, Sandbox(profile="keycloak-26") as default:
        yield {"modern": modern, "keycloak-26": default}


def run(sb: Sandbox, *args: str) -> Any:
    return realmctl(*args, env=env_for(sb.url, sb.admin_user, sb.admin_password))


def stored_spec(realm: str, **entry: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {"up": {"providerId": "oidc", "config": {"clientId": "x"}}},
                "clients": {"app": {"publicClient": False, "secret": "app-secret-t"}},
                "storedTokens": {"app-reads-up": {"identityProvider": "up", "clients": ["app"], **entry}},
            }
        },
    }


def write(tmp_path: Path, spec: dict[str, Any]) -> str:
    path = tmp_path / f"{unique('spec')}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_v1_is_wired_where_v2_is_off_and_a_v2_pin_names_the_flag(sandboxes: dict[str, Sandbox], tmp_path: Path) -> None:
    sb = sandboxes["keycloak-26"]
    plan = run(sb, "plan", write(tmp_path, stored_spec(unique("st"))))
    assert plan.code == 0, plan.all
    assert "identity-brokering-api v1" in plan.all and "client scope broker_read_token" in plan.out
    assert "may read stored tokens" not in plan.out
    pinned = run(sb, "plan", write(tmp_path, stored_spec(unique("st"), api="v2")))
    assert pinned.code == 1 and "--features=identity-brokering-api:v2" in pinned.all, pinned.all


def test_v2_is_wired_where_v2_is_on_and_a_v1_pin_is_refused(sandboxes: dict[str, Sandbox], tmp_path: Path) -> None:
    sb = sandboxes["modern"]
    plan = run(sb, "plan", write(tmp_path, stored_spec(unique("st"))))
    assert plan.code == 0, plan.all
    assert "client app may read stored tokens of identity provider up" in plan.out
    assert "broker_read_token" not in plan.out
    pinned = run(sb, "plan", write(tmp_path, stored_spec(unique("st"), api="v1")))
    assert pinned.code == 1 and "pins api: v1" in pinned.all, pinned.all


def test_a_public_client_cannot_read_through_v2(sandboxes: dict[str, Sandbox], tmp_path: Path) -> None:
    spec = stored_spec(unique("st"))
    next(iter(spec["realms"].values()))["clients"]["app"] = {"publicClient": True}
    plan = run(sandboxes["modern"], "plan", write(tmp_path, spec))
    assert plan.code == 1 and "public clients not allowed" in plan.all, plan.all


def test_legacy_exchange_pinned_on_a_server_without_it_names_the_flags(
    sandboxes: dict[str, Sandbox], tmp_path: Path
) -> None:
    spec = jwt_spec(unique("a"), unique("b"))
    for realm in spec["realms"].values():
        for entry in (realm.get("tokenExchange") or {}).values():
            entry["method"] = "legacy-exchange"
    plan = run(sandboxes["modern"], "plan", write(tmp_path, spec))
    assert plan.code == 1 and "--features=token-exchange,admin-fine-grained-authz:v1" in plan.all, plan.all


def test_what_the_variants_made_leaves_with_the_entry(sandboxes: dict[str, Sandbox], tmp_path: Path) -> None:
    sb = sandboxes["modern"]
    admin = Admin(sb.url, sb.admin_user, sb.admin_password)
    a, b = unique("a"), unique("b")
    spec = jwt_spec(a, b)
    spec["realms"][a]["storedTokens"] = {"reads": {"identityProvider": "mine", "clients": ["a-app"]}}
    spec["realms"][a]["identityProviders"] = {"mine": {"providerId": "oidc", "config": {"clientId": "x"}}}
    assert run(sb, "apply", "--yes", write(tmp_path, spec)).code == 0
    # Someone else allowed the client for another IdP too: realmctl keeps that alias.
    client = admin.client(a, "a-app") or {}
    client["attributes"]["external.token.idp"] = "mine##theirs"
    admin.put(f"admin/realms/{a}/clients/{client['id']}", client)
    uid = admin.get(f"admin/realms/{a}/users", username="alice-a", exact="true")[0]["id"]
    assert [x["identityProvider"] for x in admin.get(f"admin/realms/{a}/users/{uid}/federated-identity")] == ["realm-b"]

    del spec["realms"][a]["tokenExchange"], spec["realms"][a]["storedTokens"]
    result = run(sb, "apply", "--yes", write(tmp_path, spec))
    assert result.code == 0, result.all
    attributes = (admin.client(a, "a-app") or {})["attributes"]
    assert attributes.get("external.token.idp") == "theirs" and attributes.get("external.token.enabled") == "true"
    assert not attributes.get("oauth2.jwt.authorization.grant.enabled")
    assert admin.get(f"admin/realms/{a}/users/{uid}/federated-identity") == []
    assert admin.call("GET", f"admin/realms/{a}/identity-provider/instances/realm-b").status_code == 404


def test_a_v1_chain_by_hand_on_a_v2_server_is_named(sandboxes: dict[str, Sandbox]) -> None:
    """examples/stored-tokens.yaml grants broker/read-token by hand: on a v2 server that cannot work."""
    found = run(sandboxes["modern"], "check", str(ROOT / "examples" / "stored-tokens.yaml"))
    assert found.code == 3 and "v2.v1-chain" in found.out, found.all
    assert "Identity Brokering API feature not enabled" in found.out
    assert "broker.role-not-in-scope" not in found.out  # the v1 rules are not applied on a v2 server

"""`check` and `plan` on the planned state: a spec change that would break a working chain is shown
before it is applied (issue #16 item 4).

A realm is applied from examples/stored-tokens.yaml, so its chain holds; then the spec is changed
the way a pull request would change it. `plan` must carry the break in its warnings (text, json,
markdown) and `check` must fail with exit 3 on the finding the plan creates, although the server is
still fine. Runs on the sandbox and on a real Keycloak (REALMCTL_TEST_URL).
"""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, Admin, Result, env_for, realmctl, unique


class World:
    def __init__(self, keycloak: Any, tmp_path: Path) -> None:
        self.realm = unique("planned")
        spec = yaml.safe_load((ROOT / "examples" / "stored-tokens.yaml").read_text())
        spec["realms"] = {self.realm: spec["realms"]["apps"]}
        self.spec: dict[str, Any] = spec
        self.path = tmp_path / "spec.yaml"
        self.env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)

    @property
    def r(self) -> dict[str, Any]:
        realm: dict[str, Any] = self.spec["realms"][self.realm]
        return realm

    def run(self, *args: str) -> Result:
        self.path.write_text(yaml.safe_dump(self.spec, sort_keys=False))
        return realmctl(*args, str(self.path), env=self.env)

    def check(self) -> dict[str, Any]:
        result = self.run("check", "--format", "json")
        body: dict[str, Any] = json.loads(result.out)
        body["exit"] = result.code
        return body

    def cleanup(self) -> None:
        self.admin.call("DELETE", f"admin/realms/{self.realm}")


@pytest.fixture
def world(keycloak: Any, tmp_path: Path) -> Any:
    w = World(keycloak, tmp_path)
    yield w
    w.cleanup()


def errors(body: dict[str, Any], plan: str | None = None) -> list[str]:
    return [f["rule"] for f in body["findings"] if f["severity"] == "error" and f.get("plan") == plan]


def test_store_token_off_is_shown_by_plan_and_fails_check_before_apply(world: World) -> None:
    assert world.run("apply", "--yes").code == 0
    before = world.check()
    assert before["exit"] == 0 and errors(before) == [], before

    world.r["identityProviders"]["azure"]["storeToken"] = False
    text = world.run("plan")
    assert text.code == 0, text.all
    assert "applying this plan breaks a chain (error broker.store-token-off" in text.out, text.out
    body = json.loads(world.run("plan", "--format", "json").out)
    assert any("broker.store-token-off" in w for w in body["warnings"]), body["warnings"]
    markdown = world.run("plan", "--format", "markdown").out
    assert "**Warning:** applying this plan breaks a chain (error broker.store-token-off" in markdown, markdown

    after = world.check()
    assert after["exit"] == 3, after
    assert errors(after, plan="creates") == ["broker.store-token-off"], after
    assert errors(after) == [], "the server itself is still fine"
    text_check = world.run("check")
    assert "ERROR broker.store-token-off" in text_check.out and "the plan breaks this" in text_check.out

    # Applied anyway: now the live chain is broken, and the original spec's plan fixes it.
    assert world.run("apply", "--yes").code == 0
    world.r["identityProviders"]["azure"]["storeToken"] = True
    fixed = world.check()
    assert fixed["exit"] == 3  # the server is broken until the fix is applied
    assert errors(fixed) == [] and errors(fixed, plan="fixes") == ["broker.store-token-off"], fixed


def test_removing_the_scope_that_carries_the_role_breaks_a_full_scope_off_client(world: World) -> None:
    world.r["clients"]["my-app"]["fullScopeAllowed"] = False
    assert world.run("apply", "--yes").code == 0
    assert world.check()["exit"] == 0

    world.r["clients"]["my-app"]["defaultClientScopes"] = []
    plan = world.run("plan")
    assert "- client scope broker_read_token on client my-app" in plan.out, plan.out
    assert "applying this plan breaks a chain (error broker.role-not-in-scope" in plan.out, plan.out
    after = world.check()
    assert after["exit"] == 3
    assert errors(after, plan="creates") == ["broker.role-not-in-scope"], after


def test_a_plan_that_breaks_nothing_has_no_chain_warning(world: World) -> None:
    assert world.run("apply", "--yes").code == 0
    world.r["clients"]["my-app"]["description"] = "changed"
    plan = world.run("plan")
    assert "~ client my-app" in plan.out and "breaks a chain" not in plan.out, plan.out
    assert world.check()["exit"] == 0


def test_revoking_a_declared_users_read_token_is_shown_before_apply(world: World) -> None:
    assert world.run("apply", "--yes").code == 0
    world.r["roleGrants"] = [{"users": ["bob"], "clientRoles": {"broker": ["read-token"]}}]
    plan = world.run("plan")
    assert "- role broker/read-token granted to user alice" in plan.out, plan.out
    assert "applying this plan breaks a chain (error broker.user-lacks-role" in plan.out, plan.out
    after = world.check()
    assert after["exit"] == 3
    assert errors(after, plan="creates") == ["broker.user-lacks-role"], after

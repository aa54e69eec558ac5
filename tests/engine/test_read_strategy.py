"""#19: `--read-strategy export` (one partial export per realm) plans exactly as `listings` (GETs).

For the README's examples and the benchmark's S spec, applied from empty and then changed, the
JSON plan made with each strategy must be the same document (changes, digests of the plan and of
what was read); an apply made with `export` converges (the next plan is empty). A caller without
manage-realm is refused `export` with a sentence naming the right, and `listings` still plans.

Runs against the sandboxes by default and against a real Keycloak when REALMCTL_TEST_URL is set
(with REALMCTL_TEST_LEGACY=1: cross-realm-exchange.yaml needs legacy token exchange).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.specgen import SIZES
from benchmarks.specgen import write as write_bench
from tests.helpers import Admin, env_for, realmctl, unique

ROOT = Path(__file__).resolve().parents[2]


def readme_example(name: str, tmp: Path, tag: str) -> list[str]:
    """An example of examples/ with realm names no other test uses."""
    text = (ROOT / "examples" / name).read_text()
    for realm in ("realm-a", "realm-b", "apps"):
        text = re.sub(rf"\b{realm}\b", f"{tag}-{realm}", text)
    path = tmp / name
    path.write_text(text)
    return [str(path)]


def bench_s(tmp: Path, tag: str) -> list[str]:
    return [str(p) for p in write_bench(SIZES["S"], tmp, 8, tag)]


def change(paths: list[str]) -> None:
    """Edits the spec as a user would: one client's description changed, a client with a role added."""
    for path in paths:
        body = yaml.safe_load(Path(path).read_text())
        for realm in body["realms"].values():
            clients = realm.setdefault("clients", {})
            first = next(iter(clients), None)
            if first is not None:
                clients[first] = {**(clients[first] or {}), "description": "changed by the read-strategy test"}
            clients["exr-added"] = {"publicClient": True, "roles": {"viewer": {"description": "added"}}}
        Path(path).write_text(yaml.safe_dump(body, sort_keys=False))


def regenerate_a_declared_secret(admin: Admin, paths: list[str]) -> None:
    """Changes by hand the secret of the first client whose spec declares one."""
    body = yaml.safe_load(Path(paths[0]).read_text())
    realm, client_id = next(
        (r, c) for r, spec in body["realms"].items() for c, cs in (spec.get("clients") or {}).items() if "secret" in cs
    )
    base = f"{admin.url}/admin/realms/{realm}/clients"
    uuid = admin.session.get(base, params={"clientId": client_id}).json()[0]["id"]
    assert admin.session.post(f"{base}/{uuid}/client-secret").status_code == 200


def plan_json(env: dict[str, str], paths: list[str], strategy: str) -> dict[str, Any]:
    result = realmctl("plan", *paths, "--format", "json", "--read-strategy", strategy, env=env)
    assert result.code == 0, result.err
    body: dict[str, Any] = json.loads(result.out)
    return body


def assert_same_plans(env: dict[str, str], paths: list[str]) -> dict[str, Any]:
    listings = plan_json(env, paths, "listings")
    export = plan_json(env, paths, "export")
    assert export == listings
    return export


def apply_export(env: dict[str, str], paths: list[str]) -> None:
    result = realmctl("apply", *paths, "--yes", "--read-strategy", "export", env=env)
    assert result.code == 0, result.out + result.err
    assert not plan_json(env, paths, "export")["changes"], "an apply with export must converge"


SPECS = {
    "stored-tokens": lambda tmp, tag: readme_example("stored-tokens.yaml", tmp, tag),
    "cross-realm-exchange": lambda tmp, tag: readme_example("cross-realm-exchange.yaml", tmp, tag),
    "bench-S": bench_s,
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_export_plans_as_listings_from_empty_after_apply_and_after_a_change(
    name: str, legacy_keycloak: Any, tmp_path: Path
) -> None:
    k = legacy_keycloak
    env = env_for(k.url, k.admin_user, k.admin_password)
    tag = unique("exr")
    paths = SPECS[name](tmp_path, tag)
    admin = Admin(k.url, k.admin_user, k.admin_password)
    realms = list(yaml.safe_load(Path(paths[0]).read_text())["realms"])
    try:
        assert assert_same_plans(env, paths)["changes"]
        apply_export(env, paths)
        assert not assert_same_plans(env, paths)["changes"]
        regenerate_a_declared_secret(admin, paths)  # the export masks secrets: the drift must still show
        assert [c["action"] for c in assert_same_plans(env, paths)["changes"]] == ["update"]
        change(paths)
        changed = assert_same_plans(env, paths)
        assert {c["action"] for c in changed["changes"]} >= {"create", "update"}
        apply_export(env, paths)
    finally:
        for realm in realms:
            admin.session.delete(f"{admin.url}/admin/realms/{realm}")


def test_export_without_manage_realm_is_refused_and_listings_still_plans(keycloak: Any, tmp_path: Path) -> None:
    """A master user with view rights only: `listings` plans, `export` names the right it lacks."""
    k = keycloak
    admin = Admin(k.url, k.admin_user, k.admin_password)
    tag = unique("exr")
    paths = readme_example("stored-tokens.yaml", tmp_path, tag)
    env = env_for(k.url, k.admin_user, k.admin_password)
    assert realmctl("apply", *paths, "--yes", env=env).code == 0
    viewer = f"{tag}-viewer"
    base = f"{admin.url}/admin/realms/master"
    try:
        created = admin.session.post(
            f"{base}/users",
            json={
                "username": viewer,
                "enabled": True,
                "credentials": [{"type": "password", "value": "viewer-pw", "temporary": False}],
            },
        )
        assert created.status_code == 201, created.text
        uid = created.headers["Location"].rsplit("/", 1)[-1]
        realm_client = admin.session.get(f"{base}/clients", params={"clientId": f"{tag}-apps-realm"}).json()[0]
        roles = admin.session.get(f"{base}/clients/{realm_client['id']}/roles").json()
        views = [r for r in roles if r["name"].startswith(("view-", "query-"))]
        granted = admin.session.post(f"{base}/users/{uid}/role-mappings/clients/{realm_client['id']}", json=views)
        assert granted.status_code == 204, granted.text
        viewer_env = env_for(k.url, viewer, "viewer-pw")
        listed = realmctl("plan", *paths, "--format", "json", env=viewer_env)
        assert listed.code == 0, listed.err
        assert not json.loads(listed.out)["changes"]
        refused = realmctl("plan", *paths, "--read-strategy", "export", env=viewer_env)
        assert refused.code != 0
        assert "manage-realm" in refused.err and "--read-strategy listings" in refused.err, refused.err
    finally:
        admin.session.delete(f"{admin.url}/admin/realms/{tag}-apps")
        users = admin.session.get(f"{base}/users", params={"username": viewer, "exact": "true"}).json()
        for user in users:
            admin.session.delete(f"{base}/users/{user['id']}")


@pytest.mark.parametrize("command", ["plan", "apply", "check"])
def test_help_says_export_is_a_post_needing_manage_realm(command: str) -> None:
    shown = realmctl(command, "--help")
    assert shown.code == 0
    text = re.sub(r"-\s+", "-", re.sub(r"\s+", " ", shown.out))
    assert "--read-strategy [listings|export]" in text
    assert "it is a POST (it writes nothing) and needs manage-realm" in text
    assert "default: listings" in text


def test_a_snapshot_cannot_be_saved_from_an_export(tmp_path: Path) -> None:
    """`--save-snapshot` files the listings' GET answers, which an export does not send."""
    paths = readme_example("stored-tokens.yaml", tmp_path, unique("exr"))
    refused = realmctl("plan", *paths, "--sandbox", "--read-strategy", "export", "--save-snapshot", "x.json")
    assert refused.code != 0
    assert "--save-snapshot records the listings' GETs" in refused.err

"""`realmctl sandbox` starts a server, says where on stderr, never prints the password."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.helpers import realmctl

ROOT = Path(__file__).resolve().parents[2]


def test_cli_prints_url_and_user_then_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "realmctl", "sandbox", "--port", "0", "--admin-password", "pw-SECRET-42"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "pw-SECRET-42" not in line
        found = re.search(r"(http://127\.0\.0\.1:\d+) \(admin user: admin\)", line)
        assert found, line
        response = requests.post(
            f"{found.group(1)}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": "pw-SECRET-42",
            },
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_rejects_unknown_profile() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "realmctl", "sandbox", "--port", "0", "--profile", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'nope' is not one of 'keycloak-26', 'legacy-exchange', 'modern'" in result.stderr


def test_cli_refuses_an_import_twice_with_a_clear_message(tmp_path: Path) -> None:
    export = tmp_path / "realm.json"
    export.write_text('{"realm": "twice"}')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "realmctl",
            "sandbox",
            "--port",
            "0",
            "--import",
            str(export),
            "--import",
            str(export),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Realm twice already exists" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_imported_realm_keeps_components_flows_required_actions_and_client_policies(tmp_path: Path) -> None:
    """Item 4 of issue #14: parts of a realm file the sandbox does not act on are kept as imported."""
    from realmctl.sandbox import Sandbox

    flow = {
        "alias": "my-flow",
        "providerId": "basic-flow",
        "topLevel": True,
        "builtIn": False,
        "authenticationExecutions": [],
    }
    rep = {
        "realm": "kept",
        "enabled": True,
        "authenticationFlows": [flow],
        "requiredActions": [
            {"alias": "VERIFY_EMAIL", "name": "Verify Email", "providerId": "VERIFY_EMAIL", "enabled": True}
        ],
        "clientPolicies": {"policies": [{"name": "p1", "enabled": True, "conditions": [], "profiles": []}]},
        "clientProfiles": {"profiles": [{"name": "prof1", "executors": []}]},
        "components": {
            "org.keycloak.keys.KeyProvider": [
                {
                    "name": "k1",
                    "providerId": "rsa-generated",
                    "subComponents": {},
                    "config": {"priority": ["7"], "privateKey": ["x"]},
                }
            ]
        },
    }
    export = tmp_path / "kept.json"
    export.write_text(json.dumps(rep))
    with Sandbox(imports=[export]) as sb:
        token = requests.post(
            f"{sb.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": sb.admin_user,
                "password": sb.admin_password,
            },
            timeout=30,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        realm = requests.get(f"{sb.url}/admin/realms/kept", headers=headers, timeout=30).json()
        assert realm["clientPolicies"] == rep["clientPolicies"]
        assert realm["clientProfiles"] == rep["clientProfiles"]
        exported = requests.post(f"{sb.url}/admin/realms/kept/partial-export", headers=headers, timeout=30).json()
        assert exported["authenticationFlows"] == [flow]
        assert exported["requiredActions"] == rep["requiredActions"]
        assert exported["components"] == {
            "org.keycloak.keys.KeyProvider": [
                {"name": "k1", "providerId": "rsa-generated", "subComponents": {}, "config": {"priority": ["7"]}}
            ]
        }


def _bad_exports(tmp_path: Path) -> list[tuple[Path, str]]:
    """Exports the sandbox cannot take, each with the sentence both import paths must print."""
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    argon = tmp_path / "argon-realm.json"
    user = {"username": "ann", "credentials": [{"type": "password", "secretData": "{}"}]}
    user["credentials"][0]["credentialData"] = json.dumps({"algorithm": "made-up-hash"})
    argon.write_text(json.dumps({"realm": "argon", "users": [user], "enabled": True, "roles": {}}))
    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text(json.dumps({"realm": "shapeless", "clients": ["not-an-object"]}))
    start = "cannot start the sandbox: cannot import"
    return [
        (garbage, f"{start} {garbage}: not a JSON realm file"),
        (
            argon,
            f"{start} {argon} (realm 'argon'): user 'ann': password hashed with 'made-up-hash'",
        ),
        (
            shapeless,
            f"{start} {shapeless} (realm 'shapeless'): not a realm export Keycloak writes",
        ),
    ]


def test_sandbox_import_and_sandbox_import_option_say_the_same_sentence(tmp_path: Path) -> None:
    """Issue #14: `realmctl sandbox --import` and `plan --sandbox-import` name the file, the realm
    and the object they cannot take in the same words, without a traceback."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nrealms: {}\n")
    for bad, sentence in _bad_exports(tmp_path):
        served = subprocess.run(
            [sys.executable, "-m", "realmctl", "sandbox", "--port", "0", "--import", str(bad)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        # `plan` in this process (it cannot hang: it ends with its plan); `sandbox` stays a child
        # process, as it would serve forever were the import taken
        here = realmctl("plan", "--sandbox-import", str(bad), str(spec))
        planned = subprocess.CompletedProcess(["plan"], here.code, here.out, here.err)
        for result in (served, planned):
            assert result.returncode == 1, result.stderr
            assert sentence in result.stderr and "Traceback" not in result.stderr, result.stderr

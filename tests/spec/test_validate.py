"""`realmctl validate` as a user sees it: good specs, several files, JSON output, no secret leaks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from realmctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-7f3e9c1d-do-not-print"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real entry point, in a child process, as a pipeline would call it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "realmctl", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=60,
    )


@pytest.mark.parametrize("target", ["examples/stored-tokens.yaml", "examples/cross-realm-exchange.yaml", "examples"])
def test_examples_are_valid(target: str) -> None:
    result = run("validate", target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("OK: ")


def test_ok_summary_counts_realms_objects_and_files() -> None:
    result = run("validate", "examples/stored-tokens.yaml")
    # azure + its 0 mappers, broker_read_token + 1 mapper, my-app, alice, bob, 1 role grant
    assert result.stdout.strip() == "OK: 1 realm, 7 objects in 1 file"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_directory_of_files_merges_realms_and_objects(tmp_path: Path) -> None:
    _write(
        tmp_path / "spec" / "10-realm-b.yaml",
        "version: 1\nrealms:\n  realm-b:\n    clients:\n      b-client: {}\n",
    )
    _write(
        tmp_path / "spec" / "20-realm-a.yaml",
        "version: 1\nrealms:\n  realm-a:\n    clients:\n      a-client: {publicClient: false}\n",
    )
    _write(
        tmp_path / "spec" / "30-exchange.yml",
        "version: 1\nrealms:\n  realm-a:\n    tokenExchange:\n      from-b:\n"
        "        source: {realm: realm-b, client: b-client}\n        identityProvider: realm-b\n"
        "        clients: [a-client]\n",
    )
    _write(tmp_path / "spec" / "notes.txt", "not a spec")
    result = run("validate", "spec", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "OK: 2 realms, 3 objects in 3 files"


def test_several_paths_and_a_duplicate_object_names_both_places(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", "version: 1\nrealms:\n  apps:\n    users:\n      alice: {}\n")
    _write(tmp_path / "b.yaml", "version: 1\nrealms:\n  apps:\n    groups: [g]\n    users:\n      alice: {}\n")
    result = run("validate", "a.yaml", "b.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "b.yaml:6:7: error: user `alice` of realm `apps` is declared twice: at a.yaml:5:7 and at b.yaml:6:7"
        " (declare each object once)",
        "1 error, 0 warnings in 2 files",
    ]


def test_a_directory_without_spec_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("validate", "empty", cwd=tmp_path)
    assert result.returncode == 1
    assert "has no `*.yaml` or `*.yml` file" in result.stdout


def test_json_output_shape() -> None:
    result = run("validate", "--format", "json", "tests/spec/bad/unknown-key-typo.yaml")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == 1 and doc["valid"] is False
    assert doc["findings"] == [
        {
            "severity": "error",
            "code": "unknown-key",
            "message": "unknown key `storeTokens` in identity provider `azure`",
            "file": "tests/spec/bad/unknown-key-typo.yaml",
            "line": 7,
            "column": 9,
            "hint": "did you mean `storeToken`?",
        }
    ]
    assert doc["summary"] == {"errors": 1, "warnings": 0, "files": 1, "realms": 0, "objects": 0}


def test_json_output_of_a_valid_spec_with_a_warning() -> None:
    result = run("validate", "--format", "json", "tests/spec/bad/mapper-without-client-warning.yaml")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["valid"] is True
    assert [f["severity"] for f in doc["findings"]] == ["warning"]
    assert doc["summary"] == {"errors": 0, "warnings": 1, "files": 1, "realms": 1, "objects": 2}


CANARY_SPEC = f"""\
version: 1
realms:
  apps:
    identityProviders:
      azure:
        providerId: oidc
        storeToken: {CANARY}
        storeTokenz: {CANARY}
        config:
          clientSecret: ${{env:CANARY_SECRET}}
          syncMode: {CANARY}
          pkceEnabled: [{CANARY}]
          issuer: https://login/${{env:CANARY_UNSET:-{CANARY}}}/${{nope:{CANARY}}}
    clients:
      my-app:
        secret: ${{env:CANARY_SECRET}}
        secrte: {CANARY}
        publicClient: {CANARY}
        redirectUris: [{CANARY}, {CANARY}]
        roles: {CANARY}
    users:
      alice:
        initialPassword: ${{env:CANARY_SECRET}}
        enabled: "{CANARY}"
        attributes: {{tenant: {{{CANARY}: x}}}}
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_value_reaches_the_output(tmp_path: Path, fmt: str) -> None:
    spec = _write(tmp_path / "canary.yaml", CANARY_SPEC)
    result = run("validate", "--format", fmt, str(spec), env={"CANARY_SECRET": CANARY})
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "storeTokenz" in output and "secrte" in output  # the findings are there...
    assert output.count("error") >= 8
    assert CANARY not in output  # ...but never the values
    assert "CANARY-7f3e" not in output


def test_validate_opens_no_network_connection() -> None:
    """The autouse fixture makes any connect() fail; validate must still succeed."""
    import socket

    with pytest.raises(AssertionError):
        socket.create_connection(("127.0.0.1", 9))
    result = CliRunner().invoke(cli, ["validate", str(ROOT / "examples")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 3 realms")

"""The command line's contract: help, version, schema, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realmctl", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_version_prints_package_version_and_the_keycloak_versions_tested() -> None:
    from realmctl import __version__

    result = run("--version")
    assert result.returncode == 0
    first, *rest = result.stdout.splitlines()
    assert first == f"realmctl, version {__version__}"
    tested = [line.split()[0] for line in rest if line.startswith("  ")]
    assert tested == ["26.7.3", "26.4.7", "25.0.6", "24.0.5"]
    assert "docs/compatibility.md" in result.stdout


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("validate", "plan", "apply", "check", "sandbox", "export", "schema"):
        assert f"  {command} " in result.stdout


def test_schema_command_prints_the_shipped_schema_file() -> None:
    result = run("schema")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "schemas" / "realmctl.schema.json").read_text()
    jsonschema.Draft202012Validator.check_schema(json.loads(result.stdout))


def test_usage_error_exits_1_not_2() -> None:
    """2 is reserved for `plan --detailed-exitcode` (changes pending)."""
    result = run("plan", "does-not-exist.yaml")
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_sandbox_json_line_and_password_from_the_environment() -> None:
    import json
    import os
    import signal

    env = {**os.environ, "REALMCTL_SANDBOX_ADMIN_PASSWORD": "from-env-7c1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "realmctl", "sandbox", "--port", "0", "--format", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert (line["format"], line["version"], line["adminUser"]) == ("realmctl.sandbox", 1, "admin")
        import requests

        token = requests.post(
            f"{line['url']}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "from-env-7c1"},
            timeout=10,
        )
        assert token.status_code == 200
    finally:
        # SIGTERM, not SIGINT: a shell that runs this suite in the background (`nohup … &`) passes
        # SIGINT on ignored, and the sandbox then rightly keeps ignoring it
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "sandbox stopped" in err, (proc.returncode, err)
    assert "from-env-7c1" not in err

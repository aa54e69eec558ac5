"""`realmctl sandbox` starts a server, says where on stderr, never prints the password."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

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
    assert "unknown sandbox profile 'nope'" in result.stderr


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

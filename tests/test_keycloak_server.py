"""tests/keycloak_server.py: what a developer sees when a tool is missing or a request is wrong, and
that the real backend runs the version it was asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import admin_for

ROOT = Path(__file__).resolve().parent.parent


def helper(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.keycloak_server", *args],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_fetch_without_maven_says_so_in_one_sentence(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = dict(os.environ, PATH=str(bin_dir), REALMCTL_KEYCLOAK_CACHE=str(tmp_path / "cache"))
    done = helper("fetch", "26.7.3", env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: Maven (`mvn`) is not installed") and done.stderr.count("\n") == 1


def test_start_with_an_unusable_java_says_so_in_one_sentence(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "26.7.3").mkdir(parents=True)
    (cache / "26.7.3" / "keycloak-quarkus-dist-26.7.3.zip").write_bytes(b"")  # fetched, as far as start knows
    env = dict(os.environ, REALMCTL_KEYCLOAK_CACHE=str(cache), REALMCTL_JAVA_HOME=str(tmp_path / "no-jdk"))
    done = helper("start", "26.7.3", "--port", "1", env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: No working Java 17+ found") and done.stderr.count("\n") == 1


def test_modern_profile_is_refused_before_26_6_without_fetching_anything(tmp_path: Path) -> None:
    env = dict(os.environ, REALMCTL_KEYCLOAK_CACHE=str(tmp_path))
    done = helper("start", "26.4.7", "--profile", "modern", "--port", "1", env=env)
    assert (done.returncode, done.stderr) == (1, "error: The modern profile needs Keycloak 26.6+, not 26.4.7.\n")
    assert list(tmp_path.iterdir()) == []


def test_stop_refuses_a_process_it_did_not_start(tmp_path: Path) -> None:
    env = dict(os.environ, REALMCTL_KEYCLOAK_CACHE=str(tmp_path))
    done = helper("stop", "--pid", str(os.getpid()), env=env)
    expected = f"error: No Keycloak started by this helper runs with PID {os.getpid()}.\n"
    assert (done.returncode, done.stderr) == (1, expected)


def test_the_real_backend_runs_the_requested_version(keycloak: Any, request: pytest.FixtureRequest) -> None:
    if keycloak.is_sandbox or request.config.getoption("backend") != "keycloak":
        pytest.skip("checks the servers that --backend keycloak starts")
    info = admin_for(keycloak).get_server_info()
    assert info["systemInfo"]["version"] == request.config.getoption("keycloak_version")
    features = {f["name"]: f["enabled"] for f in info["features"]}
    assert not features["TOKEN_EXCHANGE"] and features["ADMIN_FINE_GRAINED_AUTHZ_V2"]

"""Test helpers: run the real CLI in-process, read the server's request log, make raw admin calls."""

import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner

from realmctl.cli import run
from realmctl.keycloak.session import Api, Settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def realmctl(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Result:
    """Runs `realmctl ARGS` in this process (same code path as the console script)."""
    runner = CliRunner()
    with runner.isolation(input=stdin, env=env) as (out, err, _):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Admin:
    """Raw admin calls, independent of realmctl, to set up and inspect server state in tests."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        token = self.session.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": user, "password": password},
            timeout=30,
        )
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}/{path.lstrip('/')}", json=body, params=params, timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        response = self.call("GET", path, **params)
        response.raise_for_status()
        return response.json() if response.content else None

    def post(self, path: str, body: Any) -> requests.Response:
        response = self.call("POST", path, body)
        response.raise_for_status()
        return response

    def put(self, path: str, body: Any) -> requests.Response:
        response = self.call("PUT", path, body)
        response.raise_for_status()
        return response

    def client(self, realm: str, client_id: str) -> dict[str, Any] | None:
        found = self.get(f"admin/realms/{realm}/clients", clientId=client_id)
        return found[0] if found else None

    # sandbox-only: the request log
    def requests(self) -> dict[str, Any]:
        return self.get("sandbox/requests")  # type: ignore[no-any-return]

    def reset_requests(self) -> None:
        self.call("POST", "sandbox/requests/reset").raise_for_status()


def env_for(url: str, user: str, password: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYCLOAK_")}
    env.update({"KEYCLOAK_URL": url, "KEYCLOAK_USER": user, "KEYCLOAK_PASSWORD": password, "NO_COLOR": "1"})
    env.update(extra)
    return env


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


class NotingApi(Api):
    """A real Api that notes (method, path) of every request it sends, for tests that assert
    which requests a run sent."""

    def __init__(self, settings: Settings, parallelism: int = 4) -> None:
        super().__init__(settings, parallelism=parallelism)
        self.sent: list[tuple[str, str]] = []

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        self.sent.append((method, path))
        return super()._send(method, path, body, params, idempotent)

    def writes(self) -> list[tuple[str, str]]:
        """The requests sent other than GET."""
        return [(m, p) for m, p in self.sent if m != "GET"]

"""Throughput of the sandbox: simple admin GETs over one keep-alive connection.

Run: `.venv/bin/python benchmarks/sandbox_throughput.py [--requests N] [--in-process]`.
By default the sandbox runs in its own process (`realmctl sandbox --port 0`), as it does for a
user, so that client and server do not share one interpreter lock. Prints requests/second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from urllib.parse import urlencode, urlsplit

from realmctl.sandbox import Sandbox


def start_subprocess() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "realmctl", "sandbox", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"(http://\S+)", line)
    if not found:
        process.terminate()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, found.group(1)


def admin_token(conn: http.client.HTTPConnection) -> str:
    form = urlencode({"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"})
    conn.request(
        "POST",
        "/realms/master/protocol/openid-connect/token",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    return str(json.loads(response.read())["access_token"])


def run(url: str, count: int) -> float:
    """Requests per second for `count` GETs of the master realm's admin-cli client."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    headers = {"Authorization": f"Bearer {admin_token(conn)}"}
    conn.request("GET", "/admin/realms/master/clients?clientId=admin-cli", headers=headers)
    client_id = json.loads(conn.getresponse().read())[0]["id"]
    path = f"/admin/realms/master/clients/{client_id}"
    for _ in range(50):  # warm-up
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    started = time.perf_counter()
    for _ in range(count):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"unexpected status {response.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000, help="number of timed GETs (default 5000)")
    parser.add_argument("--in-process", action="store_true", help="serve from a thread of this process")
    args = parser.parse_args()
    process: subprocess.Popen[str] | None = None
    context: AbstractContextManager[object]
    if args.in_process:
        sandbox = Sandbox()
        context = sandbox
        url = sandbox.start().url
    else:
        process, url = start_subprocess()
        context = nullcontext()
    try:
        with context:
            rate = run(url, args.requests)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
    mode = "in-process" if args.in_process else "separate process"
    print(f"{args.requests} admin GETs over one keep-alive connection ({mode}): {rate:,.0f} requests/second")


if __name__ == "__main__":
    main()

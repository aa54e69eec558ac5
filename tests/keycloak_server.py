"""Fetch, start and stop real Keycloak servers for the tests (test infrastructure, not realmctl).

    python -m tests.keycloak_server fetch 26.7.3
    python -m tests.keycloak_server start 26.7.3 --profile legacy-exchange --port 18090
    python -m tests.keycloak_server stop --pid 12345        # or: stop --all

The distribution (`org.keycloak:keycloak-quarkus-dist`, type zip) comes from Maven into
`~/.cache/realmctl/keycloak/VERSION/` (`REALMCTL_KEYCLOAK_CACHE` moves the cache, and
`REALMCTL_MAVEN_REPO` sets Maven's local repository, e.g. an empty folder to prove a fresh machine
works). Each running server has its own unpacked copy (`run-PROFILE-K/`), because Keycloak keeps its
H2 database and its build in the distribution folder: two servers in one copy would share both. An
idle copy of the same profile is reused, with its database wiped, so that Quarkus does not have to
re-augment (about 30 s on two cores).

The server is started in its own process group and stopped through it, so that `kc.sh` and its
java child go together; a start that fails or is interrupted stops what it started.

Nothing here imports realmctl: the helper must keep working while realmctl itself is broken.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

NEWEST = "26.7.3"
"""The newest Keycloak that Maven serves (26.7.4+ is not served yet)."""

PROFILES: dict[str, list[str]] = {
    "default": [],
    "legacy-exchange": ["--features=token-exchange,admin-fine-grained-authz:v1"],
    "modern": ["--features=jwt-authorization-grant,identity-brokering-api:v2"],
}
"""Keycloak feature sets realmctl must handle; `modern` needs 26.6+."""

MODERN_SINCE = (26, 6)
MIN_JAVA = 17
FALLBACK_JDKS = (Path("/usr/lib/jvm/temurin-25-jdk-amd64"),)
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
STATE = "server.json"


class KeycloakServerError(RuntimeError):
    """A failure explained in one sentence (plus the log tail for a failed start)."""


@dataclass(frozen=True)
class Server:
    """One running Keycloak, as printed by `start` (one JSON line)."""

    url: str
    pid: int
    profile: str
    version: str
    port: int
    log: str
    management_port: int
    home: str
    admin_user: str = ADMIN_USER
    admin_password: str = ADMIN_PASSWORD

    def stop(self, timeout: float = 30.0) -> None:
        stop_pid(self.pid, timeout)


def cache_root() -> Path:
    return Path(os.environ.get("REALMCTL_KEYCLOAK_CACHE") or Path.home() / ".cache" / "realmctl" / "keycloak")


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _zip_path(version: str) -> Path:
    return cache_root() / version / f"keycloak-quarkus-dist-{version}.zip"


def fetch(version: str, maven_repo: str | None = None) -> Path:
    """The distribution zip of `version`, fetched through Maven unless already in the cache."""
    target = _zip_path(version)
    if target.is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakServerError(
            "Maven (`mvn`) is not installed, and the Keycloak distribution is fetched through it: "
            "install it (e.g. `apt-get install maven`)."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    artifact = f"org.keycloak:keycloak-quarkus-dist:{version}:zip"
    command = [
        mvn,
        "-q",
        "-B",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={target.parent}",
    ]
    repo = maven_repo or os.environ.get("REALMCTL_MAVEN_REPO")
    if repo:
        command.append(f"-Dmaven.repo.local={repo}")
    env = dict(os.environ, JAVA_HOME=str(pick_java_home()))  # Maven runs on Java too
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0 or not target.is_file():
        output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # only when empty: no cache folder for a version that is not there
        if "Unable to find artifact" in output or "Could not find artifact" in output:
            raise KeycloakServerError(f"Maven's repositories do not serve Keycloak {version} ({artifact}).")
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        detail = next((line for line in lines if "ERROR" in line), lines[-1] if lines else "no output")
        raise KeycloakServerError(f"Maven could not fetch Keycloak {version}: {detail[:300]}")
    return target


def _java_major(java: str) -> int | None:
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if done.returncode != 0 or match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def pick_java_home() -> Path:
    """JAVA_HOME for kc.sh: `REALMCTL_JAVA_HOME`, else the default java if it is 17+, else a newer JDK beside it."""
    forced = os.environ.get("REALMCTL_JAVA_HOME")
    candidates: list[Path] = [Path(forced)] if forced else []
    default = shutil.which("java")
    if default and not forced:
        candidates.append(Path(os.path.realpath(default)).parent.parent)
    if not forced:
        candidates.extend(FALLBACK_JDKS)
    for home in candidates:
        major = _java_major(str(home / "bin" / "java"))
        if major is not None and major >= MIN_JAVA:
            return home
    raise KeycloakServerError(
        f"No working Java {MIN_JAVA}+ found (tried {', '.join(map(str, candidates)) or 'none'}): "
        "install a JDK (e.g. `apt-get install openjdk-17-jdk-headless`) or set REALMCTL_JAVA_HOME."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_state(run_dir: Path) -> dict[str, object] | None:
    """The state of the server running in `run_dir`, or None when the copy is idle."""
    try:
        state = json.loads((run_dir / STATE).read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("pid")
    if isinstance(pid, int) and _alive(pid) and _belongs(pid, Path(str(state.get("home", "")))):
        return dict(state)
    return None


def _belongs(pid: int, home: Path) -> bool:
    """Whether process group `pid` is a Keycloak started from `home` (guards against reused PIDs)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # no /proc: trust the state file
    return str(home) in cmdline


def _claim_copy(version: str, profile: str) -> Path:
    """An unpacked distribution no running server uses: an idle copy of this profile, or a new one."""
    base = cache_root() / version
    for k in range(1, 100):
        run_dir = base / f"run-{profile}-{k}"
        if run_dir.exists() and _running_state(run_dir) is not None:
            continue
        claim = run_dir / STATE
        run_dir.mkdir(parents=True, exist_ok=True)
        claim.unlink(missing_ok=True)
        try:
            with open(claim, "x") as handle:
                handle.write(json.dumps({"pid": None, "claimed": os.getpid()}))
        except FileExistsError:
            continue
        return run_dir
    raise KeycloakServerError(f"99 copies of Keycloak {version} ({profile}) are in use under {base}.")


def _unpacked_home(run_dir: Path, version: str) -> Path:
    home = run_dir / f"keycloak-{version}"
    if not (home / "bin" / "kc.sh").is_file():
        shutil.rmtree(home, ignore_errors=True)
        with zipfile.ZipFile(fetch(version)) as archive:
            archive.extractall(run_dir)
        for script in (home / "bin").glob("*.sh"):
            script.chmod(0o755)
    # A fresh database per start: tests must not depend on what an earlier session left.
    shutil.rmtree(home / "data", ignore_errors=True)
    return home


def _health_url(version: str, port: int, management_port: int) -> str:
    if _version_tuple(version) < (25,):  # the management interface came with 25.0
        return f"http://127.0.0.1:{port}/health/ready"
    return f"http://127.0.0.1:{management_port}/health/ready"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(
    version: str = NEWEST,
    profile: str = "default",
    port: int | None = None,
    management_port: int | None = None,
    timeout: float = 420.0,
) -> Server:
    """Start Keycloak `version` with `profile` on 127.0.0.1 and return once /health/ready answers 200."""
    if profile not in PROFILES:
        raise KeycloakServerError(f"Unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")
    if profile == "modern" and _version_tuple(version) < MODERN_SINCE:
        raise KeycloakServerError(f"The modern profile needs Keycloak 26.6+, not {version}.")
    port = port or free_port()
    # Before 25.0 there is no management interface: health is served on the HTTP port.
    management_port = port if _version_tuple(version) < (25,) else management_port or free_port()
    for taken in {port, management_port}:
        if _port_taken(taken):
            raise KeycloakServerError(f"Port {taken} on 127.0.0.1 is already in use.")
    fetch(version)
    java_home = pick_java_home()
    run_dir = _claim_copy(version, profile)
    process: subprocess.Popen[bytes] | None = None
    try:
        home = _unpacked_home(run_dir, version)
        log = run_dir / f"server-{port}.log"
        for old in run_dir.glob("server-*.log"):
            old.unlink()
        args = [str(home / "bin" / "kc.sh"), "start-dev", "--http-host=127.0.0.1", f"--http-port={port}"]
        if _version_tuple(version) >= (25,):
            args.append(f"--http-management-port={management_port}")
        args += ["--health-enabled=true", *PROFILES[profile]]
        env = dict(os.environ, JAVA_HOME=str(java_home))
        env.update(
            KC_BOOTSTRAP_ADMIN_USERNAME=ADMIN_USER,
            KC_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
            KEYCLOAK_ADMIN=ADMIN_USER,  # before 26.0
            KEYCLOAK_ADMIN_PASSWORD=ADMIN_PASSWORD,
        )
        with open(log, "wb") as out:
            process = subprocess.Popen(
                args, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        server = Server(
            url=f"http://127.0.0.1:{port}",
            pid=process.pid,
            profile=profile,
            version=version,
            port=port,
            log=str(log),
            management_port=management_port,
            home=str(home),
        )
        (run_dir / STATE).write_text(json.dumps(asdict(server)))
        health = _health_url(version, port, management_port)
        deadline = time.monotonic() + timeout
        while not _ready(health):
            if process.poll() is not None:
                raise KeycloakServerError(
                    f"Keycloak {version} ({profile}) exited with {process.returncode} before it was ready; "
                    f"log tail ({log}):\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise KeycloakServerError(
                    f"Keycloak {version} ({profile}) was not ready after {timeout:.0f} s; "
                    f"log tail ({log}):\n{_tail(log)}"
                )
            time.sleep(0.5)
        return server
    except BaseException:
        if process is not None:
            stop_pid(process.pid)
        (run_dir / STATE).unlink(missing_ok=True)
        raise


def stop_pid(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM the process group `pid`, SIGKILL it after `timeout`; False when it was not running."""
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap our own child so that it does not linger as a zombie
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
            break
        time.sleep(0.2)
    return True


def running() -> list[dict[str, object]]:
    """Every server this helper started that still runs (from the cache's state files)."""
    found = []
    for state_file in sorted(cache_root().glob(f"*/run-*/{STATE}")):
        state = _running_state(state_file.parent)
        if state is not None:
            found.append(state)
    return found


def stop(pid: int | None = None, all_servers: bool = False) -> list[int]:
    """Stop the server with `pid` (only one this helper started), or all of them; the PIDs stopped."""
    stopped = []
    for state in running():
        state_pid = int(str(state["pid"]))
        if all_servers or state_pid == pid:
            stop_pid(state_pid)
            stopped.append(state_pid)
            with contextlib.suppress(OSError):
                (Path(str(state["home"])).parent / STATE).unlink()
    if pid is not None and pid not in stopped:
        raise KeycloakServerError(f"No Keycloak started by this helper runs with PID {pid}.")
    return stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.keycloak_server", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help="fetch a Keycloak distribution through Maven into the cache")
    fetch_cmd.add_argument("version")
    start_cmd = commands.add_parser("start", help="start a server; prints one JSON line once it is ready")
    start_cmd.add_argument("version")
    start_cmd.add_argument("--profile", choices=sorted(PROFILES), default="default")
    start_cmd.add_argument("--port", type=int, required=True)
    start_cmd.add_argument("--management-port", type=int)
    start_cmd.add_argument("--timeout", type=float, default=420.0)
    stop_cmd = commands.add_parser("stop", help="stop servers this helper started")
    which = stop_cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--pid", type=int)
    which.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            began = time.monotonic()
            path = fetch(args.version)
            seconds = round(time.monotonic() - began, 1)
            print(json.dumps({"version": args.version, "zip": str(path), "seconds": seconds}))
        elif args.command == "start":
            server = start(args.version, args.profile, args.port, args.management_port, args.timeout)
            print(json.dumps({k: v for k, v in asdict(server).items() if not k.startswith("admin_")}))
        else:
            print(json.dumps({"stopped": stop(args.pid, args.all)}))
    except KeycloakServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The steps behind `plan` and `apply`: connect, load, plan, show, apply, verify.

Kept out of cli.py so that tests and other programs can drive a whole run from Python.
"""

import contextlib
import dataclasses
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from realmctl.engine import ApplyResult, Run, Safety, apply_plan, make_plan
from realmctl.errors import RealmctlError
from realmctl.keycloak.session import Api, Settings
from realmctl.keycloak.transport import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, Clock
from realmctl.plan import Change
from realmctl.render import as_json, describe, markdown, text
from realmctl.spec.loader import MAX_SPEC_BYTES, LoadOptions
from realmctl.spec.model import Spec

PLAN_FORMAT = "realmctl.plan"


@dataclass
class Target:
    """Where to connect: the environment's server, or an in-process sandbox."""

    sandbox: bool = False
    sandbox_imports: tuple[str, ...] = ()
    sandbox_profile: str = "keycloak-26"
    parallelism: int = 8
    timeout: float = DEFAULT_TIMEOUT  # seconds for each whole answer
    deadline: float = DEFAULT_DEADLINE  # seconds for the run's server work
    read_strategy: str = "listings"  # or "export": one partial export per realm (realmctl/export_read.py)


@contextlib.contextmanager
def connect(target: Target, err: TextIO | None = None) -> Iterator[Api]:
    """Logs in and yields an Api; for a sandbox target, runs one in memory meanwhile.

    The run's deadline starts here; realmctl's own warnings about the connection (TLS off, plain
    http off this machine) go to `err` before anything is sent.
    """
    err = err or sys.stderr  # looked up now: the CLI's stderr may have been replaced (tests)
    clock = Clock(target.timeout, target.deadline)
    if not target.sandbox:
        settings = Settings.from_env()
        for warning in settings.warnings():
            print(f"realmctl: warning: {warning}", file=err)
        api = Api(settings, parallelism=target.parallelism, clock=clock)
        api.read_strategy = target.read_strategy
        api.login()
        yield api
        return
    from realmctl.sandbox import Sandbox
    from realmctl.sandbox.errors import HttpError

    try:
        sandbox = Sandbox(profile=target.sandbox_profile, imports=target.sandbox_imports)
    except (ValueError, OSError) as exc:
        # the same sentence as `realmctl sandbox --import`: file, realm and object named by the import
        raise RealmctlError(f"cannot start the sandbox: {exc}") from None
    except HttpError as exc:  # as `realmctl sandbox` words it
        raise RealmctlError(f"cannot import: {exc.body}") from None
    with sandbox as sb:
        print(
            f"realmctl: using an in-memory sandbox ({target.sandbox_profile}) at {sb.url}; "
            "nothing is sent to a real server.",
            file=err,
        )
        settings = Settings(url=sb.url, user=sb.admin_user, password=sb.admin_password)
        api = Api(settings, parallelism=target.parallelism, clock=clock)
        api.read_strategy = target.read_strategy
        api.login()
        yield api


def load(paths: Sequence[str], options: LoadOptions | None = None) -> Spec:
    from realmctl.spec.loader import load_spec

    return load_spec(list(paths), options=options)


def render(run: Run, fmt: str, colour: bool) -> str:
    if fmt == "json":
        return as_json(run.plan)
    if fmt == "markdown":
        return markdown(run.plan)
    return text(run.plan, colour=colour)


def plan_errors(run: Run) -> None:
    if run.plan.errors:
        raise RealmctlError("the plan cannot be made:\n" + "\n".join(f"  - {e}" for e in run.plan.errors))


def write_plan_file(run: Run, path: str, spec: Spec) -> None:
    """The plan as JSON plus what apply needs to check it is still current. No secret values."""
    body = run.plan.to_json()
    body["specFiles"] = [os.path.abspath(f) for f in spec.files]
    body["resendSecrets"] = any(f.resent for c in run.plan.changes for f in c.fields)
    Path(path).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def read_plan_file(path: str) -> dict[str, Any] | None:
    """The plan file's content, or None when `path` is not a plan file (then it is a spec)."""
    try:
        info = os.stat(path)
        # A FIFO or a huge file is no plan file; the spec loader refuses it with a sentence.
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SPEC_BYTES:
            return None
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError):
        return None
    return body if isinstance(body, dict) and body.get("format") == PLAN_FORMAT else None


def replan_from_file(saved: dict[str, Any], api: Api, safety: Safety, options: LoadOptions | None = None) -> Run:
    """Recomputes the saved plan and refuses it, before any write, when anything moved."""
    if saved.get("server") != api.settings.url:
        raise RealmctlError(f"this plan was made for {saved.get('server')}, not {api.settings.url}; make a new plan")
    spec = load(saved.get("specFiles") or [], options)
    # Secrets the plan re-sends on request are part of what was shown: apply does the same.
    safety = dataclasses.replace(safety, resend_secrets=bool(saved.get("resendSecrets")))
    run = make_plan(spec, api, safety)
    digests = saved.get("digests") or {}
    if run.plan.spec_digest != digests.get("spec"):
        raise RealmctlError("the spec files changed since this plan was made; make a new plan")
    if run.plan.live_digest != digests.get("live") or run.plan.digest() != digests.get("plan"):
        raise RealmctlError("the live realms changed since this plan was made; make a new plan")
    return run


def apply_json(run: Run, result: ApplyResult | None, after: Run | None) -> str:
    """`apply --format json`: `{"format": "realmctl.apply", "version": 1, ...}` (documented in the README)."""

    def brief(change: Change) -> dict[str, Any]:
        return {"action": change.action, "realm": change.realm, "kind": change.kind, "key": list(change.key)}

    body: dict[str, Any] = {
        "format": "realmctl.apply",
        "version": 1,
        "plan": run.plan.to_json(),
        "applied": [brief(c) for c in (result.applied if result else [])],
        "failed": [{**brief(c), "error": e} for c, e in (result.failed if result else [])],
        "notApplied": [brief(c) for c in (result.skipped if result else [])],
        "interrupted": bool(result and result.interrupted),
        "converged": after is not None and after.plan.empty,
    }
    if after is not None and not after.plan.empty:
        body["notConverged"] = [c.to_json() for c in after.plan.changes]
    return json.dumps(body, indent=2)


def report_apply(result: ApplyResult, err: TextIO) -> None:
    """What was applied and what was not, after a failure or an interruption."""

    def names(changes: list[Change]) -> str:
        return "".join(f"\n  {c.action} {describe(c)} (realm {c.realm})" for c in changes)

    for change, error in result.failed:
        print(f"Error: {change.action} {describe(change)} (realm {change.realm}) failed: {error}", file=err)
    if result.interrupted:
        print("Interrupted: no new write was started; writes in flight finished.", file=err)
    print(f"Applied {len(result.applied)} change(s):{names(result.applied)}", file=err)
    not_applied = [c for c, _ in result.failed] + result.skipped
    print(f"Not applied ({len(not_applied)}):{names(not_applied)}", file=err)
    print("Run apply again to continue: it plans from the live state and converges.", file=err)


__all__ = ["Safety", "Target", "apply_plan", "connect", "make_plan"]

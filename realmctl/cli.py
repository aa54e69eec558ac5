"""realmctl's command line: parses options, calls the library, chooses exit codes.

No logic lives here beyond wiring; every command's work is done in the library so that tests and
other programs can call it directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from realmctl import __version__, exitcodes
from realmctl.errors import RealmctlError
from realmctl.limits import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, MAX_SPEC_BYTES
from realmctl.versions import version_text

# The library is imported inside the commands that use it: `realmctl --help` and `validate` then
# start without the engine, the HTTP stack and python-keycloak (0.9 s of CPU before, on 2 vCPU).
if TYPE_CHECKING:
    from realmctl.engine import Safety
    from realmctl.spec.loader import LoadOptions
    from realmctl.workflow import Target

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(
    __version__, "--version", "-V", prog_name="realmctl", message=version_text(__version__).replace("%", "%%")
)
def cli() -> None:
    """Plan and apply Keycloak realm configuration from YAML, and prove it works.

    \b
    realmctl validate SPEC...   check a spec offline (schema, references, env vars)
    realmctl plan SPEC...       show what would change on the server; never writes
    realmctl apply SPEC...      make the server match the spec; idempotent
    realmctl check SPEC...      prove the stored-token and token-exchange chains hold
    realmctl sandbox            run a Keycloak-compatible server in memory, for tests and demos
    realmctl export --realm R   write a spec for what a live realm has, to adopt it
    realmctl schema             print the spec's JSON Schema, for editors

    Exit codes: 0 ok, 1 error, 2 changes pending (plan --detailed-exitcode),
    3 check found errors, 4 server unreachable or credentials refused, 130/143 interrupted.

    The server and credentials come from the environment (KEYCLOAK_URL, KEYCLOAK_USER,
    KEYCLOAK_PASSWORD or KEYCLOAK_CLIENT_ID, KEYCLOAK_CLIENT_SECRET); see `realmctl plan --help`.
    """


def spec_options(func: Any) -> Any:
    """Limits on reading specs, shared by every command that reads one."""
    func = click.option(
        "--max-spec-size",
        type=click.FloatRange(min=0, min_open=True),
        default=MAX_SPEC_BYTES / 1024 / 1024,
        show_default=True,
        envvar="REALMCTL_MAX_SPEC_SIZE",
        metavar="MIB",
        help="Refuse spec files larger than MIB mebibytes (also REALMCTL_MAX_SPEC_SIZE).",
    )(func)
    func = click.option(
        "--allow-file-outside-spec",
        is_flag=True,
        help="Let ${file:...} read absolute paths and paths outside the spec file's directory "
        "(still regular files only, at most 64 KiB).",
    )(func)
    return func


def _load_options(kw: dict[str, Any]) -> LoadOptions:
    from realmctl.spec.loader import LoadOptions

    return LoadOptions(
        allow_file_outside_spec=kw.pop("allow_file_outside_spec"),
        max_spec_bytes=int(kw.pop("max_spec_size") * 1024 * 1024),
    )


@cli.command(context_settings=CONTEXT)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--allow-missing-env",
    is_flag=True,
    help="Unset ${env:...} variables are not errors (their names are listed); for machines without the "
    "pipeline's secrets, e.g. a pre-commit hook.",
)
@spec_options
def validate(spec: tuple[str, ...], fmt: str, allow_missing_env: bool, **kw: Any) -> None:
    """Check SPEC files or directories offline: YAML, schema, ${env:...}, references.

    Exits 0 when valid (warnings allowed), 1 when not. Sends no request to any server.
    """
    from realmctl.spec.report import validate_report

    text, ok = validate_report(spec, fmt, allow_missing_env, _load_options(kw))
    click.echo(text)
    if not ok:
        sys.exit(exitcodes.ERROR)


def target_options(func: Any) -> Any:
    """--sandbox and friends, shared by the commands that talk to a server."""
    func = click.option(
        "--deadline",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_DEADLINE,
        show_default=True,
        envvar="REALMCTL_DEADLINE",
        metavar="SECONDS",
        help="The whole run's server work must end within SECONDS (apply's confirmation prompt does not "
        "count); then it stops with exit 4. Env: REALMCTL_DEADLINE.",
    )(func)
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        envvar="REALMCTL_REQUEST_TIMEOUT",
        metavar="SECONDS",
        help="Each request's whole answer must arrive within SECONDS (a stalled or trickling server is cut "
        "off; reads are retried within the deadline). Env: REALMCTL_REQUEST_TIMEOUT.",
    )(func)
    func = click.option(
        "--parallelism",
        type=click.IntRange(1, 64),
        default=8,
        show_default=True,
        help="Requests in flight at once (independent reads, and writes of one dependency step).",
    )(func)
    func = click.option(
        "--sandbox-profile",
        type=click.Choice(["keycloak-26", "legacy-exchange", "modern"]),
        default="keycloak-26",
        show_default=True,
        help=(
            "Features of the sandbox: Keycloak 26.2+ defaults, legacy token exchange + FGAP v1, "
            "or 26.7 modern (identity-brokering-api v2, JWT grant)."
        ),
    )(func)
    func = click.option(
        "--sandbox-import",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Start the sandbox from this realm export (repeatable). Implies --sandbox.",
    )(func)
    func = click.option(
        "--sandbox",
        is_flag=True,
        help="Run against a fresh in-memory sandbox instead of KEYCLOAK_URL (said on stderr).",
    )(func)
    return func


def read_options(func: Any) -> Any:
    """--read-strategy, for the commands that read realms to plan or check them."""
    return click.option(
        "--read-strategy",
        type=click.Choice(["listings", "export"]),
        default="listings",
        show_default=True,
        envvar="REALMCTL_READ_STRATEGY",
        help="How realms are read. listings: GETs only (view rights suffice), a few per client, scope "
        "and IdP. export: one partial export per realm instead of those listings; it is a POST (it "
        "writes nothing) and needs manage-realm; it pays off for realms with many clients, scopes or "
        "IdPs (users, members and links are still read per object). Env: REALMCTL_READ_STRATEGY.",
    )(func)


def _target(
    sandbox: bool,
    sandbox_import: tuple[str, ...],
    sandbox_profile: str,
    parallelism: int = 8,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    read_strategy: str = "listings",
) -> Target:
    from realmctl.workflow import Target

    return Target(
        bool(sandbox or sandbox_import), sandbox_import, sandbox_profile, parallelism, timeout, deadline, read_strategy
    )


def _note_empty_sandbox(kw: dict[str, Any], command: str) -> None:
    """`check`/`export` read what a server already has; a fresh sandbox has none of the user's
    realms (only master), so without --sandbox-import the answer describes an empty server: said
    on stderr, so that a clean-looking answer is not taken for one about the user's realms."""
    if kw.get("sandbox") and not kw.get("sandbox_import"):
        click.echo(
            f"realmctl: note: {command} --sandbox looks at a fresh sandbox holding only the master realm; "
            "start it from your realm export with --sandbox-import FILE, or set KEYCLOAK_URL to your server.",
            err=True,
        )


def safety_options(func: Any) -> Any:
    """Limits on deleting and updating what realmctl owns (octoDNS-style)."""
    func = click.option(
        "--update-threshold",
        type=click.FloatRange(0, 100),
        default=30.0,
        show_default=True,
        metavar="PCT",
        help="Refuse to update more than PCT % of the objects realmctl owns in a realm.",
    )(func)
    func = click.option(
        "--delete-threshold",
        type=click.FloatRange(0, 100),
        default=30.0,
        show_default=True,
        metavar="PCT",
        help="Refuse to delete more than PCT % of the objects realmctl owns in a realm.",
    )(func)
    func = click.option(
        "--resend-secrets",
        is_flag=True,
        help="Send identity-provider secrets again even where their fingerprint matches: Keycloak masks "
        "them, so a secret changed by hand in the console is otherwise invisible (shown as `sent again`).",
    )(func)
    func = click.option("--allow-mass-update", is_flag=True, help="Allow updates beyond --update-threshold.")(func)
    func = click.option("--allow-mass-delete", is_flag=True, help="Allow deletions beyond --delete-threshold.")(func)
    return func


def _safety(kw: dict[str, Any]) -> Safety:
    from realmctl.engine import Safety

    return Safety(
        delete_pct=kw.pop("delete_threshold"),
        update_pct=kw.pop("update_threshold"),
        allow_mass_delete=kw.pop("allow_mass_delete"),
        allow_mass_update=kw.pop("allow_mass_update"),
        resend_secrets=kw.pop("resend_secrets"),
    )


def _colour(stream: Any) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


SERVER_HELP = """
\b
Server and credentials come from the environment, never from arguments:
  KEYCLOAK_URL            base URL, e.g. https://sso.example.com or .../auth
  KEYCLOAK_USER, KEYCLOAK_PASSWORD           password grant on admin-cli, or
  KEYCLOAK_CLIENT_ID, KEYCLOAK_CLIENT_SECRET client credentials
  KEYCLOAK_AUTH_REALM     realm to log in to (default master)
  KEYCLOAK_CA_BUNDLE      CA file for TLS; KEYCLOAK_INSECURE=1 turns verification off
\b
A redirect to another origin (scheme, host or port; https to http included) is refused, exit 4:
no credentials or request body are re-sent to it. A server that answers slower than --timeout
per request, or a run longer than --deadline, stops with exit 4.
"""


@cli.command(context_settings=CONTEXT, epilog=SERVER_HELP)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
@target_options
@read_options
@safety_options
@spec_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the plan to FILE, for `apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 for no changes, 2 for changes, 1 for errors.")
@click.option(
    "--save-snapshot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write what the plan read from the server to FILE (no secret values), for --snapshot.",
)
@click.option(
    "--snapshot",
    "from_snapshot",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Plan offline from a snapshot saved by --save-snapshot: no server, no credentials.",
)
@click.option("-v", "--verbose", count=True, help="Log requests (-v) and more (-vv) to stderr.")
def plan(
    spec: tuple[str, ...],
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    save_snapshot: str | None,
    from_snapshot: str | None,
    verbose: int,
    **kw: Any,
) -> int:
    """Show what `apply` would change on the live server. Never writes.

    Reads the realms SPEC names, in bulk, and prints the changes grouped by realm:
    `+` create, `~` update (field: old -> new), `-` delete (only objects realmctl created for
    this spec's `owner`).
    Secrets are shown as (sensitive). With --out, also writes a plan file (no secrets in it)
    that `realmctl apply FILE` applies exactly, or refuses if anything moved since.
    With --save-snapshot, also writes what it read (secrets left out); `plan --snapshot FILE`
    then plans from that file offline, as the server was when it was saved.
    """
    from realmctl.check.planned_state import plan_effects, plan_warnings
    from realmctl.engine import make_plan, spec_values
    from realmctl.saved import SnapshotApi, recording, save
    from realmctl.spec.secrets import redact
    from realmctl.workflow import connect, load, plan_errors, render, write_plan_file

    _logging(verbose)
    safety = _safety(kw)
    loaded = load(spec, _load_options(kw))
    target = _target(**kw)
    if save_snapshot and target.read_strategy == "export":
        raise click.UsageError("--save-snapshot records the listings' GETs: it takes --read-strategy listings")
    if from_snapshot:
        if target.sandbox:
            raise click.UsageError("--snapshot plans from a saved snapshot: it takes no --sandbox")
        offline = SnapshotApi(from_snapshot)
        click.echo(
            f"realmctl: planning offline from the snapshot {from_snapshot} (saved from {offline.settings.url}); "
            "nothing is sent.",
            err=True,
        )
    with contextlib.ExitStack() as stack:
        api = offline if from_snapshot else stack.enter_context(connect(target))
        reads = stack.enter_context(recording(api)) if save_snapshot else {}
        run = make_plan(loaded, api, safety)
        breaks = plan_warnings(plan_effects(loaded, run, focus=True)[0])  # what applying it would break
        run.plan.warnings += [redact(w, spec_values(loaded)) for w in breaks]
    if save_snapshot and run.snapshot is not None:
        save(save_snapshot, reads, run.snapshot, api.settings.url)
    plan_errors(run)
    click.echo(render(run, fmt, _colour(sys.stdout)), nl=False)
    if out:
        write_plan_file(run, out, loaded)
    if detailed_exitcode and not run.plan.empty:
        return exitcodes.CHANGES
    return exitcodes.OK


@cli.command(context_settings=CONTEXT, epilog=SERVER_HELP)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
@target_options
@read_options
@safety_options
@spec_options
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option("-v", "--verbose", count=True, help="Log requests (-v) and more (-vv) to stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the final summary.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one document on stdout with the plan, what was applied and whether it converged.",
)
def apply(spec: tuple[str, ...], yes: bool, verbose: int, quiet: bool, fmt: str, **kw: Any) -> int:
    """Make the live server match SPEC (or apply a plan FILE made by `plan --out`).

    Shows the plan, asks for confirmation (or takes --yes), applies the changes in dependency
    order, then re-reads the server and reports anything that did not converge. Running it again
    changes nothing. A plan FILE is refused, before any write, when the spec or the live realms
    changed since it was made. SIGINT/SIGTERM stop new writes; what was applied is reported and
    the exit code is 130/143; the next run converges.
    """
    from realmctl.engine import Safety, apply_plan, make_plan
    from realmctl.plan import Change
    from realmctl.render import describe
    from realmctl.signals import stop_on_signals
    from realmctl.workflow import (
        apply_json,
        connect,
        load,
        plan_errors,
        read_plan_file,
        render,
        replan_from_file,
        report_apply,
    )

    _logging(verbose)
    safety = _safety(kw)
    options = _load_options(kw)
    saved = read_plan_file(spec[0]) if len(spec) == 1 else None
    loaded = load(saved.get("specFiles") or [], options) if saved else load(spec, options)
    with connect(_target(**kw)) as api:
        run = replan_from_file(saved, api, safety, options) if saved else make_plan(loaded, api, safety)
        plan_errors(run)
        as_json = fmt == "json"
        quiet = quiet or as_json
        if not quiet:
            click.echo(render(run, "text", _colour(sys.stdout)), nl=False)
        if run.plan.empty:
            if as_json:
                click.echo(apply_json(run, None, run))
            return exitcodes.OK
        if not yes and not saved:
            if not sys.stdin.isatty():
                raise RealmctlError("apply needs --yes when it cannot ask on a terminal")
            with api.clock.paused():  # the time a person takes to read the plan is not the server's
                agreed = click.confirm("Apply these changes?", default=False)
            if not agreed:
                click.echo("Nothing applied.", err=True)
                return exitcodes.ERROR
        total = len(run.plan.changes)
        show = sys.stderr.isatty() and not quiet

        def progress(done: int, n: int, change: Change) -> None:
            if show:
                click.echo(f"\r[{done}/{n}] {change.action} {describe(change)}\033[K", err=True, nl=False)

        with stop_on_signals() as stop:
            result = apply_plan(run, progress, stop)
        if show:
            click.echo("\r\033[K", err=True, nl=False)
        if result.failed or result.interrupted:
            report_apply(result, sys.stderr)
            if as_json:
                click.echo(apply_json(run, result, None))
            if result.interrupted and stop.signal:
                return 128 + stop.signal
            return exitcodes.CONNECTION if result.connection_lost else exitcodes.ERROR
        after = make_plan(loaded, api, Safety(allow_mass_delete=True, allow_mass_update=True))
    if as_json:
        click.echo(apply_json(run, result, after))
        return exitcodes.OK if after.plan.empty else exitcodes.ERROR
    if not after.plan.empty:
        click.echo(
            f"Error: applied {total} change(s), but {len(after.plan.changes)} did not converge:\n"
            + render(after, "text", False),
            err=True,
        )
        return exitcodes.ERROR
    click.echo(f"Apply complete: {total} change(s) applied; the live realms match the spec.")
    return exitcodes.OK


def _logging(verbose: int) -> None:
    import logging  # here, not at the top: `validate` and `--help` do not log (5-8 ms of CPU to import)

    if verbose:
        level = logging.DEBUG if verbose > 1 else logging.INFO
        logging.basicConfig(level=level, format="realmctl: %(name)s: %(message)s", stream=sys.stderr)
        logging.getLogger("realmctl.http").setLevel(logging.DEBUG)


@cli.command(context_settings=CONTEXT, epilog=SERVER_HELP)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
@target_options
@read_options
@spec_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "dot"]),
    default="text",
    show_default=True,
    help="markdown: a pull-request comment with a Mermaid picture of each chain; dot: the pictures for Graphviz.",
)
@click.option(
    "--probe",
    is_flag=True,
    help="Also call the real endpoints (token, broker token, token exchange) and show each step. Implied "
    "by every --probe-* option.",
)
@click.option(
    "--probe-client",
    metavar="CLIENT_ID",
    help="Probe as this client only (default: every client the spec declares). Its secret comes from "
    "--probe-client-secret-env, else the spec, else the admin API.",
)
@click.option(
    "--probe-realm",
    metavar="REALM",
    help="The realm of --probe-client (needed when several realms of the spec declare it, or none does).",
)
@click.option(
    "--probe-client-secret-env",
    metavar="NAME",
    help="Read --probe-client's secret from env var NAME (never from the command line).",
)
@click.option(
    "--probe-grant",
    type=click.Choice(["password", "client_credentials"]),
    default="password",
    show_default=True,
    help="password: the test user REALMCTL_PROBE_USER/REALMCTL_PROBE_PASSWORD logs in (needs direct "
    "grants on the client); client_credentials: the client's service account, as a backend would.",
)
@click.option(
    "--probe-token-file",
    metavar="PATH",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Present this access token (obtained elsewhere, e.g. by your app) instead of getting one; "
    "- reads it from stdin. Only its claims are shown, never the token.",
)
@click.option(
    "--probe-token-env",
    metavar="NAME",
    help="Like --probe-token-file, from env var NAME.",
)
@click.option(
    "--probe-request",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Token exchange: the form fields your caller sends (name=value&... as in curl -d, or one a "
    "line). Sent as they are; a missing subject_token or client_secret is filled in.",
)
def check(spec: tuple[str, ...], fmt: str, probe: bool, **kw: Any) -> int:
    """Prove the stored-token and token-exchange chains hold; name the missing link when not.

    Reasons over SPEC and the live realms: for each identity provider that stores tokens, each
    declared client and each user granted broker/read-token, and for each tokenExchange entry,
    every link Keycloak checks. Each finding names the link, why it breaks the chain, and the spec
    lines that fix it. Exits 0 when nothing is wrong, 3 when a finding of severity error exists
    or a probe step fails. Sends no admin write.

    \b
    --probe tries the real endpoints. To probe your own situation rather than a test user's:
      check spec.yaml --probe-client my-app --probe-client-secret-env MY_APP_SECRET \\
                      --probe-grant client_credentials
      check spec.yaml --probe-client my-app --probe-token-file token.txt
      check spec.yaml --probe-request exchange-form.txt     # subject_token=...&subject_issuer=...
    Each step shows the request (secrets masked), the status, Keycloak's error, and the token's
    iss (against this realm's issuer at this URL), aud, azp, exp, broker roles and scope.
    """
    from realmctl.check import run_check
    from realmctl.check.findings import as_json as check_json
    from realmctl.check.findings import text as check_text
    from realmctl.check.probe import text as probe_text
    from realmctl.engine import spec_values
    from realmctl.spec.secrets import redact
    from realmctl.workflow import connect, load

    _note_empty_sandbox(kw, "check")
    options = _probe_options(kw)
    loaded = load(spec, _load_options(kw))
    secrets = spec_values(loaded)  # findings quote the server, which holds what the spec sent
    secrets |= {v for v in (options.secret, options.token) if v} if options else set()
    with connect(_target(**kw)) as api:
        report, probes = run_check(loaded, api, probe=probe or options is not None, options=options)
    if fmt == "json":
        body = json.loads(check_json(report))
        body["probes"] = [
            {
                "title": p.title,
                "ok": p.ok,
                "steps": [vars(s) for s in p.steps],
                "explainedBy": [f.rule for f in p.explained_by],
                "findings": [f.to_json() for f in p.explained_by if f.rule.startswith("probe.")],
            }
            for p in probes
        ]
        click.echo(redact(json.dumps(body, indent=2), secrets))
    elif fmt in ("markdown", "dot"):
        from realmctl.render import chains

        def clean(text: str) -> str:
            return redact(text, secrets)

        if fmt == "dot":
            drawn = chains.dot_report(loaded, report, clean)
        else:
            drawn = chains.markdown(loaded, report, probe_text(probes) if probes else "", clean)
        click.echo(clean(drawn), nl=False)
    else:
        click.echo(redact(check_text(report), secrets), nl=False)
        if probes:
            click.echo(redact(probe_text(probes), secrets), nl=False)
    failed = report.errors or any(not p.ok for p in probes)
    return exitcodes.FINDINGS if failed else exitcodes.OK


def _probe_options(kw: dict[str, Any]) -> Any:
    """The --probe-* options as a ProbeOptions, or None when none was given (then --probe alone
    probes every declared client as the test user)."""
    from realmctl.check.probe import ProbeOptions, parse_request

    client, realm = kw.pop("probe_client"), kw.pop("probe_realm")
    secret_env, grant = kw.pop("probe_client_secret_env"), kw.pop("probe_grant")
    token_file, token_env, request = kw.pop("probe_token_file"), kw.pop("probe_token_env"), kw.pop("probe_request")
    if not any((client, realm, secret_env, token_file, token_env, request)) and grant == "password":
        return None
    if token_file and token_env:
        raise click.UsageError("give the token with --probe-token-file or --probe-token-env, not both")
    secret = None
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            raise RealmctlError(f"--probe-client-secret-env: env var {secret_env} is not set or empty")
    token = None
    if token_file:
        token = click.open_file(token_file, encoding="utf-8").read().strip()
    elif token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise RealmctlError(f"--probe-token-env: env var {token_env} is not set or empty")
    if token is not None and token.count(".") != 2:
        raise RealmctlError("the probe token is not a JWT (header.payload.signature); give the access token itself")
    fields = parse_request(click.open_file(request, encoding="utf-8").read()) if request else None
    return ProbeOptions(realm=realm, client=client, secret=secret, grant=grant, token=token, request=fields)


@cli.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 = any free port).")
@click.option(
    "--profile",
    type=click.Choice(["keycloak-26", "legacy-exchange", "modern"]),
    default="keycloak-26",
    show_default=True,
    help="Features, as --sandbox-profile: Keycloak 26.2+ defaults, legacy token exchange + FGAP v1, or 26.7 modern.",
)
@click.option("--admin-user", default="admin", show_default=True, help="Master realm admin user.")
@click.option(
    "--context-path",
    default="",
    metavar="PATH",
    help="Serve below PATH (e.g. /auth, as Keycloak before 17 and many proxies do).",
)
@click.option(
    "--admin-password",
    default="admin",
    envvar="REALMCTL_SANDBOX_ADMIN_PASSWORD",
    help="Master realm admin password (default: admin). Prefer REALMCTL_SANDBOX_ADMIN_PASSWORD, which stays "
    "out of process lists.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help='json: one line on stdout once serving: {"format": "realmctl.sandbox", "version": 1, "url", ...}.',
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Realm export JSON to load at start; repeatable.",
)
@click.option("--latency-ms", default=0, type=click.IntRange(min=0), help="Delay added to every answer.")
@click.option("--fault-rate", default=0.0, type=click.FloatRange(0.0, 1.0), help="Share of requests faulted.")
@click.option("--fault-seed", default=0, type=int, help="Seed making the faults reproducible.")
def sandbox(
    host: str,
    port: int,
    profile: str,
    admin_user: str,
    admin_password: str,
    imports: tuple[str, ...],
    latency_ms: int,
    fault_rate: float,
    fault_seed: int,
    context_path: str,
    fmt: str,
) -> None:
    """Run a Keycloak-compatible admin and token server in memory, until Ctrl-C."""
    from realmctl.keycloak.transport import is_loopback
    from realmctl.sandbox import Sandbox
    from realmctl.sandbox.errors import HttpError

    if not is_loopback(host) and admin_password == "admin":
        click.echo(
            f"realmctl: warning: the sandbox listens on {host}, beyond this machine, with the default admin "
            "password: anyone who can reach it is its admin; set REALMCTL_SANDBOX_ADMIN_PASSWORD.",
            err=True,
        )

    try:
        server = Sandbox(
            profile=profile,
            imports=imports,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            fault_seed=fault_seed,
            admin_user=admin_user,
            admin_password=admin_password,
            host=host,
            port=port,
            context_path=context_path,
        ).bind()
    except (ValueError, OSError) as exc:
        raise RealmctlError(f"cannot start the sandbox: {exc}") from exc
    except HttpError as exc:  # an import the server would refuse, e.g. a duplicate realm name
        raise RealmctlError(f"cannot import: {exc.body}") from exc
    click.echo(f"realmctl sandbox serving {server.url} (admin user: {admin_user})", err=True)
    if fmt == "json":
        body = {
            "format": "realmctl.sandbox",
            "version": 1,
            "url": server.url,
            "profile": profile,
            "adminUser": admin_user,
        }
        click.echo(json.dumps(body))
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (a supervisor, `kill`, a CI step's teardown) stops it as cleanly as Ctrl-C does; a
    # shell that starts it in the background leaves SIGINT ignored, as POSIX wants, so SIGTERM is
    # the way to stop it there.
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("sandbox stopped", err=True)


@cli.command(context_settings=CONTEXT, epilog=SERVER_HELP)
@click.option("--realm", "realms", multiple=True, required=True, help="Realm to export (repeatable).")
@click.option(
    "--kinds",
    help="Comma list of realm, clientScopes, clients, identityProviders, roles, groups, users, roleGrants, "
    "or all; +users adds to the default (everything but users: only those realmctl created are exported).",
)
@click.option("--include-builtins", is_flag=True, help="Also export what Keycloak creates in every new realm.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the spec to FILE instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@target_options
@click.option("-v", "--verbose", count=True, help="Log requests (-v) and more (-vv) to stderr.")
def export(
    realms: tuple[str, ...],
    kinds: str | None,
    include_builtins: bool,
    out: str | None,
    fmt: str,
    verbose: int,
    **kw: Any,
) -> int:
    """Write a spec for what live realms already have, to adopt them. Never writes to the server.

    Built-in objects are left out unless --include-builtins (references to them are kept). Secrets
    are never exported: an identity provider's secret becomes ${env:REALM_ALIAS_CLIENT_SECRET},
    whose name is printed on stderr; client secrets are left out (Keycloak keeps them).
    """
    from pathlib import Path

    from realmctl.export import export_realms, parse_kinds, schema_beside, to_json, to_yaml
    from realmctl.workflow import connect

    _note_empty_sandbox(kw, "export")
    _logging(verbose)
    chosen = parse_kinds(kinds)
    with connect(_target(**kw)) as api:
        result = export_realms(api, list(dict.fromkeys(realms)), chosen, include_builtins)
    body = to_json(result) if fmt == "json" else to_yaml(result, out)
    for note in result.notes:
        click.echo(f"realmctl: {note}", err=True)
    if result.secrets:
        click.echo(f"realmctl: set before plan/apply: {', '.join(result.secrets)}", err=True)
    if out:
        Path(out).write_text(body, encoding="utf-8")
        click.echo(f"realmctl: wrote {out} ({result.object_count()} objects)", err=True)
        beside = schema_beside(out) if fmt == "yaml" else None
        if beside is not None:
            from realmctl.schema import schema_text

            text = schema_text()
            if not beside.is_file() or beside.read_text(encoding="utf-8") != text:
                beside.write_text(text, encoding="utf-8")
                click.echo(f"realmctl: wrote {beside} (the JSON Schema its modeline names)", err=True)
    else:
        click.echo(body, nl=False)
    return exitcodes.OK


@cli.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the spec's JSON Schema (2020-12), for editors and other tools."""
    from realmctl.schema import schema_text

    click.echo(schema_text(), nl=False)


def run(args: list[str] | None = None) -> int:
    """Runs the CLI and returns its exit code; realmctl's errors become one line, no traceback.

    Usage errors exit 1, not click's default 2, because 2 means "changes pending" for
    `plan --detailed-exitcode`.
    """
    try:
        rv = cli.main(args=args, prog_name="realmctl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # a command that exits by itself (validate)
        return exc.code if isinstance(exc.code, int) else exitcodes.ERROR
    except click.Abort:
        click.echo("Aborted.", err=True)
        return exitcodes.ERROR
    except click.ClickException as exc:
        exc.show()
        return exitcodes.ERROR
    except RealmctlError as exc:
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    return rv if isinstance(rv, int) else exitcodes.OK


def main() -> None:
    """Console entry point."""
    from realmctl.gcpolicy import tune

    tune()  # fewer garbage collections: large specs and realms build millions of objects
    sys.exit(run())

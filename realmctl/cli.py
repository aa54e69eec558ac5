"""realmctl's command line: parses options, calls the library, chooses exit codes.

No logic lives here beyond wiring; every command's work is done in the library so that tests and
other programs can call it directly.
"""

import sys
from typing import NoReturn

import click

from realmctl import __version__, exitcodes
from realmctl.errors import RealmctlError
from realmctl.schema import schema_text

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _not_yet(command: str, issue: int) -> NoReturn:
    click.echo(f"realmctl {command} is not implemented yet (tracked in issue #{issue}).", err=True)
    sys.exit(exitcodes.ERROR)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="realmctl")
def cli() -> None:
    """Plan and apply Keycloak realm configuration from YAML, and prove it works.

    \b
    realmctl validate SPEC...   check a spec offline (schema, references, env vars)
    realmctl plan SPEC...       show what would change on the server; never writes
    realmctl apply SPEC...      make the server match the spec; idempotent
    realmctl check SPEC...      prove the stored-token and token-exchange chains hold
    realmctl sandbox            run a Keycloak-compatible server in memory, for tests and demos

    The server and credentials come from the environment (KEYCLOAK_URL, KEYCLOAK_USER,
    KEYCLOAK_PASSWORD or KEYCLOAK_CLIENT_ID, KEYCLOAK_CLIENT_SECRET); see `realmctl plan --help`.
    """


@cli.command(context_settings=CONTEXT)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(spec: tuple[str, ...], fmt: str) -> None:
    """Check SPEC files or directories offline: YAML, schema, ${env:...}, references.

    Exits 0 when valid, 1 when not. Sends no request to any server.
    """
    _not_yet("validate", 2)


@cli.command(context_settings=CONTEXT)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
def plan(spec: tuple[str, ...]) -> None:
    """Show what apply would change on the live server. Never writes."""
    _not_yet("plan", 5)


@cli.command(context_settings=CONTEXT)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
def apply(spec: tuple[str, ...]) -> None:
    """Make the live server match SPEC. Running it again changes nothing."""
    _not_yet("apply", 5)


@cli.command(context_settings=CONTEXT)
@click.argument("spec", nargs=-1, required=True, type=click.Path(exists=True))
def check(spec: tuple[str, ...]) -> None:
    """Prove the stored-token and token-exchange chains hold; name the missing link."""
    _not_yet("check", 7)


@cli.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 = any free port).")
@click.option("--profile", default="keycloak-26", show_default=True, help="keycloak-26 or legacy-exchange.")
@click.option("--admin-user", default="admin", show_default=True, help="Master realm admin user.")
@click.option("--admin-password", default="admin", help="Master realm admin password (default: admin).")
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
) -> None:
    """Run a Keycloak-compatible admin and token server in memory, until Ctrl-C."""
    from realmctl.sandbox import Sandbox
    from realmctl.sandbox.errors import HttpError

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
        ).bind()
    except (ValueError, OSError) as exc:
        raise RealmctlError(f"cannot start the sandbox: {exc}") from exc
    except HttpError as exc:  # an import the server would refuse, e.g. a duplicate realm name
        raise RealmctlError(f"cannot import: {exc.body}") from exc
    click.echo(f"realmctl sandbox serving {server.url} (admin user: {admin_user})", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("sandbox stopped", err=True)


@cli.command(context_settings=CONTEXT)
def export() -> None:
    """Write a spec for what a live realm already has, to adopt it."""
    _not_yet("export", 10)


@cli.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the spec's JSON Schema (2020-12), for editors and other tools."""
    click.echo(schema_text(), nl=False)


def main() -> None:
    """Entry point: runs the CLI and turns realmctl's errors into one line and an exit code.

    Usage errors exit 1, not click's default 2, because 2 means "changes pending" for
    `plan --detailed-exitcode`.
    """
    try:
        rv = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(exitcodes.ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exitcodes.ERROR)
    except RealmctlError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else exitcodes.OK)

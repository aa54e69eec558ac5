"""`realmctl check`: reason over the spec and the live realm, name the missing link of each chain."""

from dataclasses import replace

from realmctl import capabilities
from realmctl.check import broker, exchange, modern, upkeep
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding, Report
from realmctl.check.planned_state import plan_effects
from realmctl.check.probe import Probe, ProbeOptions, run_probes
from realmctl.engine import Run, Safety, make_plan
from realmctl.keycloak.session import Api
from realmctl.spec.model import Spec

__all__ = ["Finding", "Report", "run_check"]


def run_check(
    spec: Spec, api: Api, probe: bool = False, options: ProbeOptions | None = None, run: Run | None = None
) -> tuple[Report, list[Probe]]:
    """Every rule over every realm of the spec, then the probes if asked. Sends no admin write.

    The rules read the snapshot the plan was made from (`run`, or a plan made here): whatever the
    plan read is answered from it, and only the facts the plan did not need are asked for.
    """
    report = Report()
    run = run or make_plan(spec, api, Safety(allow_mass_delete=True, allow_mass_update=True))
    pending = run.plan
    if pending.changes:
        report.notes.append(
            f"{len(pending.changes)} change(s) of the spec are not applied yet (see `realmctl plan`); "
            "the findings describe the server as it is now, and those marked [after the plan] what applying "
            "it would break"
        )
    facts = {realm: Facts(run.states[realm]) for realm in spec.realms}
    full, spec = spec, modern.compiled_view(spec, api)  # each chain judged by the rules of its variant
    v1_broker = capabilities.read(api).broker_api == "v1"
    for realm, f in facts.items():
        if f.state.realm_rep() is None:
            report.findings.append(
                Finding(
                    "error",
                    "realm-missing",
                    realm,
                    f"realm {realm}",
                    f"realm {realm} does not exist on the server",
                    "run `realmctl apply`",
                    spec.where("realms", realm),
                )
            )
            continue
        if v1_broker:
            found, checked = broker.check_realm(spec, realm, f)
            report.findings += found
            report.checked += checked
        report.findings += upkeep.check_realm(spec, realm, f)
    found, checked = exchange.check_entries(spec, api, facts)
    report.findings += found
    report.checked += checked
    found, checked = modern.check(full, api, facts)
    report.findings += found
    report.checked += checked
    created, fixed = plan_effects(spec, run, broker_v1=v1_broker)
    fixes = {(f.rule, f.realm, f.subject) for f in fixed}
    report.findings = [
        replace(f, plan="fixes") if (f.rule, f.realm, f.subject) in fixes else f for f in report.findings
    ] + created
    order = {"error": 0, "warning": 1, "info": 2}
    report.findings.sort(key=lambda x: (order[x.severity], x.plan != "creates", x.realm, x.rule, x.subject))
    now = [f for f in report.findings if f.plan != "creates"]  # the probes try the server as it is
    probes = run_probes(spec, api, facts, now, options, full) if probe else []
    return report, probes

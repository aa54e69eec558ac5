"""#16: apply sends exactly the calls the plan shows, and nothing it looks up to decide.

Each scenario is planned against an empty sandbox, then applied through an Api that notes every
request; the requests must be the plan's calls (refs matched as any one path segment), plus only
the ownership record's re-read before and after its write. A second plan must then be empty.
"""

import re
from typing import Any

import pytest

from realmctl.calls import Call, Ref
from realmctl.engine import apply_plan, make_plan
from realmctl.keycloak.session import Settings
from realmctl.sandbox import Sandbox
from tests.core.record import load, spec_text
from tests.core.scenarios import SCENARIOS
from tests.helpers import NotingApi

pytestmark = pytest.mark.sandbox_only

CASES = {s.name: s for s in SCENARIOS if s.before is None}


class Unreachable:
    """Stands in for the snapshot readers' connection while applying: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the executor asked the snapshot's reader ({name})")


def pattern(call: Call) -> re.Pattern[str]:
    parts = ["[^/]+" if isinstance(p, Ref) else re.escape(str(p)) for p in call.path]
    return re.compile("/".join(parts))


@pytest.mark.parametrize("name", sorted(CASES))
def test_apply_sends_the_planned_calls_and_nothing_else(name: str) -> None:
    scenario = CASES[name]
    with Sandbox(profile=scenario.profile) as sb:
        api = NotingApi(Settings(url=sb.url, user=sb.admin_user, password=sb.admin_password))
        api.login()
        spec = load(spec_text(scenario.spec), scenario.env)
        run = make_plan(spec, api)
        assert not run.plan.errors, run.plan.errors
        api.sent.clear()
        for state in run.states.values():  # the snapshot's readers: the executor must not ask them
            state.api = Unreachable()  # type: ignore[assignment]
        result = apply_plan(run)
        assert not result.failed, result.failed
        expected = [(c.method, pattern(c)) for change in run.plan.changes for c in change.calls]
        records = [c for c in run.plan.changes if c.kind == "ownership-record"]
        assert records, "a plan that creates links writes the ownership record"
        for change in records:  # its re-read before the write, and after it
            expected += [("GET", pattern(change.calls[0]))] * 2
        unplanned = []
        for method, path in api.sent:
            hit = next((e for e in expected if e[0] == method and e[1].fullmatch(path)), None)
            if hit is None:
                unplanned.append((method, path))
            else:
                expected.remove(hit)
        assert unplanned == [], "requests the plan does not show"
        assert expected == [], "planned calls not sent"
        assert make_plan(spec, api).plan.empty

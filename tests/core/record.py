"""Re-records the core fixtures from the sandbox: `python -m tests.core.record`.

Each scenario applies its `before` spec (if any) to a fresh sandbox, then plans its `spec` through
`RecordingApi`, and writes tests/core/fixtures/<name>.json: the spec, the reads the plan made, and
the plan's changes. Re-record after a change that alters reads or plans on purpose, and review the
diff of the fixtures like any other expected output.
"""

import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from realmctl.engine import apply_plan, make_plan
from realmctl.keycloak.session import Api, Settings
from realmctl.sandbox import Sandbox
from realmctl.spec.loader import load_spec
from realmctl.spec.model import Spec
from tests.core.offline import RecordingApi
from tests.core.scenarios import SCENARIOS, Scenario

HERE = Path(__file__).resolve().parent


def spec_text(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False)


def load(text: str, env: dict[str, str]) -> Spec:
    """The spec as `realmctl` loads it, from a file named spec.yaml (positions name that file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        return load_spec([str(path)], env=env)


def portable(change: dict[str, Any]) -> dict[str, Any]:
    """A change with its source files (its own and its fields') named without the temporary
    directory the spec was loaded from."""
    for part in [change, *change.get("fields", [])]:
        if isinstance(part.get("source"), dict) and "file" in part["source"]:
            part["source"]["file"] = Path(part["source"]["file"]).name
    return change


def record(scenario: Scenario) -> dict[str, Any]:
    with Sandbox(profile=scenario.profile) as sb:
        settings = Settings(url=sb.url, user=sb.admin_user, password=sb.admin_password)
        if scenario.before is not None:
            api = Api(settings)
            api.login()
            run = make_plan(load(spec_text(scenario.before), scenario.env), api)
            assert not run.plan.errors, run.plan.errors
            result = apply_plan(run)
            assert not result.failed, result.failed
        recorder = RecordingApi(settings)
        recorder.login()
        run = make_plan(load(spec_text(scenario.spec), scenario.env), recorder)
        body = run.plan.to_json()
        return {
            "name": scenario.name,
            "about": scenario.about,
            "spec": spec_text(scenario.spec),
            "env": scenario.env,
            "reads": {k: recorder.reads[k] for k in sorted(recorder.reads)},
            "changes": [portable(c) for c in body["changes"]],
            "errors": body["errors"],
            "url": sb.url,
        }


def main() -> None:
    """Records every scenario, or only those named on the command line (the others keep their files)."""
    names = set(sys.argv[1:])
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        fixture = record(copy.deepcopy(scenario))
        url = fixture.pop("url")
        text = json.dumps(fixture, indent=1, sort_keys=True).replace(url, "http://keycloak.invalid")
        (HERE / "fixtures" / f"{scenario.name}.json").write_text(text + "\n")
        print(f"{scenario.name}: {len(fixture['reads'])} reads, {len(fixture['changes'])} changes")


if __name__ == "__main__":
    main()

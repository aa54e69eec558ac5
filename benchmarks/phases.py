"""CPU and memory of one plan, phase by phase: imports, spec loading, gather (the reads), plan_from.

The runner (`benchmarks/run.py`) reports a step as a whole; this splits a plan into its phases, to
see which one a change moved (issue #19's 5x L work). Against a server that already holds the
spec's realms (a sandbox kept running, or a real Keycloak, admin/admin):

    .venv/bin/python benchmarks/specgen.py --size XL --out /tmp/xl
    .venv/bin/python benchmarks/phases.py --url URL --spec /tmp/xl [--parallelism 8]

Each phase prints its CPU seconds (the whole process, pool threads included), the peak RSS so far
and the RSS now, and the garbage collections it ran. It applies realmctl's collector policy, as
`realmctl` does.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/phases.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COLLECTIONS = [0, 0, 0]


def _count(phase: str, info: dict[str, int]) -> None:
    if phase == "stop":
        COLLECTIONS[info["generation"]] += 1


def _rss_now() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def report(name: str, started: float) -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time()
    print(f"{name:<10} CPU {cpu - started:6.2f} s   peak RSS {peak:5.0f} MB   RSS now {_rss_now():5.0f} MB   "
          f"gc {COLLECTIONS}", flush=True)  # fmt: skip
    COLLECTIONS[:] = [0, 0, 0]
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--spec", required=True, help="directory of spec files (specgen's output)")
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    from realmctl.gcpolicy import tune

    tune()
    gc.callbacks.append(_count)
    started = time.process_time()
    from realmctl.engine import plan_from
    from realmctl.gather import gather
    from realmctl.keycloak.session import Api, Settings
    from realmctl.spec.loader import load_spec

    started = report("imports", started)
    spec = load_spec([args.spec])
    started = report("load", started)
    api = Api(Settings(url=args.url, user="admin", password="admin"), parallelism=args.parallelism)
    api.login()
    started = time.process_time()
    snapshot = gather(spec, api)
    started = report("gather", started)
    run = plan_from(spec, snapshot, api.settings.url)
    report("plan_from", started)
    print(f"{len(run.plan.changes)} changes, requests {dict(api.counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

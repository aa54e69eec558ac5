"""CPU a realmctl command spends starting: `--help`, `validate` of the README's example, a bare
interpreter for scale (issues #17 and #19: `--help` and `validate` within 150 ms of CPU).

Run from the repository root: `.venv/bin/python benchmarks/startup.py` (10 runs of each). Options:
`--runs N`; `--realmctl PATH` (repeatable) to time other entry points in the same run, their runs
interleaved so that the shared machine's load falls on each alike (main's worktree beside this
one: before and after; or `realmctl` of a venv where a built wheel is installed, as users have
it); `--compile` to write realmctl's bytecode first. Every command runs in this repository's root
(the spec path is relative to it). Each command
runs as a child process; its user+system CPU comes from `getrusage` of the children (microseconds,
where `/usr/bin/time` rounds to 10 ms). The median is printed beside the minimum and maximum
because single runs move with the machine's load.

Whether realmctl's own modules have bytecode matters: Python compiles every module it has no
`.pyc` for, on every run, when PYTHONDONTWRITEBYTECODE is set (as on these machines) or the
checkout is read-only. A pip-installed realmctl has bytecode; an editable checkout has it after
its first run unless that variable is set. The script prints which case it measured.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = "examples/stored-tokens.yaml"  # the README's example


def cpu_of(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(user+system CPU seconds, wall seconds) of one run of argv; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def row(label: str, samples: list[tuple[float, float]]) -> str:
    """One table row: median, min and max CPU in ms, median wall in ms."""
    cpu = sorted(s[0] * 1000 for s in samples)
    wall = statistics.median(s[1] * 1000 for s in samples)
    return f"| {label} | {statistics.median(cpu):.0f} | {cpu[0]:.0f} | {cpu[-1]:.0f} | {wall:.0f} |"


def package_of(python: Path) -> Path:
    """The directory of the realmctl package that `python` imports (a checkout's or a venv's)."""
    code = "import os, realmctl; print(os.path.dirname(realmctl.__file__))"
    found = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, cwd="/")
    return Path(found.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--realmctl", action="append", help="entry point to time (repeatable)")
    parser.add_argument("--compile", action="store_true", help="compile realmctl's modules to bytecode first")
    args = parser.parse_args()
    entries = [Path(e).absolute() for e in args.realmctl or [str(ROOT / ".venv" / "bin" / "realmctl")]]
    commands: list[tuple[str, list[str], Path]] = []
    for n, entry in enumerate(entries, 1):
        python = entry.parent / "python"
        package = package_of(python)
        if args.compile:
            subprocess.run([str(python), "-m", "compileall", "-q", str(package)], check=True)
        has = any(package.rglob("__pycache__/*.pyc"))
        print(f"[{n}] {entry}: realmctl from {package}, bytecode {'present' if has else 'absent (compiled every run)'}")
        where = f" [{n}]" if len(entries) > 1 else ""
        commands += [
            (f"`python -c pass`{where}", [str(python), "-c", "pass"], ROOT),
            (f"`realmctl --help`{where}", [str(entry), "--help"], ROOT),
            (f"`realmctl validate {SPEC}`{where}", [str(entry), "validate", SPEC], ROOT),
        ]
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in commands}
    load = os.getloadavg()[0]
    for _ in range(args.runs):  # round-robin: each command sees the same spread of load
        for label, argv, cwd in commands:
            samples[label].append(cpu_of(argv, cwd))
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}; {args.runs} runs each, interleaved")
    print("| command | CPU ms median | min | max | wall ms median |")
    print("|---|---|---|---|---|")
    for label, _, _ in commands:
        print(row(label, samples[label]))


if __name__ == "__main__":
    main()

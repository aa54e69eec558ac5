"""CPU seconds the sandbox spends creating N users (each with an e-mail) in one realm.

Run: `.venv/bin/python benchmarks/sandbox_users.py 4200` (XL has 4,167 users per realm). It calls
`ops.create_user` in a loop, without HTTP, so it measures only the sandbox's own lookups: before
the user index each create scanned every user's username and e-mail (quadratic in N).
"""

from __future__ import annotations

import sys
import time

from realmctl.sandbox.ops import create_user
from realmctl.sandbox.store import Realm


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4200
    realm = Realm(id="bench", name="bench", settings={})
    started = time.process_time()
    for i in range(n):
        create_user(realm, {"username": f"user-{i:05d}", "email": f"user-{i:05d}@example.com", "enabled": True})
    print(f"{n} users: {time.process_time() - started:.2f} s CPU")


if __name__ == "__main__":
    main()

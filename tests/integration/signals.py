#!/usr/bin/env python3
"""signals: SIGTERM and SIGINT during a throttled `offsite sync`.

Usage: signals.py OFFSITE_EXE

Checks (BRIEF §2, §9): SIGTERM stops the sync within 10 s with exit 4 (outcome incomplete, what
was committed stays); SIGINT exits 130; after each, the next sync exits 0, the mirror equals the
repository and nothing is left under .offsite/tx/.
"""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402


def main():
    exe = sys.argv[1]
    checks = common.Checks("signals")
    rng = random.Random(5)
    base = common.temp_dir("signals")
    repository = os.path.join(base, "repository")
    target = os.path.join(base, "target")
    os.makedirs(target)
    mirror = os.path.join(target, "Sig")
    state_dir = os.path.join(base, "state")
    repo = {"name": "sig", "path": repository, "folder": "Sig", "chunk_size": "64KiB", "concurrency": 2,
            "target": {"type": "local", "path": target}}
    slow = common.Offsite(exe, common.write_config(os.path.join(base, "slow.toml"), state_dir=state_dir,
                                                   repositories=[dict(repo, bandwidth_limit="2MiB/s")]))
    fast = common.Offsite(exe, common.write_config(os.path.join(base, "fast.toml"), state_dir=state_dir,
                                                   repositories=[repo]))
    for name, signum, expected in (("SIGTERM", signal.SIGTERM, 4), ("SIGINT", signal.SIGINT, 130)):
        log(f"== {name} during a throttled sync")
        for folder in range(4):
            common.write_file(f"{repository}/PC-{folder}/Daily/{name}.img", 2_500_000, rng)
        process = slow.start("sync", "sig", "--json")
        time.sleep(1.5)
        if not checks.ok(process.poll() is None, f"{name}: the sync is still running after 1.5s"):
            common.finish(process)
            continue
        sent = time.monotonic()
        process.send_signal(signum)
        result = common.finish(process, timeout=30)
        stopped_after = time.monotonic() - sent
        checks.ok(result.rc != "timeout" and stopped_after <= 10,
                  f"{name}: the sync stops within 10 s ({stopped_after:.1f}s)", result.describe())
        checks.ok(result.rc == expected, f"{name}: exit status {expected} (got {result.rc})", result.describe())
        parsed = result.json() or {}
        checks.ok(parsed.get("outcome") == "incomplete", f"{name}: the result's outcome is incomplete",
                  result.describe())
        leftovers = common.tx_leftovers(mirror)
        log(f"  {len(leftovers)} file(s) under .offsite/tx/ after the stop (resumable work is allowed)")
        result = fast.run("sync", "sig")
        checks.ok(result.rc == 0, f"{name}: the next sync exits 0", result.describe())
        common.mirror_checks(checks, repository, mirror, f"{name}: after the next sync")
        common.verify_deep(checks, fast, "sig", f" (after {name})")
    checks.finish()


if __name__ == "__main__":
    main()

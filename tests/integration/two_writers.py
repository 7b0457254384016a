#!/usr/bin/env python3
"""two_writers: two `offsite sync` processes with two different state_dirs (two machines, a cloned
VM) sync the same repository to the same target folder at once, throttled so that they overlap.

Usage: two_writers.py OFFSITE_EXE

Checks (BRIEF §5.1, §5.5, §6): in each overlap at most one sync succeeds; the other fails with
exit 1 naming the lease's host and process (or the commit fence), never by a signal; afterwards
a sync by either writer succeeds, the mirror equals the repository and nothing is left under
.offsite/tx/. Round 0 is the very first sync, when the repository has no ID yet: both processes
must end up with the one ID the remote was claimed with.
"""

import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402


def writers_for(exe, base, repository, target, folder):
    writers = []
    for tag in ("a", "b"):
        config = common.write_config(
            os.path.join(base, f"{folder}-{tag}.toml"), state_dir=os.path.join(base, f"state-{folder}-{tag}"),
            repositories=[{"name": "shared", "path": repository, "folder": folder, "chunk_size": "64KiB",
                           "bandwidth_limit": "3MiB/s", "concurrency": 2, "max_change_percent": 100,
                           "target": {"type": "local", "path": target}}])
        writers.append(common.Offsite(exe, config))
    return writers


def overlap(checks, label, writers, offset, mirror, repository):
    host = socket.gethostname()
    first = writers[0].start("sync", "shared")
    time.sleep(offset)
    second = writers[1].start("sync", "shared")
    results = [common.finish(first), common.finish(second)]
    pids = [first.pid, second.pid]
    codes = [r.rc for r in results]
    log(f"  exit statuses {codes} after {results[0].elapsed:.1f}s / {results[1].elapsed:.1f}s")
    if results[0].elapsed > offset + 0.2:
        checks.ok(codes.count(0) <= 1, f"{label}: at most one of two overlapping syncs succeeds",
                  results[0].describe() + "\n" + results[1].describe())
    for index, result in enumerate(results):
        if result.rc == 0:
            continue
        if not checks.ok(isinstance(result.rc, int) and result.rc >= 0,
                         f"{label}: writer {'ab'[index]} ends by itself, not killed by a signal (exit {result.rc})",
                         result.describe()):
            continue
        other_pid = str(pids[1 - index])
        text = result.stderr.lower()
        named = (host.lower() in text and other_pid in text) or "fence" in text or "another writer" in text
        checks.ok(result.rc == 1 and named,
                  f"{label}: writer {'ab'[index]} fails with exit 1 naming the other's host and process "
                  f"({host}, pid {other_pid}) or the fence", result.describe())
    for index in (0, 1):
        result = writers[index].run("sync", "shared")
        checks.ok(result.rc == 0, f"{label}: afterwards, writer {'ab'[index]} syncs (exit 0)", result.describe())
        common.mirror_checks(checks, repository, mirror, f"{label}: after writer {'ab'[index]}'s sync")
    common.verify_deep(checks, writers[0], "shared", f" ({label})")


def main():
    exe = sys.argv[1]
    checks = common.Checks("two_writers")
    rng = random.Random(3)
    base = common.temp_dir("two-writers")
    repository = os.path.join(base, "repository")
    target = os.path.join(base, "target")
    os.makedirs(target)

    def add_files(tag):
        for folder in range(3):
            common.write_file(f"{repository}/PC-{folder}/Daily/{tag}.img", 1_500_000, rng)

    log("== round 0: the first sync ever, both writers at once, no repository ID yet")
    add_files("round-0")
    writers = writers_for(exe, base, repository, target, "First")
    overlap(checks, "round 0", writers, 0.0, os.path.join(target, "First"), repository)
    local_id = open(os.path.join(repository, ".offsite", "repository-id")).read().strip()
    remote_id_file = os.path.join(target, "First", ".offsite", "repository-id")
    remote_id = open(remote_id_file).read().strip() if os.path.exists(remote_id_file) else None
    checks.ok(local_id == remote_id, "round 0: the repository's ID is the one the remote folder was claimed with",
              f"local {local_id}, remote {remote_id}: two processes created the repository ID at once and "
              "each kept its own")

    writers = writers_for(exe, base, repository, target, "Shared")
    mirror = os.path.join(target, "Shared")
    result = writers[0].run("sync", "shared")
    checks.ok(result.rc == 0, "a first sync to a second folder exits 0 (the ID exists from now on)",
              result.describe())
    # Offsets of the second writer's start: both at once, during the first's upload, near its end.
    for round_index, offset in enumerate([0.0, 0.4, 1.2], start=1):
        add_files(f"round-{round_index}")
        log(f"== round {round_index}: the second writer starts {offset:.1f}s after the first")
        overlap(checks, f"round {round_index}", writers, offset, mirror, repository)
    checks.finish()


if __name__ == "__main__":
    main()
